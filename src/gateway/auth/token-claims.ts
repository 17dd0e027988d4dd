import type { JsonObject } from './decode-token';

/** The claims the gateway relies on, already checked for presence and type. */
export interface VerifiedClaims {
  readonly sub: string;
  readonly iss: string;
  readonly aud: string | readonly string[];
  /** Seconds since the epoch, as in the token. */
  readonly exp: number;
  readonly iat?: number;
  readonly nbf?: number;
  readonly jti?: string;
  /**
   * The token's `scope` claim split into names, when the token has one. An empty list means the
   * token grants nothing; `undefined` means the token does not narrow the caller's grant.
   */
  readonly scope?: readonly string[];
  /**
   * Every claim of the token as verified, for claim rules (`kubernetes.io/namespace`, say). Frozen;
   * never logged (it may hold personal data).
   */
  readonly payload: Readonly<JsonObject>;
}

export type ClaimsResult =
  { ok: true; claims: VerifiedClaims } | { ok: false; reason: 'missing-claim' | 'malformed'; detail: string };

/**
 * Reads the claims of a payload whose signature, `iss`, `aud`, `exp` and `nbf` the library has
 * already checked. jsonwebtoken treats `exp` and `sub` as optional; we do not.
 */
export function readClaims(payload: JsonObject): ClaimsResult {
  const { sub, iss, aud, exp, iat, nbf, jti } = payload;
  if (exp === undefined) return { ok: false, reason: 'missing-claim', detail: 'exp' };
  if (typeof exp !== 'number' || !Number.isFinite(exp))
    return { ok: false, reason: 'malformed', detail: 'exp is not a number' };
  if (sub === undefined || sub === '') return { ok: false, reason: 'missing-claim', detail: 'sub' };
  if (typeof sub !== 'string') return { ok: false, reason: 'malformed', detail: 'sub is not a string' };
  if (iat !== undefined && (typeof iat !== 'number' || !Number.isFinite(iat)))
    return { ok: false, reason: 'malformed', detail: 'iat is not a number' };
  if (jti !== undefined && typeof jti !== 'string')
    return { ok: false, reason: 'malformed', detail: 'jti is not a string' };
  const scope = readScope(payload.scope);
  if (scope === 'malformed')
    return { ok: false, reason: 'malformed', detail: 'scope is neither a string nor a list of strings' };
  const claims: VerifiedClaims = {
    sub,
    // The library has matched these against the configured issuer and audience.
    iss: iss as string,
    aud: aud as string | string[],
    exp,
    ...(iat !== undefined ? { iat: iat as number } : {}),
    ...(typeof nbf === 'number' ? { nbf } : {}),
    ...(jti !== undefined ? { jti: jti as string } : {}),
    ...(scope !== undefined ? { scope } : {}),
    payload: deepFreeze(payload),
  };
  return { ok: true, claims };
}

/** RFC 8693 §4.2 `scope` is space-separated; some issuers send a JSON array instead. Accept both. */
function readScope(raw: unknown): readonly string[] | undefined | 'malformed' {
  if (raw === undefined) return undefined;
  if (typeof raw === 'string') return raw.split(' ').filter((s) => s !== '');
  if (Array.isArray(raw) && raw.every((s): s is string => typeof s === 'string'))
    return raw.flatMap((s) => s.split(' ')).filter((s) => s !== '');
  return 'malformed';
}

/** The payload came from JSON.parse: plain objects and arrays only, no cycles. */
function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
