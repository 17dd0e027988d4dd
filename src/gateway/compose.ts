/**
 * The composition root: the one place that builds loggers, metrics, verifiers, forwarders and
 * servers from a resolved policy. Everything else receives what it needs.
 */
import type { AccessControl } from './access';
import { createAdminApp, createGatewayHandler, type Readiness } from './app';
import { cacheVerifiedTokens, createTokenVerifier, VERIFIED_TOKEN_CACHE_DEFAULTS, type TokenVerifier } from './auth';
import { responseHeadersToReturn } from './forward/headers';
import { createForwarder } from './forward/proxy';
import type { Logger } from './observability/logger';
import { createMetrics, type GatewayMetrics } from './observability/metrics';
import { createPipeline, type PipelineOptions } from './pipeline';
import { accountForCaller, authorize, callerForSubject } from './policy';
import type { Policy } from './policy/types';
import { listen, type RunningServer } from '../shared/http-server';
import { createRedisConnection, type RedisConnection } from '../redis';
import { createRateSchedule, type AccountRateLimits, type RateSchedule } from '../schedule';
import { protectionFor } from './protection';

export const GATEWAY_USER_AGENT = 'strettch-gateway/0.1.0';

export const DEFAULT_PIPELINE_OPTIONS: PipelineOptions = {
  // Strettch bodies are a few hundred bytes; 64 KiB leaves room for many public keys.
  maxBodyBytes: 64 * 1024,
  bodyTimeoutMs: 10_000,
  userAgent: GATEWAY_USER_AGENT,
};

export function accessControlFor(policy: Policy): AccessControl {
  return {
    callerFor(subject) {
      const caller = callerForSubject(policy, subject);
      if (!caller) return undefined;
      const account = accountForCaller(policy, caller);
      return {
        callerId: caller.id,
        accountId: account.id,
        apiKey: account.apiKey,
        weight: caller.weight,
        maxWaitMs: caller.maxWaitMs,
        reservedShare: caller.reservedShare,
        maxQueued: caller.maxQueued,
        requestsPerMinute: caller.requestsPerMinute,
      };
    },
    authorize(callerId, tokenScopes, operationId) {
      const caller = callerForSubject(policy, callerId);
      return caller ? authorize(caller, tokenScopes, operationId) : { allowed: false, missingScope: operationId };
    },
  };
}

export function verifierFor(policy: Policy, now: () => number): TokenVerifier {
  return cacheVerifiedTokens(createTokenVerifier({ ...policy.auth, now }), { ...VERIFIED_TOKEN_CACHE_DEFAULTS, now });
}

/** The provider's limits of an account, in the schedule's terms. */
export function scheduleLimitsFor(policy: Policy, accountId: string): AccountRateLimits | undefined {
  const account = Object.hasOwn(policy.accounts, accountId) ? policy.accounts[accountId] : undefined;
  if (!account) return undefined;
  const { limits } = account;
  return limits.kind === 'shared'
    ? { all: limits.allPerSecond, safety: limits.safety }
    : { read: limits.readPerSecond, write: limits.writePerSecond, safety: limits.safety };
}

/** Deployment settings of the shared schedule (environment, not policy). */
export interface ScheduleSettings {
  /** Absent: the same algorithm in memory (one replica, or the embedded default). */
  redisUrl?: string;
  /** Replicas sharing the schedule (use the HPA maximum); each falls back to rate ÷ this. */
  expectedReplicas: number;
  commandTimeoutMs?: number;
}

export interface GatewayOptions {
  policy: Policy;
  logger: Logger;
  now?: () => number;
  metrics?: GatewayMetrics;
  pipeline?: Partial<PipelineOptions>;
  /** Overrides of the policy's `listen` (the CLI's PORT, tests' port 0). */
  host?: string;
  port?: number;
  adminPort?: number;
  /** How long SIGTERM waits for in-flight requests before cutting them. */
  drainMs?: number;
  schedule?: ScheduleSettings;
}

export interface RunningGateway {
  url: string;
  adminUrl: string;
  metrics: GatewayMetrics;
  schedule: RateSchedule;
  close(): Promise<void>;
}

export async function startGateway(options: GatewayOptions): Promise<RunningGateway> {
  const { policy, logger } = options;
  const now = options.now ?? Date.now;
  const metrics = options.metrics ?? createMetrics();
  const verifier = verifierFor(policy, now);
  const access = accessControlFor(policy);
  const forwarder = createForwarder({
    upstreamBaseUrl: policy.upstream.baseUrl,
    timeoutMs: policy.upstream.timeoutMs,
    connectTimeoutMs: policy.upstream.connectTimeoutMs,
    maxSockets: policy.upstream.maxSockets,
    filterResponseHeaders: responseHeadersToReturn,
  });
  const settings = options.schedule ?? { expectedReplicas: 1 };
  const redis: RedisConnection | undefined = settings.redisUrl
    ? createRedisConnection({ url: settings.redisUrl, commandTimeoutMs: settings.commandTimeoutMs, connectionName: 'strettch-gateway' })
    : undefined;
  const schedule = createRateSchedule({
    redis: redis ? { connection: redis } : undefined,
    limits: (accountId) => scheduleLimitsFor(policy, accountId),
    safety: 0.95,
    expectedReplicas: settings.expectedReplicas,
    now,
    logger,
    onStateChange: (state) => {
      for (const mode of ['shared', 'fallback', 'memory'] as const) metrics.scheduleMode.set({ mode }, state.mode === mode ? 1 : 0);
      if (state.mode === 'fallback') logger.warn({ reason: state.reason }, 'rate schedule: Redis unreachable, using the local fallback schedule');
      else logger.info({ mode: state.mode }, 'rate schedule mode');
    },
  });
  metrics.scheduleMode.set({ mode: schedule.state().mode }, 1);
  const protection = protectionFor(policy, redis, (error) => logger.warn({ err: error }, 'protective limit failed; allowing the request'));
  // Ready with the shared schedule or with a declared fallback: neither fails open nor closed.
  const readiness: Readiness = { check: () => ({ ready: true, checks: { policy: 'loaded', schedule: schedule.state().mode } }) };
  const handler = createPipeline({
    logger,
    metrics,
    now,
    forwarder,
    schedule,
    protection,
    verifier: () => verifier,
    access: () => access,
    options: { ...DEFAULT_PIPELINE_OPTIONS, ...options.pipeline },
  });

  const host = options.host ?? policy.listen.host;
  let publicServer: RunningServer | undefined;
  try {
    publicServer = await listen(createGatewayHandler(handler, readiness), { host, port: options.port ?? policy.listen.port });
    const adminServer = await listen(createAdminApp(metrics.registry, readiness), { host, port: options.adminPort ?? policy.listen.adminPort });
    const running = publicServer;
    return {
      url: running.url,
      adminUrl: adminServer.url,
      metrics,
      schedule,
      async close() {
        // Fixed order: stop taking requests and drain them, then the admin port, the upstream
        // sockets, and Redis last (draining requests still use the schedule).
        await running.close(options.drainMs);
        await adminServer.close(1000);
        forwarder.close();
        await schedule.close();
        await redis?.close();
      },
    };
  } catch (error) {
    await publicServer?.close(0);
    forwarder.close();
    await schedule.close();
    await redis?.close();
    throw error;
  }
}
