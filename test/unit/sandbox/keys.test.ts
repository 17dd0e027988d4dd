import { createHash } from 'node:crypto';
import { DEMO_KEYS, KeyRing, bearerToken, keyLabel, parseKeyList } from '../../../src/sandbox/keys';

const hash8 = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 8);

describe('parseKeyList', () => {
  it('parses key:team:role entries, trimming spaces', () => {
    expect(parseKeyList('alpha-key-1:team-x:owner, beta-key-22:team-y:member')).toEqual({
      ok: true,
      keys: [
        { key: 'alpha-key-1', team: 'team-x', role: 'owner' },
        { key: 'beta-key-22', team: 'team-y', role: 'member' },
      ],
    });
  });

  it.each([
    ['alpha-key-1:team-x', 'entry 1: expected key:team:role'],
    ['alpha-key-1:team-x:root', 'entry 1: role must be one of owner, admin, member'],
    ['short:team-x:owner', 'entry 1: key must be'],
    ['alpha-key-1::owner', 'entry 1: team must be'],
    ['alpha-key-1:t:owner,alpha-key-1:u:admin', 'the same key is listed 2 times'],
    ['', 'entry 1: expected key:team:role'],
  ])('%j → problem %s', (text, problem) => {
    const result = parseKeyList(text);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.problems.join('; ')).toContain(problem);
  });

  it('never echoes a key in a problem', () => {
    const result = parseKeyList('secret value with spaces:team:owner');
    expect(JSON.stringify(result)).not.toContain('secret value');
  });
});

describe('labels and the key ring', () => {
  const ring = new KeyRing(DEMO_KEYS);

  it('labels a key team:role:<first 8 hex of sha256>', () => {
    expect(keyLabel({ key: 'sandbox-owner-key', team: 'team-a', role: 'owner' })).toBe(
      `team-a:owner:${hash8('sandbox-owner-key')}`,
    );
  });

  it.each([
    [undefined, 'missing'],
    ['Basic abc', 'missing'],
    ['Bearer', 'missing'],
    ['Bearer a b', 'missing'],
    ['Bearer nobody-has-this', 'unknown'],
    ['Bearer sandbox-owner-key', 'authenticated'],
    ['bearer sandbox-owner-key', 'authenticated'],
  ])('authenticate(%j) → %s', (header, kind) => {
    expect(ring.authenticate(header).kind).toBe(kind);
  });

  it('knows the team and role of a key', () => {
    expect(ring.authenticate('Bearer sandbox-member-key')).toMatchObject({
      kind: 'authenticated',
      key: { team: 'team-a', role: 'member' },
    });
    expect(ring.authenticate('Bearer sandbox-other-key')).toMatchObject({ key: { team: 'team-b', role: 'owner' } });
  });

  it('scrubs every known key out of text, longest first', () => {
    const ring2 = new KeyRing([
      { key: 'abcdefgh', team: 't', role: 'owner' },
      { key: 'abcdefgh-longer', team: 't', role: 'admin' },
    ]);
    expect(ring2.scrub('x=abcdefgh-longer&y=abcdefgh')).toBe(
      `x=key(t:admin:${hash8('abcdefgh-longer')})&y=key(t:owner:${hash8('abcdefgh')})`,
    );
  });

  it('refuses duplicate keys', () => {
    expect(() => new KeyRing([DEMO_KEYS[0]!, DEMO_KEYS[0]!])).toThrow(/duplicate key/);
  });

  it('bearerToken extracts the token', () => {
    expect(bearerToken('Bearer  tok')).toBe('tok');
    expect(bearerToken('Token tok')).toBeUndefined();
  });
});
