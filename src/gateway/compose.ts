/**
 * The composition root: the one place that builds loggers, metrics, verifiers, forwarders and
 * servers from a resolved policy. Everything else receives what it needs.
 */
import type { AccessControl } from './access';
import type { AuditSetting, AuditTrail } from './audit';
import { auditTrailOn, openAuditFile, type AuditFile } from './audit-sink';
import { createAdminApp, createGatewayHandler, type Readiness } from './app';
import { cacheVerifiedTokens, createTokenVerifier, VERIFIED_TOKEN_CACHE_DEFAULTS, type TokenVerifier } from './auth';
import { responseHeadersToReturn } from './forward/headers';
import { createForwarder } from './forward/proxy';
import { createLogger, type DestinationStream, type Logger } from './observability/logger';
import {
  createMetrics,
  registerRedisCommandCounts,
  type GatewayMetrics,
  type RedisCommandCount,
} from './observability/metrics';
import { DEFAULT_RETRY_OPTIONS } from './upstream-attempts';
import { createComputeLedger, RedisComputeLedger } from './least-privilege/ledger';
import type { ComputeLedger } from './least-privilege/types';
import { createLeastPrivilegeGuard } from './least-privilege/guard';
import { createPipeline, type PipelineOptions, type Protection } from './pipeline';
import { warmUp } from './warm-up';
import { accountForCaller, authorize, callerForSubject, formatProblem, type ConfigProblem } from './policy';
import type { Policy, PolicyResult } from './policy/types';
import { protectionSettingsKey, restartOnlyChanges, type ReloadResult } from './reload';
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
  retry: DEFAULT_RETRY_OPTIONS,
};

/**
 * How long a create whose answer never came (connection lost, timeout) keeps its place under the
 * quotas: the compute may exist. After this the place is free again.
 */
export const CREATE_HOLD_MS = 10 * 60_000;
/** The longest a start waits for its warm-up requests (a slow or unreachable upstream does not hold it). */
const WARM_UP_TIMEOUT_MS = 2000;
/** Warm-up requests the CLI sends at start: about the upstream connections a saturated schedule keeps busy. */
export const CLI_WARM_UP_CONNECTIONS = 4;

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
        leastPrivilege: caller.leastPrivilege,
        accountQuotas: account.quotas,
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

/** The provider's limits of an account: the policy holds them in the schedule's shape. */
export function scheduleLimitsFor(policy: Policy, accountId: string): AccountRateLimits | undefined {
  return Object.hasOwn(policy.accounts, accountId) ? policy.accounts[accountId]!.limits : undefined;
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
  /** The public server's client timeouts (defaults: headers 10 s, whole request 60 s). */
  server?: { headersTimeoutMs?: number; requestTimeoutMs?: number };
  schedule?: ScheduleSettings;
  /**
   * Where audit records go. Default `stdout`: a channel of `logger` (its stream, `"audit": true`).
   * `stream`: a logger of their own on the given stream (tests, embedding).
   */
  audit?: AuditSetting | { kind: 'stream'; stream: DestinationStream };
  /** Reads the policy (and the key files it references) again, for `reload()`. Absent: reload refuses. */
  loadPolicy?: () => PolicyResult | Promise<PolicyResult>;
  /**
   * Before reporting ready, send this many requests through the public port to the upstream's
   * health operation (`warm-up.ts`), so the first real requests leave on time. The CLI does; tests
   * that count what the upstream receives do not. Default 0.
   */
  warmUpConnections?: number;
}

export interface RunningGateway {
  url: string;
  adminUrl: string;
  metrics: GatewayMetrics;
  schedule: RateSchedule;
  /** The policy in force (the last one loaded successfully). */
  policy(): Policy;
  /**
   * Loads the policy again and swaps it in, or refuses it (its problems logged, each with its path)
   * and keeps the running one. Requests already in flight finish under the policy they started with.
   * Concurrent calls run one after the other.
   */
  reload(): Promise<ReloadResult>;
  close(): Promise<void>;
}

/** Everything built from one policy; requests take `verifier` and `access` once, when they arrive. */
interface LoadedConfig {
  policy: Policy;
  verifier: TokenVerifier;
  access: AccessControl;
  protection: Protection;
  protectionKey: string;
}

function openAuditTrail(setting: GatewayOptions['audit'], logger: Logger): { trail: AuditTrail; file?: AuditFile } {
  if (setting === undefined || setting.kind === 'stdout') return { trail: auditTrailOn(logger) };
  if (setting.kind === 'stream') return { trail: auditTrailOn(createLogger({ destination: setting.stream })) };
  const file = openAuditFile(setting.path, (error) => logger.error({ err: error }, 'audit file write failed'));
  return { trail: auditTrailOn(createLogger({ destination: file.stream })), file };
}

