import { createPublicKey, type KeyObject } from 'node:crypto';
import type JwksRsa from 'jwks-rsa';
import { isJwtAlgorithm, type JwtAlgorithm } from './algorithms';
import { keyMismatch, type VerificationKey } from './verification-key';

/** Lookup outcomes are values: only the verifier decides what each one means for the caller. */
export type JwksLookup =
  | { kind: 'found'; key: VerificationKey }
  | { kind: 'unknown-kid' }
  /** The endpoint publishes the kid, but with a key type or algorithm outside our allow-list. */
  | { kind: 'unusable-key' }
  | { kind: 'unavailable' };

export interface JwksKeySource {
  getKey(kid: string): Promise<JwksLookup>;
}

export interface JwksOptions {
  uri: string;
  /** How long a fetched key is trusted before the endpoint is asked again. */
  cacheMaxAgeMs?: number;
  /** Unknown kids trigger a refetch; this bounds how often a stream of bogus kids can make us call out. */
  requestsPerMinute?: number;
  timeoutMs?: number;
  /** Replaces the HTTP fetch (tests, or a custom transport). */
  fetcher?: (uri: string) => Promise<{ keys: unknown }>;
}

export const JWKS_DEFAULTS = { cacheMaxAgeMs: 10 * 60_000, requestsPerMinute: 10, timeoutMs: 5_000 } as const;

/** The one jwks-rsa call we make; a seam so the outcome mapping is testable without the network. */
export type JwksClientFactory = (options: JwksRsa.Options) => Pick<JwksRsa.JwksClient, 'getSigningKey'>;

/**
 * Loaded on first use, not at import: jwks-rsa pulls in jose, an ES module, which only deployments
 * that configure a JWKS URL should load (and which Jest on Node 20 cannot require).
 */
export function loadJwksRsa(): JwksClientFactory {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const jwksRsa = require('jwks-rsa') as typeof JwksRsa;
  return (clientOptions) => jwksRsa(clientOptions);
}

/**
 * The only module that uses jwks-rsa. Keys come from the configured URL only — never from a
 * token's `jku`/`x5u` — and are held to the same algorithm allow-list as static keys.
 */
export function createJwksKeySource(
  options: JwksOptions,
  createClient: JwksClientFactory = loadJwksRsa(),
): JwksKeySource {
  const client = createClient({
    jwksUri: options.uri,
    cache: true,
    cacheMaxAge: options.cacheMaxAgeMs ?? JWKS_DEFAULTS.cacheMaxAgeMs,
    rateLimit: true,
    jwksRequestsPerMinute: options.requestsPerMinute ?? JWKS_DEFAULTS.requestsPerMinute,
    timeout: options.timeoutMs ?? JWKS_DEFAULTS.timeoutMs,
    ...(options.fetcher ? { fetcher: options.fetcher as (uri: string) => Promise<{ keys: unknown }> } : {}),
  });

  return {
    async getKey(kid: string): Promise<JwksLookup> {
      let signingKey: JwksRsa.SigningKey;
      try {
        signingKey = await client.getSigningKey(kid);
      } catch (error) {
        // Compare by name: jwks-rsa's error classes are not part of its typed exports we rely on.
        return (error as { name?: unknown } | null)?.name === 'SigningKeyNotFoundError'
          ? { kind: 'unknown-kid' }
          : { kind: 'unavailable' };
      }
      let key: KeyObject;
      try {
        key = createPublicKey(signingKey.getPublicKey());
      } catch {
        return { kind: 'unusable-key' };
      }
      const algorithm = algorithmFor(key, (signingKey as { alg?: unknown }).alg);
      if (!algorithm || keyMismatch(key, algorithm) !== undefined) return { kind: 'unusable-key' };
      return { kind: 'found', key: Object.freeze({ kid, algorithms: Object.freeze([algorithm]), key }) };
    },
  };
}

/** A JWK's own `alg` wins when present; otherwise the key type decides (RSA → RS256, EC → ES256). */
function algorithmFor(key: KeyObject, declared: unknown): JwtAlgorithm | undefined {
  if (declared !== undefined) return isJwtAlgorithm(declared) && declared !== 'HS256' ? declared : undefined;
  if (key.asymmetricKeyType === 'rsa') return 'RS256';
  if (key.asymmetricKeyType === 'ec') return 'ES256';
  return undefined;
}
