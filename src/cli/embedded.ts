/**
 * The embedded default: what `npm start` runs with no configuration. The built-in sandbox is the
 * upstream, a dev signing key (created once, kept in `.strettch-gateway/`) signs caller tokens, and
 * two example callers show a read-only and an operating service.
 */
import { stringify } from 'yaml';
import type { DevSigningKey } from '../gateway/auth';
import { parsePolicy } from '../gateway/policy';
import type { Policy } from '../gateway/policy/types';
import {
  EMBEDDED_AUDIENCE,
  EMBEDDED_CALLERS,
  EMBEDDED_ISSUER,
  EMBEDDED_SANDBOX_KEY_ENV,
  EMBEDDED_TOKEN_LIFETIME_SEC,
} from './embedded-token';

export {
  EMBEDDED_AUDIENCE,
  EMBEDDED_CALLERS,
  EMBEDDED_ISSUER,
  EMBEDDED_SANDBOX_KEY_ENV,
  EMBEDDED_TOKEN_LIFETIME_SEC,
  devKeyDirectory,
  loadDevSigningKey,
  mintEmbeddedToken,
} from './embedded-token';

/** The embedded policy, written as the YAML a user would write, so it goes through the same checks. */
export function embeddedPolicyText(upstreamBaseUrl: string, publicKeyFile: string): string {
  return stringify({
    listen: { host: '127.0.0.1', port: 8080, adminHost: '127.0.0.1', adminPort: 9090 },
    upstream: { baseUrl: upstreamBaseUrl, timeoutMs: 30000 },
    accounts: { sandbox: { apiKey: { env: EMBEDDED_SANDBOX_KEY_ENV } } },
    // No safety factor: the schedule's default (DEFAULT_SAFETY) applies.
    limits: { default: { read: 30, write: 5 } },
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
