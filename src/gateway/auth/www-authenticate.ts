import type { AuthFailureReason } from './failure-reasons';

export const AUTH_REALM = 'strettch-gateway';

/**
 * The `WWW-Authenticate` value for a 401 (RFC 6750 §3). A request without credentials gets no error
 * code; every other failure is `invalid_token`, without a description, so a prober learns nothing
 * about which check failed.
 */
export function wwwAuthenticate(reason: AuthFailureReason): string {
  if (reason === 'missing') return `Bearer realm="${AUTH_REALM}"`;
  return `Bearer realm="${AUTH_REALM}", error="invalid_token"`;
}
