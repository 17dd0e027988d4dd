/**
 * The only JWS algorithms the gateway accepts. Everything else — "none" in any spelling, the
 * 384/512 variants, PS*, EdDSA — is refused before a key is even looked at.
 */
export const JWT_ALGORITHMS = ['HS256', 'RS256', 'ES256'] as const;
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number];

/** Which kind of key material an algorithm needs; a key serves exactly one family. */
export type AlgorithmFamily = 'hmac' | 'rsa' | 'ec';

export function isJwtAlgorithm(value: unknown): value is JwtAlgorithm {
  return typeof value === 'string' && (JWT_ALGORITHMS as readonly string[]).includes(value);
}

export function algorithmFamily(algorithm: JwtAlgorithm): AlgorithmFamily {
  switch (algorithm) {
    case 'HS256':
      return 'hmac';
    case 'RS256':
      return 'rsa';
    case 'ES256':
      return 'ec';
  }
}
