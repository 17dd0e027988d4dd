import { generateKeyPairSync } from 'node:crypto';
import type { FetchJson, FetchJsonResult } from '../../../src/gateway/auth/fetch-json';
import { createOidcKeySource, type RefreshOutcome } from '../../../src/gateway/auth/oidc-key-source';
import { checkDiscoveryDocument, discoveryUrl } from '../../../src/gateway/auth/oidc-discovery';
import { parseJwks } from '../../../src/gateway/auth/jwk-keys';

const ISSUER = 'https://issuer.test';
const DISCOVERY = `${ISSUER}/.well-known/openid-configuration`;
const JWKS = `${ISSUER}/keys`;
const ec = () => generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ format: 'jwk' });
const rsa = (bits = 2048) => generateKeyPairSync('rsa', { modulusLength: bits }).publicKey.export({ format: 'jwk' });
const EC_A = ec();
const EC_B = ec();

/** Answers from a table the test changes as it goes; every URL asked is recorded. */
function fakeIssuer() {
  const answers = new Map<string, FetchJsonResult | (() => Promise<FetchJsonResult>)>();
  const asked: string[] = [];
  const fetchJson: FetchJson = async (url) => {
    asked.push(url);
    const answer = answers.get(url) ?? { ok: false, reason: 'http-status', detail: 'status 404' };
    return typeof answer === 'function' ? answer() : answer;
  };
  const serve = (keys: unknown[]) => {
    answers.set(DISCOVERY, { ok: true, value: { issuer: ISSUER, jwks_uri: JWKS } });
    answers.set(JWKS, { ok: true, value: { keys } });
  };
  const down = () => answers.clear();
  return { answers, asked, fetchJson, serve, down };
}

function sourceWith(issuer: ReturnType<typeof fakeIssuer>, clock: { ms: number }) {
  const outcomes: RefreshOutcome[] = [];
  const source = createOidcKeySource({
    issuer: ISSUER,
    discovery: true,
    allowedJwksHosts: [],
    cacheMaxAgeMs: 60_000,
    minRefreshIntervalMs: 1000,
    maxKeys: 5,
    maxDocumentBytes: 65_536,
    timeoutMs: 1000,
    now: () => clock.ms,
    fetchJson: issuer.fetchJson,
  });
  source.onRefresh((outcome) => outcomes.push(outcome));
  return { source, outcomes };
}

