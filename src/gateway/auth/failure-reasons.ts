/**
 * Why a request was not authenticated. A closed set so logs and metrics have bounded labels;
 * every reason maps to the same 401 for the caller (the detail is for operators only).
 */
export const AUTH_FAILURE_REASONS = [
  'missing',
  'malformed',
  'oversize',
  'missing-kid',
  'unknown-kid',
  'algorithm-not-allowed',
  'bad-signature',
  'expired',
  'not-yet-valid',
  'wrong-issuer',
  'wrong-audience',
  'missing-claim',
  'lifetime-too-long',
  'jwks-unavailable',
] as const;
export type AuthFailureReason = (typeof AUTH_FAILURE_REASONS)[number];

export interface AuthFailure {
  ok: false;
  reason: AuthFailureReason;
  /** A short operator-facing hint (e.g. the missing claim's name); never token content. */
  detail?: string;
}
