import fc from 'fast-check';
import {
  AUTH_FAILURE_REASONS,
  createTokenVerifier,
  type AuthFailureReason,
  type JwksKeySource,
  type JwksLookup,
  type TokenVerifierOptions,
  type VerificationKey,
} from '../../../src/gateway/auth';
import {
  attackerEc,
  attackerRsa,
  AUDIENCE,
  b64,
  claims,
  ec,
  es,
  forge,
  hmacSecret,
  hs,
  ISSUER,
  KEYS,
  NOW_MS,
  NOW_SEC,
  rs,
  rsa,
  rsaPublicPem,
} from './token-kit';

function verifier(overrides: Partial<TokenVerifierOptions> = {}) {
  return createTokenVerifier({
    issuer: ISSUER,
    audience: AUDIENCE,
    keys: KEYS,
    maxTokenLifetimeSec: 3600,
    clockToleranceSec: 30,
    now: () => NOW_MS,
    ...overrides,
  });
}

function fakeJwks(keys: Record<string, JwksLookup>): JwksKeySource & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    getKey: async (kid) => {
      asked.push(kid);
      return keys[kid] ?? { kind: 'unknown-kid' };
    },
  };
}

const jwksKey: VerificationKey = { kid: 'jwks-1', algorithms: ['RS256'], key: attackerRsa.publicKey };
const jwks = fakeJwks({
  'jwks-1': { kind: 'found', key: jwksKey },
  'jwks-p384': { kind: 'unusable-key' },
  'jwks-down': { kind: 'unavailable' },
});
const throwingJwks: JwksKeySource = {
  getKey: () => Promise.reject(new Error('socket hang up')),
};
const singleRsKey = { keys: [KEYS[0]!] };

describe('token verifier: accepted tokens', () => {
  it.each([
    ['RS256', rs()],
    ['ES256', es()],
    ['HS256', hs()],
  ])('%s', async (_alg, token) => {
    const result = await verifier().verify(token);
    expect(result).toEqual({
      ok: true,
      kid: expect.any(String),
      claims: {
        sub: 'billing',
        iss: ISSUER,
        aud: AUDIENCE,
        iat: NOW_SEC,
        exp: NOW_SEC + 600,
        // Every claim as verified, frozen, for claim rules.
        payload: { sub: 'billing', iss: ISSUER, aud: AUDIENCE, iat: NOW_SEC, exp: NOW_SEC + 600 },
      },
    });
    expect(result.ok && Object.isFrozen(result.claims.payload)).toBe(true);
  });

  it('uses the only key for a token without a kid', async () => {
    const token = forge({ alg: 'RS256' }, claims(), rsa.privateKey);
    expect(await verifier(singleRsKey).verify(token)).toMatchObject({ ok: true, kid: 'k-rs' });
  });

  it.each([
    ['a space-separated string', 'computes:read  catalog:read', ['computes:read', 'catalog:read']],
    ['a list', ['computes:read', 'catalog:read'], ['computes:read', 'catalog:read']],
    ['an empty string (grants nothing)', '', []],
  ])('reads the scope claim from %s', async (_name, scope, expected) => {
    const result = await verifier().verify(rs(claims({ scope })));
    expect(result.ok && result.claims.scope).toEqual(expected);
  });

  it('accepts an audience list that contains ours, and a token without iat within the lifetime bound', async () => {
    expect((await verifier().verify(rs(claims({ aud: ['other', AUDIENCE] })))).ok).toBe(true);
    expect((await verifier().verify(rs(claims({ iat: undefined, exp: NOW_SEC + 3600 + 30 })))).ok).toBe(true);
  });

  it('uses a JWKS key only for a kid no static key has', async () => {
    const source = fakeJwks({ 'jwks-1': { kind: 'found', key: jwksKey } });
    const v = verifier({ jwksKeySource: source });
    expect(await v.verify(forge({ alg: 'RS256', kid: 'jwks-1' }, claims(), attackerRsa.privateKey))).toMatchObject({
      ok: true,
      kid: 'jwks-1',
    });
    expect(await v.verify(rs())).toMatchObject({ ok: true, kid: 'k-rs' });
    expect(source.asked).toEqual(['jwks-1']);
  });
});

