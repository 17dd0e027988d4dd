/**
 * The embedded default's callers and dev signing key: what `npm run token` needs, apart from the
 * policy (`embedded.ts`), so that minting a token loads neither the policy parser nor zod.
 */
import path from 'node:path';
import { ensureDevSigningKey, mintToken, type DevSigningKey } from '../gateway/auth';

export const EMBEDDED_ISSUER = 'https://strettch-gateway.local/dev';
export const EMBEDDED_AUDIENCE = 'strettch-gateway';
export const EMBEDDED_TOKEN_LIFETIME_SEC = 3600;
/** The sandbox's built-in owner key; the gateway holds it, callers never see it. */
export const EMBEDDED_SANDBOX_KEY_ENV = 'STRETTCH_SANDBOX_KEY';

export const EMBEDDED_CALLERS = {
  'demo-reader': ['catalog:read', 'computes:read'],
  'demo-operator': ['catalog:read', 'computes:*'],
} as const;

export function devKeyDirectory(cwd: string): string {
  return path.join(cwd, '.strettch-gateway', 'dev-keys');
}

export function loadDevSigningKey(cwd: string): DevSigningKey {
  return ensureDevSigningKey(devKeyDirectory(cwd));
}

export function mintEmbeddedToken(
  devKey: DevSigningKey,
  caller: string,
  lifetimeSec: number,
  now: () => number,
  scope?: string,
): string {
  return mintToken({
    sub: caller,
    scope,
    lifetimeSec,
    signingKey: devKey.privateKeyPem,
    alg: 'ES256',
    kid: devKey.kid,
    issuer: EMBEDDED_ISSUER,
    audience: EMBEDDED_AUDIENCE,
    now,
  });
}
