/**
 * The gateway's policy for the soak, as YAML text (pure). Two accounts: `bulk`, whose limits sit far
 * above the offered rate (allowed traffic is never queued for long), and `tight`, offered 2.5 × its
 * read limit so that the schedule answers the excess with 429. Three callers: `soak-app` (reads and
 * creates on bulk), `soak-batch` (reads on tight, short deadline), `soak-viewer` (reads only, so a
 * create is a 403). Secrets by reference: keys and the token secret come from the environment.
 */

export const SOAK_ISSUER = 'https://bench.soak.local';
export const SOAK_AUDIENCE = 'strettch-gateway-soak-bench';
export const SOAK_KID = 'soak-hs';
export const BULK_KEY_ENV = 'SOAK_BENCH_BULK_KEY';
export const TIGHT_KEY_ENV = 'SOAK_BENCH_TIGHT_KEY';
export const JWT_SECRET_ENV = 'SOAK_BENCH_JWT_SECRET';

export const CALLERS = Object.freeze({ app: 'soak-app', batch: 'soak-batch', viewer: 'soak-viewer' });

/** The gateway gives up on an upstream answer after this; the sandbox's slow faults take longer. */
export const UPSTREAM_TIMEOUT_MS = 1000;
export const SLOW_FAULT_MS = 1500;
/** The over-limit caller's deadline: its requests queue this long at most, then get 429. */
export const BATCH_MAX_WAIT_MS = 100;

export interface SoakPolicySettings {
  upstreamBaseUrl: string;
  /** The bulk account's limits: far above what the soak offers. */
  bulkReadPerSec: number;
  bulkWritePerSec: number;
  /** The tight account's read limit (its write limit is unused). */
  tightReadPerSec: number;
}

export function soakPolicyYaml(settings: SoakPolicySettings): string {
  return `# Written by npm run bench:soak; deleted with its temporary directory.
listen: { host: 127.0.0.1, port: 0, adminPort: 0 }
upstream: { baseUrl: "${settings.upstreamBaseUrl}", timeoutMs: ${UPSTREAM_TIMEOUT_MS}, connectTimeoutMs: ${UPSTREAM_TIMEOUT_MS}, maxSockets: 128 }
accounts:
  bulk: { apiKey: { env: ${BULK_KEY_ENV} } }
  tight: { apiKey: { env: ${TIGHT_KEY_ENV} } }
limits:
  bulk: { read: ${settings.bulkReadPerSec}, write: ${settings.bulkWritePerSec}, safety: 0.95 }
  tight: { read: ${settings.tightReadPerSec}, write: 1, safety: 0.95 }
auth:
  issuer: ${SOAK_ISSUER}
  audience: ${SOAK_AUDIENCE}
  maxTokenLifetimeSec: 86400
  keys:
    - { kid: ${SOAK_KID}, algorithms: [HS256], secret: { env: ${JWT_SECRET_ENV} } }
callers:
  ${CALLERS.app}: { account: bulk, scopes: [catalog:read, computes:create], maxWaitMs: 2000, maxQueued: 2000 }
  ${CALLERS.batch}: { account: tight, scopes: [catalog:read], maxWaitMs: ${BATCH_MAX_WAIT_MS} }
  ${CALLERS.viewer}: { account: bulk, scopes: [catalog:read] }
`;
}