const padding = 'x'.repeat(9000);
const big = rs(claims({ padding }));

/** Every way a token is refused. The last test checks that together they produce every reason. */
interface Refusal {
  name: string;
  token: string | undefined;
  reason: AuthFailureReason;
  options?: Partial<TokenVerifierOptions>;
}

const REFUSED: readonly Refusal[] = [
  { name: 'no token', token: undefined, reason: 'missing' },
  { name: 'an empty token', token: '', reason: 'missing' },
  { name: 'a token over maxTokenBytes', token: big, reason: 'oversize' },
  { name: 'one part', token: 'abc', reason: 'malformed' },
  { name: 'two parts', token: 'abc.def', reason: 'malformed' },
  { name: 'four parts', token: `${rs()}.x`, reason: 'malformed' },
  { name: 'not base64url', token: 'a+b.c/d.e', reason: 'malformed' },
  { name: 'a header that is not JSON', token: `${b64('not json')}.${b64(claims())}.sig`, reason: 'malformed' },
  {
    name: 'a payload that is not JSON',
    token: `${b64({ alg: 'RS256', kid: 'k-rs' })}.${b64('hello')}.sig`,
    reason: 'malformed',
  },
  {
    name: 'a payload that is a JSON array',
    token: forge({ alg: 'RS256', kid: 'k-rs' }, [1, 2], rsa.privateKey),
    reason: 'malformed',
  },
  { name: 'a crit header', token: rs(claims(), { crit: ['exp'] }), reason: 'malformed' },
  { name: 'a non-string kid', token: rs(claims(), { kid: 7 }), reason: 'malformed' },
  { name: 'a non-number exp', token: rs(claims({ exp: String(NOW_SEC + 600) })), reason: 'malformed' },
  { name: 'a non-string sub', token: rs(claims({ sub: 42 })), reason: 'malformed' },
  { name: 'a non-string scope', token: rs(claims({ scope: 7 })), reason: 'malformed' },
  { name: 'a non-number iat', token: rs(claims({ iat: 'yesterday' })), reason: 'malformed' },
  // alg none, in every spelling, signed or not
  { name: 'alg none', token: forge({ alg: 'none', kid: 'k-rs' }, claims(), 'none'), reason: 'algorithm-not-allowed' },
  { name: 'alg None', token: forge({ alg: 'None', kid: 'k-rs' }, claims(), 'none'), reason: 'algorithm-not-allowed' },
  { name: 'alg NONE', token: forge({ alg: 'NONE' }, claims(), 'none'), reason: 'algorithm-not-allowed' },
  {
    name: 'alg nOnE with a signature',
    token: `${forge({ alg: 'nOnE', kid: 'k-rs' }, claims(), 'none')}c2ln`,
    reason: 'algorithm-not-allowed',
  },
  {
    name: 'alg none with the only key',
    token: forge({ alg: 'none' }, claims(), 'none'),
    reason: 'algorithm-not-allowed',
    options: singleRsKey,
  },
  { name: 'no alg', token: forge({ kid: 'k-rs' }, claims(), rsa.privateKey), reason: 'algorithm-not-allowed' },
  {
    name: 'alg HS512',
    token: forge({ alg: 'HS512', kid: 'k-hs' }, claims(), hmacSecret),
    reason: 'algorithm-not-allowed',
  },
  {
    name: 'alg PS256',
    token: forge({ alg: 'PS256', kid: 'k-rs' }, claims(), rsa.privateKey),
    reason: 'algorithm-not-allowed',
  },
  // key confusion: HS256 keyed with the RSA public key PEM
  {
    name: 'HS256 signed with the RSA public key PEM, kid of the RSA key',
    token: forge({ alg: 'HS256', kid: 'k-rs' }, claims(), Buffer.from(rsaPublicPem)),
    reason: 'algorithm-not-allowed',
  },
  {
    name: 'HS256 signed with the RSA public key PEM, no kid, one RSA key',
    token: forge({ alg: 'HS256' }, claims(), Buffer.from(rsaPublicPem)),
    reason: 'algorithm-not-allowed',
    options: singleRsKey,
  },
  {
    name: 'RS256 presented for the ES256 key',
    token: forge({ alg: 'RS256', kid: 'k-es' }, claims(), rsa.privateKey),
    reason: 'algorithm-not-allowed',
  },
  {
    name: 'ES256 presented for the HS256 key',
    token: forge({ alg: 'ES256', kid: 'k-hs' }, claims(), ec.privateKey),
    reason: 'algorithm-not-allowed',
  },
  {
    name: 'a JWKS key outside the allow-list',
    token: forge({ alg: 'RS256', kid: 'jwks-p384' }, claims(), rsa.privateKey),
    reason: 'algorithm-not-allowed',
    options: { jwksKeySource: jwks },
  },
  // kid lookups
  { name: 'no kid with several keys', token: forge({ alg: 'RS256' }, claims(), rsa.privateKey), reason: 'missing-kid' },
  {
    name: 'no kid with one key and a JWKS',
    token: forge({ alg: 'RS256' }, claims(), rsa.privateKey),
    reason: 'missing-kid',
    options: { ...singleRsKey, jwksKeySource: jwks },
  },
  { name: 'an unknown kid', token: rs(claims(), { kid: 'k9' }), reason: 'unknown-kid' },
  { name: 'kid ../../dev/null', token: rs(claims(), { kid: '../../dev/null' }), reason: 'unknown-kid' },
  { name: 'kid with a path around a real one', token: rs(claims(), { kid: 'k-rs/../k-rs' }), reason: 'unknown-kid' },
  { name: 'kid in another case', token: rs(claims(), { kid: 'K-RS' }), reason: 'unknown-kid' },
  { name: 'kid with a trailing space', token: rs(claims(), { kid: 'k-rs ' }), reason: 'unknown-kid' },
  { name: 'kid __proto__', token: rs(claims(), { kid: '__proto__' }), reason: 'unknown-kid' },
  { name: 'kid constructor', token: rs(claims(), { kid: 'constructor' }), reason: 'unknown-kid' },
  { name: 'an empty kid', token: rs(claims(), { kid: '' }), reason: 'malformed' },
  {
    name: 'a kid the JWKS does not have',
    token: rs(claims(), { kid: 'jwks-9' }),
    reason: 'unknown-kid',
    options: { jwksKeySource: jwks },
  },
  {
    name: 'a JWKS that cannot be reached',
    token: rs(claims(), { kid: 'jwks-down' }),
    reason: 'jwks-unavailable',
    options: { jwksKeySource: jwks },
  },
  {
    name: 'a JWKS source that throws',
    token: rs(claims(), { kid: 'jwks-x' }),
    reason: 'jwks-unavailable',
    options: { jwksKeySource: throwingJwks },
  },
  // signatures
  {
    name: 'RS256 signed by another key',
    token: forge({ alg: 'RS256', kid: 'k-rs' }, claims(), attackerRsa.privateKey),
    reason: 'bad-signature',
  },
  {
    name: 'ES256 signed by another key',
    token: forge({ alg: 'ES256', kid: 'k-es' }, claims(), attackerEc.privateKey),
    reason: 'bad-signature',
  },
  {
    name: 'HS256 signed with another secret',
    token: forge({ alg: 'HS256', kid: 'k-hs' }, claims(), Buffer.from('another-secret-of-at-least-32-bytes!!')),
    reason: 'bad-signature',
  },
  {
    name: 'a tampered payload',
    token: `${rs().split('.')[0]}.${b64(claims({ sub: 'admin' }))}.${rs().split('.')[2]}`,
    reason: 'bad-signature',
  },
  {
    name: 'an RS256 token without a signature',
    token: forge({ alg: 'RS256', kid: 'k-rs' }, claims(), 'none'),
    reason: 'bad-signature',
  },
  // headers that point at keys are ignored: these are signed by the attacker's key they name
  {
    name: 'jku pointing at an attacker JWKS',
    token: forge(
      { alg: 'RS256', kid: 'k-rs', jku: 'https://attacker.example/jwks.json' },
      claims(),
      attackerRsa.privateKey,
    ),
    reason: 'bad-signature',
  },
  {
    name: 'x5u pointing at an attacker certificate',
    token: forge(
      { alg: 'RS256', kid: 'k-rs', x5u: 'https://attacker.example/cert.pem' },
      claims(),
      attackerRsa.privateKey,
    ),
    reason: 'bad-signature',
  },
  {
    name: 'an embedded jwk',
    token: forge(
      { alg: 'ES256', jwk: attackerEc.publicKey.export({ format: 'jwk' }) },
      claims(),
      attackerEc.privateKey,
    ),
    reason: 'bad-signature',
    options: { keys: [KEYS[1]!] },
  },
  {
    name: 'an embedded x5c chain',
    token: forge({ alg: 'RS256', kid: 'k-rs', x5c: ['MIIB...'] }, claims(), attackerRsa.privateKey),
    reason: 'bad-signature',
  },
  // time
  { name: 'exp at now - tolerance', token: rs(claims({ exp: NOW_SEC - 30 })), reason: 'expired' },
  { name: 'exp long past', token: rs(claims({ iat: NOW_SEC - 7200, exp: NOW_SEC - 3600 })), reason: 'expired' },
  { name: 'nbf beyond the tolerance', token: rs(claims({ nbf: NOW_SEC + 31 })), reason: 'not-yet-valid' },
  {
    name: 'iat beyond the tolerance',
    token: rs(claims({ iat: NOW_SEC + 31, exp: NOW_SEC + 600 })),
    reason: 'not-yet-valid',
  },
  // issuer and audience
  { name: 'another issuer', token: rs(claims({ iss: 'https://evil.example' })), reason: 'wrong-issuer' },
  { name: 'another audience', token: rs(claims({ aud: 'someone-else' })), reason: 'wrong-audience' },
  { name: 'an audience list without ours', token: rs(claims({ aud: ['a', 'b'] })), reason: 'wrong-audience' },
  // required claims
  { name: 'no exp', token: rs(claims({ exp: undefined })), reason: 'missing-claim' },
  { name: 'no sub', token: rs(claims({ sub: undefined })), reason: 'missing-claim' },
  { name: 'an empty sub', token: rs(claims({ sub: '' })), reason: 'missing-claim' },
  { name: 'no iss', token: rs(claims({ iss: undefined })), reason: 'missing-claim' },
  { name: 'no aud', token: rs(claims({ aud: undefined })), reason: 'missing-claim' },
  // lifetime
  {
    name: 'exp - iat above the maximum',
    token: rs(claims({ iat: NOW_SEC, exp: NOW_SEC + 3601 })),
    reason: 'lifetime-too-long',
  },
  {
    name: 'an old iat with a far exp',
    token: rs(claims({ iat: NOW_SEC - 10, exp: NOW_SEC + 3595 })),
    reason: 'lifetime-too-long',
  },
  {
    name: 'no iat and exp beyond now + maximum + tolerance',
    token: rs(claims({ iat: undefined, exp: NOW_SEC + 3631 })),
    reason: 'lifetime-too-long',
  },
];

