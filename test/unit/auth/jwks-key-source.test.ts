import { generateKeyPairSync } from 'node:crypto';
import { createJwksKeySource, type JwksClientFactory } from '../../../src/gateway/auth/jwks-key-source';

const pem = (key: { export(o: { format: 'pem'; type: 'spki' }): string | Buffer }) =>
  key.export({ format: 'pem', type: 'spki' }).toString();
const rsaPem = pem(generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey);
const rsa1024Pem = pem(generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey);
const p256Pem = pem(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey);
const p384Pem = pem(generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).publicKey);
const edPem = pem(generateKeyPairSync('ed25519').publicKey);

const named = (name: string) => Object.assign(new Error(name), { name });

type Entry = { publicKey: string; alg?: string } | Error;

/** Stands in for jwks-rsa: same method, same error names. */
function fakeClient(entries: Record<string, Entry>): { factory: JwksClientFactory; options: unknown[] } {
  const options: unknown[] = [];
  const factory: JwksClientFactory = (clientOptions) => {
    options.push(clientOptions);
    return {
      getSigningKey: (async (kid?: string | null) => {
        const entry = kid ? entries[kid] : undefined;
        if (entry === undefined) throw named('SigningKeyNotFoundError');
        if (entry instanceof Error) throw entry;
        return { kid, alg: entry.alg, getPublicKey: () => entry.publicKey, publicKey: entry.publicKey };
      }) as never,
    };
  };
  return { factory, options };
}

describe('createJwksKeySource (with a stand-in client)', () => {
  const { factory, options } = fakeClient({
    rsa: { publicKey: rsaPem },
    'rsa-declared': { publicKey: rsaPem, alg: 'RS256' },
    'rsa-declared-hs': { publicKey: rsaPem, alg: 'HS256' },
    'rsa-declared-ps': { publicKey: rsaPem, alg: 'PS256' },
    'rsa-declared-es': { publicKey: rsaPem, alg: 'ES256' },
    rsa1024: { publicKey: rsa1024Pem },
    p256: { publicKey: p256Pem },
    p384: { publicKey: p384Pem },
    ed: { publicKey: edPem },
    garbage: { publicKey: 'not a key' },
    down: named('JwksError'),
    limited: named('JwksRateLimitError'),
    broken: new TypeError('boom'),
  });
  const source = createJwksKeySource({ uri: 'https://auth.internal/.well-known/jwks.json' }, factory);

  it('configures jwks-rsa with caching and rate limiting', () => {
    expect(options).toEqual([
      {
        jwksUri: 'https://auth.internal/.well-known/jwks.json',
        cache: true,
        cacheMaxAge: 600000,
        rateLimit: true,
        jwksRequestsPerMinute: 10,
        timeout: 5000,
      },
    ]);
  });

  it.each([
    ['rsa', { kind: 'found', algorithms: ['RS256'] }],
    ['rsa-declared', { kind: 'found', algorithms: ['RS256'] }],
    ['p256', { kind: 'found', algorithms: ['ES256'] }],
    ['rsa-declared-hs', { kind: 'unusable-key' }],
    ['rsa-declared-ps', { kind: 'unusable-key' }],
    ['rsa-declared-es', { kind: 'unusable-key' }],
    ['rsa1024', { kind: 'unusable-key' }],
    ['p384', { kind: 'unusable-key' }],
    ['ed', { kind: 'unusable-key' }],
    ['garbage', { kind: 'unusable-key' }],
    ['absent', { kind: 'unknown-kid' }],
    ['down', { kind: 'unavailable' }],
    ['limited', { kind: 'unavailable' }],
    ['broken', { kind: 'unavailable' }],
  ])('kid %s → %j', async (kid, expected) => {
    const lookup = await source.getKey(kid);
    if (lookup.kind === 'found') {
      expect({ kind: lookup.kind, algorithms: lookup.key.algorithms }).toEqual(expected);
      expect(lookup.key.kid).toBe(kid);
      expect(Object.isFrozen(lookup.key)).toBe(true);
    } else {
      expect(lookup).toEqual(expected);
    }
  });
});

/**
 * The real client end to end, through `fetcher` instead of HTTP. jwks-rsa requires jose, an ES
 * module; jest.config.js transforms it to CommonJS so this runs on Node 20.
 */
describe('createJwksKeySource (real jwks-rsa, fetcher instead of HTTP)', () => {
  it('finds a published key, and reports an unknown kid', async () => {
    const jwk = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ format: 'jwk' });
    const fetched: string[] = [];
    const source = createJwksKeySource({
      uri: 'https://auth.internal/jwks.json',
      fetcher: async (uri) => {
        fetched.push(uri);
        return { keys: [{ ...jwk, kid: 'ec-1', use: 'sig' }] };
      },
    });
    expect(await source.getKey('ec-1')).toMatchObject({ kind: 'found', key: { kid: 'ec-1', algorithms: ['ES256'] } });
    expect(await source.getKey('nope')).toEqual({ kind: 'unknown-kid' });
    expect(fetched[0]).toBe('https://auth.internal/jwks.json');
  });
});
