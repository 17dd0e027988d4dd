/**
 * Idempotency keys are namespaced per caller before they reach the upstream: otherwise caller B
 * could send caller A's key and read A's create from the replay (DESIGN §7). The mapping is pure
 * and deterministic, so a caller's retry maps to the same upstream key, and its result is again a
 * UUID v4, which is what the upstream accepts.
 */
import { createHmac } from 'node:crypto';

/** The upstream's rule for `Idempotency-Key` (lower case; callers may send either case). */
export const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** Domain separation: these HMACs are used for nothing else, and the scheme can be versioned. */
const NAMESPACE_LABEL = 'strettch-gateway/idempotency-key/v1\0';

export type IdempotencyKeyCheck =
  { ok: true; key: string } | { ok: false; reason: 'duplicate-header' | 'invalid-idempotency-key' };

/**
 * Reads the caller's header value. UUIDs are case-insensitive, so the key is lower-cased first:
 * `ABC…` and `abc…` are one key and map to one upstream key.
 */
export function validateIdempotencyKeyHeader(value: string | string[]): IdempotencyKeyCheck {
  if (Array.isArray(value)) return { ok: false, reason: 'duplicate-header' };
  const key = value.toLowerCase();
  // Node joins a repeated header with ", ", which this also refuses.
  return UUID_V4.test(key) ? { ok: true, key } : { ok: false, reason: 'invalid-idempotency-key' };
}

/**
 * HMAC-SHA256 keyed by the caller id over the (label, key), truncated to 128 bits, with the UUID
 * version (4) and variant (10xx) bits set. Two callers with the same key get different upstream
 * keys; a caller cannot aim at another's upstream key because its own input is namespaced too.
 */
export function namespacedIdempotencyKey(callerId: string, key: string): string {
  const bytes = createHmac('sha256', callerId)
    .update(NAMESPACE_LABEL)
    .update(key.toLowerCase())
    .digest()
    .subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x40;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