describe('token verifier: refused tokens', () => {
  it.each(REFUSED)('$name → $reason', async ({ token, reason, options }) => {
    const result = await verifier(options).verify(token);
    expect(result).toMatchObject({ ok: false, reason });
  });

  it('produces every failure reason somewhere in the table', () => {
    expect([...new Set(REFUSED.map((r) => r.reason))].sort()).toEqual([...AUTH_FAILURE_REASONS].sort());
  });

  it('says which claim is missing, and never echoes token content in the detail', async () => {
    expect(await verifier().verify(rs(claims({ exp: undefined })))).toEqual({
      ok: false,
      reason: 'missing-claim',
      detail: 'exp',
    });
    expect(await verifier().verify(rs(claims({ iss: undefined })))).toEqual({
      ok: false,
      reason: 'missing-claim',
      detail: 'iss',
    });
    for (const { token, options } of REFUSED) {
      const result = await verifier(options).verify(token);
      if (!result.ok && result.detail !== undefined) expect(result.detail.length).toBeLessThan(60);
    }
  });

  it('never asks the JWKS about a static kid, a missing kid or an absurdly long kid', async () => {
    const source = fakeJwks({});
    const v = verifier({ jwksKeySource: source });
    await v.verify(rs());
    await v.verify(forge({ alg: 'RS256' }, claims(), rsa.privateKey));
    expect(await v.verify(rs(claims(), { kid: 'k'.repeat(300) }))).toMatchObject({ reason: 'unknown-kid' });
    expect(source.asked).toEqual([]);
  });

  it('fetches nothing for jku / x5u headers', async () => {
    const fetchSpy = jest.spyOn(globalThis, 'fetch');
    await verifier().verify(
      forge(
        { alg: 'RS256', kid: 'k-rs', jku: 'http://127.0.0.1:1/jwks', x5u: 'http://127.0.0.1:1/x' },
        claims(),
        attackerRsa.privateKey,
      ),
    );
    expect(fetchSpy).not.toHaveBeenCalled();
    fetchSpy.mockRestore();
  });

  it('checks the size before parsing, at the configured limit', async () => {
    const token = rs();
    expect((await verifier({ maxTokenBytes: token.length }).verify(token)).ok).toBe(true);
    expect(await verifier({ maxTokenBytes: token.length - 1 }).verify(token)).toMatchObject({ reason: 'oversize' });
    expect(await verifier({ maxTokenBytes: 10 }).verify('x'.repeat(11))).toMatchObject({ reason: 'oversize' });
  });

  it('never throws, whatever the input', async () => {
    const v = verifier({ jwksKeySource: jwks });
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string(),
          fc.base64String(),
          fc.tuple(fc.json(), fc.json(), fc.base64String()).map(([h, p, s]) => `${b64(h)}.${b64(p)}.${s}`),
        ),
        async (token) => {
          const result = await v.verify(token);
          expect(result.ok).toBe(false);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('token verifier: the injected clock and the tolerance edges', () => {
  const exp = NOW_SEC + 600;
  const token = rs(claims({ exp, nbf: NOW_SEC }));

  it.each([
    ['long before nbf - tolerance', (NOW_SEC - 31) * 1000, 'not-yet-valid'],
    ['at nbf - tolerance', (NOW_SEC - 30) * 1000, 'ok'],
    ['just before exp + tolerance', (exp + 29) * 1000 + 999, 'ok'],
    ['at exp + tolerance', (exp + 30) * 1000, 'expired'],
  ])('%s', async (_name, nowMs, expected) => {
    const result = await verifier({ now: () => nowMs }).verify(token);
    expect(result.ok ? 'ok' : result.reason).toBe(expected);
  });

  it('follows the clock without sleeping', async () => {
    let nowMs = NOW_MS;
    const v = verifier({ now: () => nowMs });
    expect((await v.verify(token)).ok).toBe(true);
    nowMs += 631_000;
    expect(await v.verify(token)).toMatchObject({ reason: 'expired' });
  });

  it('allows an iat within the tolerance ahead of our clock', async () => {
    expect((await verifier().verify(rs(claims({ iat: NOW_SEC + 30, exp: NOW_SEC + 600 })))).ok).toBe(true);
  });

  it('allows exactly the maximum lifetime', async () => {
    expect((await verifier().verify(rs(claims({ iat: NOW_SEC, exp: NOW_SEC + 3600 })))).ok).toBe(true);
  });
});

describe('token verifier: HS256 happy path uses the configured secret only', () => {
  it('verifies an HS256 token keyed with the configured secret', async () => {
    expect((await verifier().verify(forge({ alg: 'HS256', kid: 'k-hs' }, claims(), hmacSecret))).ok).toBe(true);
    expect((await verifier().verify(es(claims(), { kid: 'k-es' }))).ok).toBe(true);
  });
});
