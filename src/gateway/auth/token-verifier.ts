import jwt from 'jsonwebtoken';
import { isJwtAlgorithm } from './algorithms';
import { decodeToken } from './decode-token';
import type { AuthFailure } from './failure-reasons';
import type { JwksKeySource } from './jwks-key-source';
import { reasonForVerifyError } from './library-errors';
import { readClaims, type VerifiedClaims } from './token-claims';
import type { VerificationKey } from './verification-key';

export interface TokenVerifierOptions {
  issuer: string;
  audience: string;
  keys: readonly VerificationKey[];
  /** The issuer's key set (discovery or `jwksUrl`), consulted only for a kid that no static key has. */
  jwksKeySource?: JwksKeySource;
  maxTokenLifetimeSec: number;
  clockToleranceSec: number;
  /** Checked before any parsing, so a huge header costs nothing. */
  maxTokenBytes?: number;
  /** Milliseconds since the epoch. */
  now: () => number;
}

export type VerifyResult = { ok: true; claims: VerifiedClaims; kid: string } | AuthFailure;

export interface TokenVerifier {
  verify(token: string | undefined): Promise<VerifyResult>;
}

export const DEFAULT_MAX_TOKEN_BYTES = 8192;
/** Longer kids are not looked up at all (and never sent to a JWKS cache). */
const MAX_KID_LENGTH = 256;

type KeyChoice = { ok: true; key: VerificationKey } | AuthFailure;

export function createTokenVerifier(options: TokenVerifierOptions): TokenVerifier {
  const maxTokenBytes = options.maxTokenBytes ?? DEFAULT_MAX_TOKEN_BYTES;
  // A Map, so a kid such as "__proto__" or "constructor" is just a string that matches nothing.
  const staticKeys = new Map(options.keys.map((k) => [k.kid, k] as const));
  const jwks = options.jwksKeySource;

  async function chooseKey(kid: unknown): Promise<KeyChoice> {
    if (kid === undefined) {
      // Without a kid we only guess when there is nothing to guess between.
      const only = options.keys.length === 1 && !jwks ? options.keys[0] : undefined;
      return only ? { ok: true, key: only } : { ok: false, reason: 'missing-kid' };
    }
    if (typeof kid !== 'string' || kid === '') return { ok: false, reason: 'malformed', detail: 'kid is not a string' };
    const local = staticKeys.get(kid);
    if (local) return { ok: true, key: local };
    if (!jwks || kid.length > MAX_KID_LENGTH) return { ok: false, reason: 'unknown-kid' };
    let lookup;
    try {
      lookup = await jwks.getKey(kid);
    } catch {
      return { ok: false, reason: 'jwks-unavailable' };
    }
    switch (lookup.kind) {
      case 'found':
        return { ok: true, key: lookup.key };
      case 'unknown-kid':
        return { ok: false, reason: 'unknown-kid' };
      case 'unusable-key':
        return { ok: false, reason: 'algorithm-not-allowed', detail: 'JWKS key outside the allow-list' };
      case 'unavailable':
        return { ok: false, reason: 'jwks-unavailable' };
    }
  }

  async function verify(token: string | undefined): Promise<VerifyResult> {
    if (token === undefined || token === '') return { ok: false, reason: 'missing' };
    if (Buffer.byteLength(token, 'utf8') > maxTokenBytes) return { ok: false, reason: 'oversize' };
    const decoded = decodeToken(token);
    if (!decoded.ok) return { ok: false, reason: 'malformed', detail: decoded.detail };
    const { header, payload } = decoded;
    // Refuses "none"/"None"/"NONE" and anything else outside the allow-list, before any key lookup.
    if (!isJwtAlgorithm(header.alg)) return { ok: false, reason: 'algorithm-not-allowed' };
    // RFC 7515 §4.1.11: extensions we do not understand must not be silently ignored.
    if (header.crit !== undefined) return { ok: false, reason: 'malformed', detail: 'crit header' };
    // `jku`, `x5u`, `jwk` and `x5c` are deliberately never read: keys come from configuration only.
    const choice = await chooseKey(header.kid);
    if (!choice.ok) return choice;
    const { key } = choice;
    if (!key.algorithms.includes(header.alg)) return { ok: false, reason: 'algorithm-not-allowed' };

    const nowSec = Math.floor(options.now() / 1000);
    try {
      jwt.verify(token, key.key, {
        algorithms: [...key.algorithms],
        issuer: options.issuer,
        audience: options.audience,
        clockTolerance: options.clockToleranceSec,
        // Note: jsonwebtoken treats 0 as "use Date.now()"; injected test clocks use realistic times.
        clockTimestamp: nowSec,
      });
    } catch (error) {
      return { ok: false, ...reasonForVerifyError(error, payload) };
    }

    const read = readClaims(payload);
    if (!read.ok) return read;
    const { claims } = read;
    // An `iat` in the future would let a token outlive the lifetime bound below.
    if (claims.iat !== undefined && claims.iat > nowSec + options.clockToleranceSec) {
      return { ok: false, reason: 'not-yet-valid', detail: 'iat in the future' };
    }
    const issuedLifetimeSec = claims.iat !== undefined ? claims.exp - claims.iat : 0;
    const remainingLifetimeSec = claims.exp - nowSec;
    if (
      issuedLifetimeSec > options.maxTokenLifetimeSec ||
      remainingLifetimeSec > options.maxTokenLifetimeSec + options.clockToleranceSec
    ) {
      return { ok: false, reason: 'lifetime-too-long' };
    }
    return { ok: true, claims, kid: key.kid };
  }

  return { verify };
}