export async function startGateway(options: GatewayOptions): Promise<RunningGateway> {
  const { policy, logger } = options;
  const now = options.now ?? Date.now;
  const metrics = options.metrics ?? createMetrics();
  // First: a bad audit path stops the start before anything else is opened.
  const audit = openAuditTrail(options.audit, logger);
  const forwarder = createForwarder({
    now,
    upstreamBaseUrl: policy.upstream.baseUrl,
    timeoutMs: policy.upstream.timeoutMs,
    connectTimeoutMs: policy.upstream.connectTimeoutMs,
    maxSockets: policy.upstream.maxSockets,
    filterResponseHeaders: responseHeadersToReturn,
  });
  const settings = options.schedule ?? { expectedReplicas: 1 };
  const redis: RedisConnection | undefined = settings.redisUrl
    ? createRedisConnection({
        url: settings.redisUrl,
        commandTimeoutMs: settings.commandTimeoutMs,
        connectionName: 'strettch-gateway',
      })
    : undefined;
  const onProtectionError = (error: unknown) =>
    logger.warn({ err: error }, 'protective limit failed; allowing the request');
  const build = (next: Policy, running?: LoadedConfig): LoadedConfig => {
    const protectionKey = protectionSettingsKey(next);
    return {
      policy: next,
      // Always a new verifier, so its verified-token cache cannot vouch for a removed key.
      verifier: verifierFor(next, now),
      access: accessControlFor(next),
      protection:
        running?.protectionKey === protectionKey ? running.protection : protectionFor(next, redis, onProtectionError),
      protectionKey,
    };
  };
  let current = build(policy);
  metrics.configLoadedTimestamp.set(now() / 1000);
  /** Limits of accounts a reload removed, so requests of theirs still queued finish under them. */
  const retiredLimits = new Map<string, AccountRateLimits>();
  const schedule = createRateSchedule({
    redis: redis ? { connection: redis } : undefined,
    limits: (accountId) => scheduleLimitsFor(current.policy, accountId) ?? retiredLimits.get(accountId),
    expectedReplicas: settings.expectedReplicas,
    now,
    logger,
    onStateChange: (state) => {
      for (const mode of ['shared', 'fallback', 'memory'] as const)
        metrics.scheduleMode.set({ mode }, state.mode === mode ? 1 : 0);
      if (state.mode === 'fallback')
        logger.warn({ reason: state.reason }, 'rate schedule: Redis unreachable, using the local fallback schedule');
      else logger.info({ mode: state.mode }, 'rate schedule mode');
    },
  });
  metrics.scheduleMode.set({ mode: schedule.state().mode }, 1);
  const protection: Protection = {
    checkSource: (sourceId) => current.protection.checkSource(sourceId),
    recordBadToken: (sourceId) => current.protection.recordBadToken(sourceId),
    consumeCaller: (caller) => current.protection.consumeCaller(caller),
  };
  // Who created which compute, for ownership and quotas: in Redis when the schedule is, else in memory.
  const ledger = createComputeLedger({ redis, now });
  const guard = createLeastPrivilegeGuard({ ledger, logger, metrics, holdMs: CREATE_HOLD_MS });
  registerRedisCommandCounts(metrics, () => redisCommandCounts(schedule, ledger));
  // Ready with the shared schedule or with a declared fallback: neither fails open nor closed.
  // Until Redis first answers (or the connect timeout passes) the schedule is neither shared nor in fallback.
  const scheduleCheck = () => {
    const state = schedule.state();
    return state.reason === 'connecting' ? 'connecting' : state.mode;
  };
  let draining = false;
  let warming = (options.warmUpConnections ?? 0) > 0;
  const readiness: Readiness = {
    check: () => {
      const checks: Record<string, string> = { policy: 'loaded', schedule: scheduleCheck() };
      if (draining) checks.draining = 'yes';
      if (warming) checks.upstream = 'warming';
      return { ready: !draining && !warming, checks };
    },
  };
  const handler = createPipeline({
    logger,
    metrics,
    now,
    forwarder,
    schedule,
    protection,
    guard,
    verifier: () => current.verifier,
    access: () => current.access,
    audit: audit.trail,
    options: { ...DEFAULT_PIPELINE_OPTIONS, ...options.pipeline },
  });

  const refuse = (errors: ConfigProblem[]): ReloadResult => {
    metrics.configReloads.inc({ result: 'error' });
    const source = current.policy.sourcePath;
    for (const problem of errors)
      logger.error(
        { path: problem.path, line: problem.line, source },
        `config reload: ${formatProblem(problem, source)}`,
      );
    logger.error(
      { source, problems: errors.length },
      'config reload refused; the running configuration stays in force',
    );
    return { ok: false, errors };
  };
  const reloadNow = async (): Promise<ReloadResult> => {
    if (!options.loadPolicy) return refuse([{ path: '(file)', message: 'this gateway has no policy file to reload' }]);
    let loaded: PolicyResult;
    try {
      loaded = await options.loadPolicy();
    } catch (error) {
      return refuse([
        {
          path: '(file)',
          message: `cannot load the policy (${error instanceof Error ? error.message : String(error)})`,
        },
      ]);
    }
    if (!loaded.ok) return refuse(loaded.errors);
    const running = current.policy;
    const restartOnly = restartOnlyChanges(running, loaded.policy);
    if (restartOnly.length > 0)
      logger.warn(
        { changed: restartOnly },
        `config reload: ${restartOnly.join(', ')} changed; applies only after a restart`,
      );
    try {
      current = build(loaded.policy, current);
    } catch (error) {
      return refuse([
        {
          path: '(root)',
          message: `cannot apply the policy (${error instanceof Error ? error.message : String(error)})`,
        },
      ]);
    }
    for (const accountId of Object.keys(running.accounts)) {
      const limits = scheduleLimitsFor(running, accountId);
      if (limits && !Object.hasOwn(loaded.policy.accounts, accountId)) retiredLimits.set(accountId, limits);
    }
    metrics.configReloads.inc({ result: 'ok' });
    metrics.configLoadedTimestamp.set(now() / 1000);
    logger.info(
      {
        source: loaded.policy.sourcePath,
        accounts: Object.keys(loaded.policy.accounts).length,
        callers: Object.keys(loaded.policy.callers).length,
        kids: loaded.policy.auth.keys.map((k) => k.kid),
      },
      'config reloaded',
    );
    return { ok: true };
  };
  let reloading: Promise<ReloadResult> = Promise.resolve({ ok: true });

  const host = options.host ?? policy.listen.host;
  let publicServer: RunningServer | undefined;
  try {
    publicServer = await listen(createGatewayHandler(handler, readiness), {
      ...options.server,
      host,
      port: options.port ?? policy.listen.port,
    });
    const adminServer = await listen(createAdminApp(metrics.registry, readiness), {
      host,
      port: options.adminPort ?? policy.listen.adminPort,
    });
    const running = publicServer;
    if (warming) {
      const warmed = await warmUp(
        running.url,
        options.warmUpConnections!,
        Math.min(WARM_UP_TIMEOUT_MS, policy.upstream.timeoutMs),
      );
      warming = false;
      if (warmed.answered === options.warmUpConnections) logger.debug(warmed, 'upstream path warmed up');
      else
        logger.warn(warmed, 'upstream path warmed up only in part: the upstream did not answer every warm-up request');
    }
    return {
      url: running.url,
      adminUrl: adminServer.url,
      metrics,
      schedule,
      policy: () => current.policy,
      reload() {
        reloading = reloading.then(reloadNow, reloadNow);
        return reloading;
      },
      async close() {
        // Fixed order: stop taking requests and drain them, then the admin port, the upstream
        // sockets, and Redis last (draining requests still use the schedule).
        draining = true;
        await running.close(options.drainMs);
        await adminServer.close(1000);
        forwarder.close();
        await schedule.close();
        await ledger.close();
        await redis?.close();
        await audit.file?.close();
      },
    };
  } catch (error) {
    await publicServer?.close(0);
    forwarder.close();
    await schedule.close();
    await redis?.close();
    await audit.file?.close();
    throw error;
  }
}

/** Round trips by sender, for `strettch_gateway_redis_commands_total` (what `bench:fleet` counts). */
function redisCommandCounts(schedule: RateSchedule, ledger: ComputeLedger): RedisCommandCount[] {
  const { redisCommands } = schedule.stats();
  const scheduleOps = ['reserve', 'pause', 'refused', 'report', 'seed', 'calibrate'] as const;
  const counts: RedisCommandCount[] = scheduleOps.map((op) => ({
    component: 'schedule',
    op,
    count: redisCommands[op],
  }));
  if (ledger instanceof RedisComputeLedger) {
    for (const [op, count] of Object.entries(ledger.commandCounts())) counts.push({ component: 'ledger', op, count });
  }
  return counts;
}