describe('createOidcKeySource', () => {
  it('discovers, fetches, caches; a cached kid never calls the issuer', async () => {
    const issuer = fakeIssuer();
    issuer.serve([{ ...EC_A, kid: 'a' }]);
    const clock = { ms: 1_000_000 };
    const { source, outcomes } = sourceWith(issuer, clock);
    expect(await source.getKey('a')).toMatchObject({ kind: 'found', key: { kid: 'a', algorithms: ['ES256'] } });
    expect(issuer.asked).toEqual([DISCOVERY, JWKS]);
    clock.ms += 10_000;
    await source.getKey('a');
    expect(issuer.asked).toHaveLength(2);
    expect(outcomes).toEqual([{ ok: true, keys: 1, jwksUri: JWKS }]);
    expect(source.status()).toEqual({ state: 'fresh', keys: 1, lastSuccessAtMs: 1_000_000 });
  });

  it('an unknown kid refetches the key set (not discovery), at most once per interval', async () => {
    const issuer = fakeIssuer();
    issuer.serve([{ ...EC_A, kid: 'a' }]);
    const clock = { ms: 1_000_000 };
    const { source } = sourceWith(issuer, clock);
    await source.refresh();
    clock.ms += 500;
    expect(await source.getKey('b')).toEqual({ kind: 'unknown-kid' });
    expect(issuer.asked).toEqual([DISCOVERY, JWKS]);
    issuer.serve([
      { ...EC_A, kid: 'a' },
      { ...EC_B, kid: 'b' },
    ]);
    clock.ms += 600;
    expect(await source.getKey('b')).toMatchObject({ kind: 'found' });
    expect(issuer.asked).toEqual([DISCOVERY, JWKS, JWKS]);
  });

  it('concurrent unknown kids share one fetch', async () => {
    const issuer = fakeIssuer();
    issuer.serve([{ ...EC_A, kid: 'a' }]);
    const { source } = sourceWith(issuer, { ms: 1_000_000 });
    const lookups = await Promise.all(['x', 'y', 'z', 'a'].map((kid) => source.getKey(kid)));
    expect(lookups.map((l) => l.kind)).toEqual(['unknown-kid', 'unknown-kid', 'unknown-kid', 'found']);
    expect(issuer.asked).toEqual([DISCOVERY, JWKS]);
  });

  it('issuer down: cached keys keep answering, unknown kids are unavailable, discovery is read again after', async () => {
    const issuer = fakeIssuer();
    issuer.serve([{ ...EC_A, kid: 'a' }]);
    const clock = { ms: 1_000_000 };
    const { source, outcomes } = sourceWith(issuer, clock);
    await source.refresh();
    issuer.down();
    clock.ms += 120_000; // past cacheMaxAge: due, so the lookup refreshes in the background
    expect(await source.getKey('a')).toMatchObject({ kind: 'found' });
    await source.refresh(); // the background one is in flight; wait for it
    expect(outcomes.at(-1)).toEqual({
      ok: false,
      stage: 'discovery',
      reason: 'http-status',
      detail: 'status 404',
      cachedKeys: 1,
    });
    expect(source.status().state).toBe('stale');
    clock.ms += 2000;
    expect(await source.getKey('b')).toEqual({ kind: 'unavailable' });
    expect(await source.getKey('a')).toMatchObject({ kind: 'found' });
    issuer.serve([{ ...EC_B, kid: 'b' }]);
    clock.ms += 2000;
    expect(await source.getKey('b')).toMatchObject({ kind: 'found' });
    // The set replaced whole on success: the key rotated out is gone.
    clock.ms += 2000;
    expect(await source.getKey('a')).toEqual({ kind: 'unknown-kid' });
  });

  it('never loaded: unavailable, not unknown', async () => {
    const issuer = fakeIssuer();
    const { source } = sourceWith(issuer, { ms: 1_000_000 });
    expect(await source.getKey('a')).toEqual({ kind: 'unavailable' });
    expect(source.status()).toEqual({ state: 'never', keys: 0 });
  });

  it('a slow issuer does not hold a request whose key is cached', async () => {
    const issuer = fakeIssuer();
    issuer.serve([{ ...EC_A, kid: 'a' }]);
    const clock = { ms: 1_000_000 };
    const { source } = sourceWith(issuer, clock);
    await source.refresh();
    issuer.answers.set(JWKS, () => new Promise<FetchJsonResult>(() => undefined));
    clock.ms += 120_000;
    expect(await source.getKey('a')).toMatchObject({ kind: 'found' });
  });

  it('a key set over maxKeys is refused whole and the cached one kept', async () => {
    const issuer = fakeIssuer();
    issuer.serve([{ ...EC_A, kid: 'a' }]);
    const clock = { ms: 1_000_000 };
    const { source, outcomes } = sourceWith(issuer, clock);
    await source.refresh();
    issuer.serve(Array.from({ length: 6 }, (_, i) => ({ ...EC_B, kid: `k${i}` })));
    clock.ms += 2000;
    expect(await source.getKey('k0')).toEqual({ kind: 'unavailable' });
    expect(outcomes.at(-1)).toMatchObject({ ok: false, reason: 'too-many-keys', cachedKeys: 1 });
    expect(await source.getKey('a')).toMatchObject({ kind: 'found' });
  });
});

