/**
 * The gateways' policy file for the bench, as YAML text (pure). Secrets by reference only: the
 * sandbox key and the token secret reach the gateway processes as environment variables.
 */
import type { CallerSpec } from './callers';

export const BENCH_ISSUER = 'https://bench.fleet.local';
export const BENCH_AUDIENCE = 'strettch-gateway-fleet-bench';
export const BENCH_KID = 'fleet-hs';
export const API_KEY_ENV = 'FLEET_BENCH_API_KEY';
export const JWT_SECRET_ENV = 'FLEET_BENCH_JWT_SECRET';

/** The policy's `auth` section: the bench's tokens (HS256, the secret from JWT_SECRET_ENV), shared by the benches. */
export const BENCH_AUTH_YAML = `auth:
  issuer: ${BENCH_ISSUER}
  audience: ${BENCH_AUDIENCE}
  maxTokenLifetimeSec: 3600
  keys:
    - { kid: ${BENCH_KID}, algorithms: [HS256], secret: { env: ${JWT_SECRET_ENV} } }
`;

export interface BenchPolicySettings {
  upstreamBaseUrl: string;
  readPerSecond: number;
  writePerSecond: number;
  safety: number | 'auto';
  maxWaitMs: number;
  callers: readonly CallerSpec[];
  /** The account's limits are `auto` within these bounds, starting at the default's read and write rates. */
  autoBounds?: { minPerSecond: number; maxPerSecond: number };
}

/** The bench policy's one account: every caller uses it (its schedules, its `limits: auto` hash). */
export const BENCH_ACCOUNT = 'fleet';

export function benchPolicyYaml(settings: BenchPolicySettings): string {
  const callers = settings.callers
    .map(
      (c) =>
        `  ${c.id}: { account: ${BENCH_ACCOUNT}, scopes: [catalog:read, computes:create], weight: ${c.weight}, maxWaitMs: ${settings.maxWaitMs} }`,
    )
    .join('\n');
  const auto = settings.autoBounds
    ? `  ${BENCH_ACCOUNT}: { auto: { min: ${settings.autoBounds.minPerSecond}, max: ${settings.autoBounds.maxPerSecond}, initial: { read: ${settings.readPerSecond}, write: ${settings.writePerSecond} } } }\n`
    : '';
  return `# Written by npm run bench:fleet; deleted with its temporary directory.
listen: { host: 127.0.0.1, port: 0, adminPort: 0 }
upstream: { baseUrl: "${settings.upstreamBaseUrl}", timeoutMs: 10000, maxSockets: 64 }
accounts:
  ${BENCH_ACCOUNT}: { apiKey: { env: ${API_KEY_ENV} } }
limits:
  default: { read: ${settings.readPerSecond}, write: ${settings.writePerSecond}, safety: ${settings.safety} }
${auto}${BENCH_AUTH_YAML}callers:
${callers}
`;
}
