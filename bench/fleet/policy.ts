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
}

export function benchPolicyYaml(settings: BenchPolicySettings): string {
  const callers = settings.callers
    .map(
      (c) =>
        `  ${c.id}: { account: fleet, scopes: [catalog:read, computes:create], weight: ${c.weight}, maxWaitMs: ${settings.maxWaitMs} }`,
    )
    .join('\n');
  return `# Written by npm run bench:fleet; deleted with its temporary directory.
listen: { host: 127.0.0.1, port: 0, adminPort: 0 }
upstream: { baseUrl: "${settings.upstreamBaseUrl}", timeoutMs: 10000, maxSockets: 64 }
accounts:
  fleet: { apiKey: { env: ${API_KEY_ENV} } }
limits:
  default: { read: ${settings.readPerSecond}, write: ${settings.writePerSecond}, safety: ${settings.safety} }
${BENCH_AUTH_YAML}callers:
${callers}
`;
}
