import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { isJwtAlgorithm, type JwtAlgorithm } from './algorithms';
import { keyMismatch, type VerificationKey } from './verification-key';

/** A published key the gateway may verify with, or one it will refuse to (held apart so it is not "unknown"). */
export type JwkEntry = VerificationKey | 'unusable';

export type JwksParse =
  { ok: true; keys: Map<string, JwkEntry> } | { ok: false; reason: 'invalid-jwks' | 'too-many-keys'; detail: string };

const MAX_KID_LENGTH = 256;

/**
 * Reads a JWK Set (RFC 7517 §5) with our own code instead of a library, so every rule is ours and
 * visible: at most `maxKeys` entries, keys without a `kid` or not for signatures skipped, private
 * key material refused, and each key held to the same allow-list as a configured one (RSA ≥ 2048
 * → RS256, EC P-256 → ES256; a declared `alg` must agree).
 */
export function parseJwks(document: unknown, maxKeys: number): JwksParse {
  if (typeof document !== 'object' || document === null || Array.isArray(document))
    return { ok: false, reason: 'invalid-jwks', detail: 'not a JSON object' };
  const list = (document as { keys?: unknown }).keys;
  if (!Array.isArray(list)) return { ok: false, reason: 'invalid-jwks', detail: '"keys" is not a list' };
  if (list.length > maxKeys)
    return { ok: false, reason: 'too-many-keys', detail: `${list.length} keys (limit ${maxKeys})` };
  // A Map, so a kid such as "__proto__" is just a string.
  const keys = new Map<string, JwkEntry>();
  for (const entry of list) {
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) continue;
    const jwk = entry as Record<string, unknown>;
    const { kid } = jwk;
    if (typeof kid !== 'string' || kid === '' || kid.length > MAX_KID_LENGTH) continue;
    if (jwk.use !== undefined && jwk.use !== 'sig') continue;
    // The same kid twice is ambiguous: neither is used.
    keys.set(kid, keys.has(kid) ? 'unusable' : verificationKeyFor(kid, jwk));
  }
  return { ok: true, keys };
}

function verificationKeyFor(kid: string, jwk: Record<string, unknown>): JwkEntry {
  // A private key (RSA or EC `d`) has no business in a published set: refuse rather than derive from it.
  if (jwk.d !== undefined || jwk.kty === 'oct') return 'unusable';
  let key: KeyObject;
  try {
    key = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });
  } catch {
    return 'unusable';
  }
  const algorithm = algorithmFor(key, jwk.alg);
  if (!algorithm || keyMismatch(key, algorithm) !== undefined) return 'unusable';
  return Object.freeze({ kid, algorithms: Object.freeze([algorithm]), key });
}

/** A JWK's own `alg` wins when present; otherwise the key type decides (RSA → RS256, EC → ES256). */
function algorithmFor(key: KeyObject, declared: unknown): JwtAlgorithm | undefined {
  if (declared !== undefined) return isJwtAlgorithm(declared) && declared !== 'HS256' ? declared : undefined;
  if (key.asymmetricKeyType === 'rsa') return 'RS256';
  if (key.asymmetricKeyType === 'ec') return 'ES256';
  return undefined;
}