describe('discoveryUrl and checkDiscoveryDocument', () => {
  it('appends the well-known path, without a double slash', () => {
    expect(discoveryUrl('https://a.test')).toBe('https://a.test/.well-known/openid-configuration');
    expect(discoveryUrl('https://a.test/tenant/')).toBe('https://a.test/tenant/.well-known/openid-configuration');
  });

  it.each([
    [{ issuer: ISSUER, jwks_uri: JWKS }, [], { ok: true, jwksUri: JWKS }],
    [{ issuer: `${ISSUER}/`, jwks_uri: JWKS }, [], { ok: false, reason: 'issuer-mismatch' }],
    [{ jwks_uri: JWKS }, [], { ok: false, reason: 'issuer-mismatch' }],
    [{ issuer: ISSUER }, [], { ok: false, reason: 'invalid-discovery' }],
    [[], [], { ok: false, reason: 'invalid-discovery' }],
    [{ issuer: ISSUER, jwks_uri: 'https://keys.other.test/jwks' }, [], { ok: false, reason: 'jwks-uri-refused' }],
    [{ issuer: ISSUER, jwks_uri: 'https://keys.other.test/jwks' }, ['keys.other.test'], { ok: true }],
    [{ issuer: ISSUER, jwks_uri: 'http://issuer.test/jwks' }, [], { ok: false, reason: 'jwks-uri-refused' }],
    [{ issuer: ISSUER, jwks_uri: 'https://u:p@issuer.test/jwks' }, [], { ok: false, reason: 'jwks-uri-refused' }],
    [{ issuer: ISSUER, jwks_uri: 'file:///etc/passwd' }, [], { ok: false, reason: 'jwks-uri-refused' }],
    [{ issuer: ISSUER, jwks_uri: 'not a url' }, [], { ok: false, reason: 'jwks-uri-refused' }],
  ])('%j (allowed %j) → %j', (document, allowed, expected) => {
    expect(checkDiscoveryDocument(document, ISSUER, allowed)).toMatchObject(expected);
  });
});

describe('parseJwks: each key held to the allow-list', () => {
  const one = (jwk: Record<string, unknown>) => {
    const parsed = parseJwks({ keys: [jwk] }, 10);
    if (!parsed.ok) throw new Error(parsed.detail);
    const entry = parsed.keys.get(String(jwk.kid));
    return entry === undefined ? 'skipped' : entry === 'unusable' ? 'unusable' : entry.algorithms.join();
  };
  it.each([
    ['EC P-256', { ...EC_A, kid: 'k' }, 'ES256'],
    ['RSA 2048', { ...rsa(), kid: 'k' }, 'RS256'],
    ['RSA 2048 declared RS256', { ...rsa(), kid: 'k', alg: 'RS256' }, 'RS256'],
    ['RSA declared RS512', { ...rsa(), kid: 'k', alg: 'RS512' }, 'unusable'],
    ['RSA declared HS256', { ...rsa(), kid: 'k', alg: 'HS256' }, 'unusable'],
    ['RSA 1024', { ...rsa(1024), kid: 'k' }, 'unusable'],
    [
      'EC P-384',
      { ...generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).publicKey.export({ format: 'jwk' }), kid: 'k' },
      'unusable',
    ],
    [
      'a private EC key',
      { ...generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ format: 'jwk' }), kid: 'k' },
      'unusable',
    ],
    ['an oct (HMAC) key', { kty: 'oct', k: 'c2VjcmV0', kid: 'k' }, 'unusable'],
    ['use enc', { ...EC_A, kid: 'k', use: 'enc' }, 'skipped'],
    ['garbage', { kty: 'EC', crv: 'P-256', x: 'AA', y: 'AA', kid: 'k' }, 'unusable'],
  ])('%s → %s', (_name, jwk, expected) => {
    expect(one(jwk)).toBe(expected);
  });

  it('a kid published twice is usable under neither; __proto__ is just a kid', () => {
    const parsed = parseJwks(
      {
        keys: [
          { ...EC_A, kid: 'd' },
          { ...EC_B, kid: 'd' },
          { ...EC_A, kid: '__proto__' },
        ],
      },
      10,
    );
    expect(parsed.ok && parsed.keys.get('d')).toBe('unusable');
    expect(parsed.ok && typeof parsed.keys.get('__proto__')).toBe('object');
  });

  it.each([
    [null, 'invalid-jwks'],
    [{ keys: {} }, 'invalid-jwks'],
    [{ keys: Array.from({ length: 11 }, () => ({})) }, 'too-many-keys'],
  ])('%j → %s', (document, reason) => {
    expect(parseJwks(document, 10)).toMatchObject({ ok: false, reason });
  });
});
