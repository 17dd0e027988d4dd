import { createHash } from 'node:crypto';
import type { TokenVerifier, VerifyResult } from './token-verifier';

export interface VerifiedTokenCacheOptions {
  /** Bound on memory: the oldest entry goes first when full. */
  maxEntries: number;
  /** A verified token is trusted again without a signature check for at most this long. */
  maxAgeMs: number;
  now: () => number;
}

export const VERIFIED_TOKEN_CACHE_DEFAULTS = { maxEntries: 10_000, maxAgeMs: 60_000 } as const;

/**
 * Remembers successful verifications, because a signature check (ES256 ≈ 100 µs) is the largest
 * cost on the request path and services reuse a token for many requests. Only successes are kept,
 * keyed by the token's SHA-256, and never past the token's own `exp`: a cached answer is one the
 * verifier would give again until then (claims and keys do not change under it; a policy reload
 * builds a new verifier and so a new cache). Failures are never cached, so garbage cannot fill it.
 */
export function cacheVerifiedTokens(verifier: TokenVerifier, options: VerifiedTokenCacheOptions): TokenVerifier {
  const entries = new Map<string, { result: VerifyResult & { ok: true }; expiresAtMs: number }>();
  return {
    async verify(token) {
      if (token === undefined || token === '') return verifier.verify(token);
      const key = createHash('sha256').update(token).digest('base64');
      const nowMs = options.now();
      const hit = entries.get(key);
      if (hit && hit.expiresAtMs > nowMs) return hit.result;
      if (hit) entries.delete(key);
      const result = await verifier.verify(token);
      if (result.ok) {
        if (entries.size >= options.maxEntries) entries.delete(entries.keys().next().value!);
        entries.set(key, { result, expiresAtMs: Math.min(result.claims.exp * 1000, nowMs + options.maxAgeMs) });
      }
      return result;
    },
  };
}
