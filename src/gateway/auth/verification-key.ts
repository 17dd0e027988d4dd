import type { KeyObject } from 'node:crypto';
import { algorithmFamily, type JwtAlgorithm } from './algorithms';

/** A key a token may be verified with, and the only algorithms it may be used for. */
export interface VerificationKey {
  readonly kid: string;
  readonly algorithms: readonly JwtAlgorithm[];
  readonly key: KeyObject;
}

/** RFC 7518 §3.2: an HMAC key must be at least as long as the hash output. */
export const MIN_HMAC_SECRET_BYTES = 32;
/** NIST SP 800-131A: RSA below 2048 bits is no longer acceptable for signatures. */
export const MIN_RSA_MODULUS_BITS = 2048;

/**
 * Why `key` cannot verify `algorithm`, or undefined when it can. Checked once when keys are loaded,
 * so a key confusion (an RSA public key used as an HMAC secret) cannot be configured at all.
 */
export function keyMismatch(key: KeyObject, algorithm: JwtAlgorithm): string | undefined {
  switch (algorithmFamily(algorithm)) {
    case 'hmac': {
      if (key.type !== 'secret') return `${algorithm} needs a shared secret, not a ${key.type} key`;
      const bytes = key.symmetricKeySize ?? 0;
      return bytes < MIN_HMAC_SECRET_BYTES
        ? `${algorithm} secret is ${bytes} bytes; at least ${MIN_HMAC_SECRET_BYTES} are required`
        : undefined;
    }
    case 'rsa': {
      if (key.type !== 'public' || key.asymmetricKeyType !== 'rsa')
        return `${algorithm} needs an RSA public key, not ${describeKey(key)}`;
      const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
      return bits < MIN_RSA_MODULUS_BITS
        ? `${algorithm} key has ${bits} bits; at least ${MIN_RSA_MODULUS_BITS} are required`
        : undefined;
    }
    case 'ec': {
      if (key.type !== 'public' || key.asymmetricKeyType !== 'ec')
        return `${algorithm} needs an EC P-256 public key, not ${describeKey(key)}`;
      const curve = key.asymmetricKeyDetails?.namedCurve;
      return curve === 'prime256v1'
        ? undefined
        : `${algorithm} needs curve P-256 (prime256v1), not ${curve ?? 'unknown'}`;
    }
  }
}

function describeKey(key: KeyObject): string {
  if (key.type === 'secret') return 'a shared secret';
  const curve = key.asymmetricKeyDetails?.namedCurve;
  return `a ${key.type} ${key.asymmetricKeyType ?? 'unknown'}${curve ? ` (${curve})` : ''} key`;
}
