import { createHash } from 'node:crypto';
import { describeBody, describeCredential, describeRequest } from '../../../src/sandbox/describe-request';
import { KeyRing } from '../../../src/sandbox/keys';

const ring = new KeyRing([{ key: 'sandbox-owner-key', team: 'team-a', role: 'owner' }]);
const LABEL = `team-a:owner:${createHash('sha256').update('sandbox-owner-key').digest('hex').slice(0, 8)}`;
const hash8 = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 8);

describe('describeCredential', () => {
  it.each([
    ['Bearer sandbox-owner-key', `Bearer key(${LABEL})`],
    ['Bearer eyJhbGciOi.jwt', `unrecognised(sha256=${hash8('eyJhbGciOi.jwt')})`],
    ['Basic dXNlcjpwYXNz', `unrecognised(sha256=${hash8('Basic dXNlcjpwYXNz')})`],
  ])('%s → %s', (value, expected) => {
    expect(describeCredential(value, ring)).toBe(expected);
  });
});

describe('describeRequest', () => {
  const recorded = describeRequest(
    {
      method: 'POST',
      target: '/api/v1/computes?token=sandbox-owner-key',
      receivedAt: '2026-04-20T10:00:00Z',
      rawHeaders: [
        'Authorization',
        'Bearer sandbox-owner-key',
        'authorization',
        'Bearer other',
        'X-Note',
        'uses sandbox-owner-key',
        'Proxy-Authorization',
        'Bearer sandbox-owner-key',
        '__proto__',
        'x',
      ],
    },
    ring,
  );

  it('never contains a raw key', () => {
    expect(JSON.stringify(recorded)).not.toContain('sandbox-owner-key');
  });

  it('keeps every header line in order, and joins repeats in the lower-case map', () => {
    expect(recorded.rawHeaders.map(([name]) => name)).toEqual([
      'Authorization',
      'authorization',
      'X-Note',
      'Proxy-Authorization',
      '__proto__',
    ]);
    expect(recorded.headers.authorization).toBe(`Bearer key(${LABEL}), unrecognised(sha256=${hash8('other')})`);
    expect(recorded.headers['x-note']).toBe(`uses key(${LABEL})`);
    expect(recorded.headers['proxy-authorization']).toBe(`Bearer key(${LABEL})`);
    expect(Object.getOwnPropertyDescriptor(recorded.headers, '__proto__')?.value).toBe('x');
  });

  it('scrubs the target and leaves the key unset', () => {
    expect(recorded.target).toBe(`/api/v1/computes?token=key(${LABEL})`);
    expect(recorded.key).toBeNull();
  });
});

describe('describeBody', () => {
  it('keeps the exact bytes, as base64, with any known key replaced', () => {
    const bytes = Buffer.concat([Buffer.from('{"a":"sandbox-owner-key"}'), Buffer.from([0xff, 0x00, 0x2b])]);
    const described = Buffer.from(describeBody(bytes, ring), 'base64');
    expect(described).toEqual(Buffer.concat([Buffer.from(`{"a":"key(${LABEL})"}`), Buffer.from([0xff, 0x00, 0x2b])]));
    expect(describeBody(Buffer.alloc(0), ring)).toBe('');
  });
});
