/** Caller authentication: bearer parsing, JWT verification, and the dev/tooling token helpers. */
export { JWT_ALGORITHMS, isJwtAlgorithm, algorithmFamily, type JwtAlgorithm, type AlgorithmFamily } from './algorithms';
export { AUTH_FAILURE_REASONS, type AuthFailureReason, type AuthFailure } from './failure-reasons';
export { parseBearer, type BearerResult } from './parse-bearer';
export { wwwAuthenticate, AUTH_REALM } from './www-authenticate';
export { keyMismatch, MIN_HMAC_SECRET_BYTES, MIN_RSA_MODULUS_BITS, type VerificationKey } from './verification-key';
export {
  createTokenVerifier,
  DEFAULT_MAX_TOKEN_BYTES,
  type TokenVerifier,
  type TokenVerifierOptions,
  type VerifyResult,
} from './token-verifier';
export type { VerifiedClaims } from './token-claims';
export type { JwksKeySource, JwksLookup } from './jwks-key-source';
export { mintToken, type MintTokenOptions } from './mint-token';
export {
  ensureDevSigningKey,
  DEV_KID,
  DEV_PRIVATE_KEY_FILE,
  DEV_PUBLIC_KEY_FILE,
  type DevSigningKey,
  type DevKeyFs,
} from './dev-signing-key';
export {
  cacheVerifiedTokens,
  VERIFIED_TOKEN_CACHE_DEFAULTS,
  type VerifiedTokenCacheOptions,
} from './verified-token-cache';
