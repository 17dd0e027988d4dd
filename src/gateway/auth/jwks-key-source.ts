import type { VerificationKey } from './verification-key';

/**
 * What a key set (an issuer's JWKS, by discovery or `jwksUrl`) answers for a kid. Lookup outcomes
 * are values: only the verifier decides what each one means for the caller. The one source is
 * `oidc-key-source.ts`.
 */
export type JwksLookup =
  | { kind: 'found'; key: VerificationKey }
  | { kind: 'unknown-kid' }
  /** The endpoint publishes the kid, but with a key type or algorithm outside our allow-list. */
  | { kind: 'unusable-key' }
  | { kind: 'unavailable' };

export interface JwksKeySource {
  getKey(kid: string): Promise<JwksLookup>;
}
