import { createPrivateKey, createSecretKey, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import type { JwtAlgorithm } from './algorithms';

export interface MintTokenOptions {
  sub: string;
  /** Narrows the caller's configured grant; written as the space-separated `scope` claim. */
  scope?: readonly string[] | string;
  lifetimeSec: number;
  /** A private key (KeyObject or PEM) for RS256/ES256, a secret KeyObject or string for HS256. */
  signingKey: KeyObject | string;
  alg: JwtAlgorithm;
  kid?: string;
  issuer: string;
  audience: string;
  /** Milliseconds since the epoch. */
  now: () => number;
}

/** Issues a token the gateway accepts. For development and tooling; production tokens come from your IdP. */
export function mintToken(options: MintTokenOptions): string {
  const iat = Math.floor(options.now() / 1000);
  const scope = typeof options.scope === 'string' ? options.scope : options.scope?.join(' ');
  const payload = {
    sub: options.sub,
    iss: options.issuer,
    aud: options.audience,
    iat,
    exp: iat + options.lifetimeSec,
    ...(scope !== undefined ? { scope } : {}),
  };
  try {
    return jwt.sign(payload, signingKeyObject(options.signingKey, options.alg), {
      algorithm: options.alg,
      ...(options.kid !== undefined ? { keyid: options.kid } : {}),
    });
  } catch (error) {
    // Re-raise as a plain Error so callers never depend on jsonwebtoken's error types.
    throw new Error(
      `mintToken: cannot sign with ${options.alg}: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
}

function signingKeyObject(key: KeyObject | string, alg: JwtAlgorithm): KeyObject {
  if (typeof key !== 'string') return key;
  return alg === 'HS256' ? createSecretKey(Buffer.from(key, 'utf8')) : createPrivateKey(key);
}
