import jwt from 'jsonwebtoken';
import type { AuthFailureReason } from './failure-reasons';
import type { JsonObject } from './decode-token';

/**
 * Translates whatever `jsonwebtoken.verify` threw into one of our reasons, so no library error type
 * leaves the verifier. jsonwebtoken has no error codes, only messages; the mapping is pinned by the
 * verifier tests against the installed version. Anything unrecognised fails closed as a bad signature.
 */
export function reasonForVerifyError(
  error: unknown,
  payload: JsonObject,
): { reason: AuthFailureReason; detail?: string } {
  if (error instanceof jwt.TokenExpiredError) return { reason: 'expired' };
  if (error instanceof jwt.NotBeforeError) return { reason: 'not-yet-valid' };
  const message = error instanceof Error ? error.message : '';
  // The library checks the signature before any claim, so by these branches the signature was good.
  if (message.startsWith('jwt audience invalid')) {
    return payload.aud === undefined ? { reason: 'missing-claim', detail: 'aud' } : { reason: 'wrong-audience' };
  }
  if (message.startsWith('jwt issuer invalid')) {
    return payload.iss === undefined ? { reason: 'missing-claim', detail: 'iss' } : { reason: 'wrong-issuer' };
  }
  if (message === 'invalid exp value' || message === 'invalid nbf value')
    return { reason: 'malformed', detail: message };
  if (message === 'jwt malformed' || message === 'invalid token') return { reason: 'malformed' };
  if (
    message === 'invalid algorithm' ||
    message.startsWith('secretOrPublicKey must be') ||
    message.startsWith('"alg" parameter')
  ) {
    return { reason: 'algorithm-not-allowed' };
  }
  return { reason: 'bad-signature' };
}
