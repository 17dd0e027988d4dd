/**
 * The embedded default: what `npm start` runs with no configuration. The built-in sandbox is the
 * upstream, a dev signing key (created once, kept in `.strettch-gateway/`) signs caller tokens, and
 * two example callers show a read-only and an operating service.
 */
import path from 'node:path';
import { stringify } from 'yaml';
import { ensureDevSigningKey, mintToken, type DevSigningKey } from '../gateway/auth';
import { parsePolicy } from '../gateway/policy';
import type { Policy } from '../gateway/policy/types';

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

/** The embedded policy, written as the YAML a user would write, so it goes through the same checks. */
export function embeddedPolicyText(upstreamBaseUrl: string, publicKeyFile: string): string {
  return stringify({
    listen: { host: '127.0.0.1', port: 8080, adminPort: 9090 },
    upstream: { baseUrl: upstreamBaseUrl, timeoutMs: 30000 },
    accounts: { sandbox: { apiKey: { env: EMBEDDED_SANDBOX_KEY_ENV } } },
    limits: { default: { read: 30, write: 5, safety: 0.95 } },
    auth: {
      issuer: EMBEDDED_ISSUER,
      audience: EMBEDDED_AUDIENCE,
      maxTokenLifetimeSec: EMBEDDED_TOKEN_LIFETIME_SEC,
      clockToleranceSec: 30,
      keys: [{ kid: 'dev', algorithms: ['ES256'], publicKeyFile }],
    },
    callers: Object.fromEntries(
      Object.entries(EMBEDDED_CALLERS).map(([name, scopes]) => [name, { account: 'sandbox', scopes: [...scopes] }]),
    ),
  });
}

export function embeddedPolicy(
  upstreamBaseUrl: string,
  devKey: DevSigningKey,
  sandboxKey: string,
  readFile: (p: string) => string,
): Policy {
  const result = parsePolicy(embeddedPolicyText(upstreamBaseUrl, devKey.publicKeyPath), '(embedded default)', {
    readEnv: (name) => (name === EMBEDDED_SANDBOX_KEY_ENV ? sandboxKey : undefined),
    readFile,
  });
  if (!result.ok)
    throw new Error(
      `embedded default policy is invalid: ${result.errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`,
    );
  return result.policy;
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
