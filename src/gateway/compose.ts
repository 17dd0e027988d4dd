/**
 * The composition root: the one place that builds loggers, metrics, verifiers, forwarders and
 * servers from a resolved policy. Everything else receives what it needs.
 */
import { accessControlFor, type AccessControl } from './access';
import type { AuditSetting, AuditTrail } from './audit';
import { auditTrailOn, openAuditFile, type AuditFile } from './audit-sink';
import { createAdminApp, createGatewayHandler, type Readiness } from './app';
import { cacheVerifiedTokens, createTokenVerifier, VERIFIED_TOKEN_CACHE_DEFAULTS, type TokenVerifier } from './auth';
import { responseHeadersToReturn } from './forward/headers';
import { createForwarder } from './forward/proxy';
import { hostname } from 'node:os';
import { createProviderLimits } from './provider-limits';
import { createLogger, type DestinationStream, type Logger } from './observability/logger';
import {
  createMetrics,
  registerPrefetchCounts,
  registerRedisCommandCounts,
  type GatewayMetrics,
  type RedisCommandCount,
} from './observability/metrics';
import { createStatusRecorder, statusDocument, type StatusRecorder } from './observability/status';
import { DEFAULT_RETRY_OPTIONS } from './upstream-attempts';
import { MemoryComputeLedger, RedisComputeLedger } from './least-privilege/ledger';
import type { ComputeLedger } from './least-privilege/types';
import { createLeastPrivilegeGuard } from './least-privilege/guard';
import { createLeastPrivilegeStage } from './least-privilege/stage';
import { createPipeline, type PipelineOptions } from './pipeline';
import { warmUp } from './warm-up';
import { issuerKeysFor, type IssuerKeys } from './issuer-keys';
import type { AccountLimits, Policy, PolicyResult } from './policy/types';
import type { RequestListener } from 'node:http';
import { createReloader, protectionSettingsKey, type ReloadResult } from './reload';
import { recordRefusal } from './refusal-record';
import { CONNECTION_LIMIT_DEFAULTS, type ConnectionLimits } from '../shared/connection-limits';
import { listen, type RunningServer, type TlsListenOptions } from '../shared/http-server';
import type { SecureContextOptions } from 'node:tls';
import { listenerTls, secureContextOptions } from './listener-tls';
import { createRedisConnection, type RedisConnection, type RedisTopology } from '../redis';
import {
  createRateSchedule,
  preciseNow,
  scheduleCommandKinds,
  type AccountRateLimits,
  type RateSchedule,
  type ScheduleMode,
  type ScheduleTuning,
} from '../schedule';
import { protectionFor, type Protection } from './protection';
import { createRequestTracer, type TracingSettings } from './observability/tracing';

export const GATEWAY_VERSION = '0.1.0';
export const GATEWAY_USER_AGENT = `strettch-gateway/${GATEWAY_VERSION}`;
/** How long a stop waits for the last spans to reach the collector; an unreachable one costs no more. */
const TRACE_FLUSH_TIMEOUT_MS = 2000;

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

export function verifierFor(policy: Policy, now: () => number, issuerKeys?: IssuerKeys): TokenVerifier {
  const { issuer, audience, keys, maxTokenLifetimeSec, clockToleranceSec, maxTokenBytes } = policy.auth;
  return cacheVerifiedTokens(
    createTokenVerifier({
      issuer,
      audience,
      keys,
      maxTokenLifetimeSec,
      clockToleranceSec,
      maxTokenBytes,
      now,
      ...(issuerKeys ? { jwksKeySource: issuerKeys.source } : {}),
    }),
    { ...VERIFIED_TOKEN_CACHE_DEFAULTS, now },
  );
}

/** The accounts whose limits follow the provider (`limits: auto`). */
function autoAccountsOf(policy: Policy): string[] {
  return Object.values(policy.accounts)
    .filter((account) => account.limits.auto !== undefined)
    .map((account) => account.id);
}

/** The provider's limits of an account: the policy holds them in the schedule's shape. */
export function scheduleLimitsFor(policy: Policy, accountId: string): AccountLimits | undefined {
  return Object.hasOwn(policy.accounts, accountId) ? policy.accounts[accountId]!.limits : undefined;
}

/** Deployment settings of the shared schedule (the gateway's settings, not the policy). */
export interface ScheduleSettings {
  /** Any Redis topology (single node, Sentinel, Cluster); wins over `redisUrl`. */
  redis?: RedisTopology;
  /** A single node's URL. Both absent: the same algorithm in memory (one replica, or the embedded default). */
  redisUrl?: string;
  /** Replicas sharing the schedule (use the HPA maximum); each falls back to rate ÷ this. */
  expectedReplicas: number;
  commandTimeoutMs?: number;
  connectTimeoutMs?: number;
  /** The schedule's tuning; absent: `SCHEDULE_TUNING_DEFAULTS`. */
  tuning?: ScheduleTuning;
}

export interface GatewayOptions {
  policy: Policy;
  logger: Logger;
  now?: () => number;
  metrics?: GatewayMetrics;
  pipeline?: Partial<PipelineOptions>;
  /** Overrides of the policy's `listen` (the CLI's HOST and PORT, tests' port 0). */
  host?: string;
  port?: number;
  adminHost?: string;
  adminPort?: number;
  /** How long SIGTERM waits for in-flight requests before cutting them. */
  drainMs?: number;
  /**
   * The public server's client timeouts (defaults: headers 10 s, whole request 60 s) and its caps on
   * open connections (default `CONNECTION_LIMIT_DEFAULTS`; the CLI's from `GATEWAY_MAX_CONNECTIONS*`).
   */
  server?: { headersTimeoutMs?: number; requestTimeoutMs?: number; connectionLimits?: ConnectionLimits };
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
  /** OpenTelemetry traces (the settings' `OTEL_*`); absent or off: no tracer, no SDK loaded. */
  tracing?: TracingSettings;
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
  /** The issuer's published keys, when the policy fetches any; kept by reloads that leave their settings alone. */
  issuerKeys?: IssuerKeys;
}

function openAuditTrail(setting: GatewayOptions['audit'], logger: Logger): { trail: AuditTrail; file?: AuditFile } {
  if (setting === undefined || setting.kind === 'stdout') return { trail: auditTrailOn(logger) };
  if (setting.kind === 'stream') return { trail: auditTrailOn(createLogger({ destination: setting.stream })) };
  const file = openAuditFile(setting.path, (error) => logger.error({ err: error }, 'audit file write failed'));
  return { trail: auditTrailOn(createLogger({ destination: file.stream })), file };
}

/** Everything a gateway is, built and wired, not yet listening: what `listenGateway` serves. */
export interface BuiltGateway {
  options: GatewayOptions;
  /** The public port's request listener: the probes, then the request path. */
  handler: RequestListener;
  /** The admin port's app: probes and metrics. */
  adminHandler: RequestListener;
  metrics: GatewayMetrics;
  schedule: RateSchedule;
  policy(): Policy;
  reload(): Promise<ReloadResult>;
  /** The public listener's TLS at start; absent: plain HTTP. */
  listenTls?: TlsListenOptions;
  /** Told of the secure context of every reload applied (TLS listeners swap theirs). */
  onSecureContext(target: (context: SecureContextOptions) => void): void;
  /** Ready is held back while this is set (draining, warming the upstream path). */
  setDraining(): void;
  setWarming(warming: boolean): void;
  /**
   * Closes what `buildGateway` opened, in order: the upstream sockets, the schedule, the ledger, Redis,
   * audit, then the tracer (its queued spans flushed, bounded).
   */
  close(): Promise<void>;
}

function createScheduleConnection(settings: ScheduleSettings): RedisConnection | undefined {
  const topology = settings.redis ?? (settings.redisUrl ? { kind: 'single', url: settings.redisUrl } : undefined);
  if (topology === undefined) return undefined;
  return createRedisConnection({
    topology,
    commandTimeoutMs: settings.commandTimeoutMs,
    connectTimeoutMs: settings.connectTimeoutMs,
    connectionName: 'strettch-gateway',
  });
}

function scheduleWithMetrics(
  settings: ScheduleSettings,
  redis: RedisConnection | undefined,
  limits: (accountId: string) => AccountRateLimits | undefined,
  deps: { now: () => number; logger: Logger; metrics: GatewayMetrics },
): RateSchedule {
  const { logger, metrics } = deps;
  const schedule = createRateSchedule({
    ...settings.tuning,
    redis: redis ? { connection: redis } : undefined,
    limits,
    expectedReplicas: settings.expectedReplicas,
    now: deps.now,
    logger,
    onStateChange: (state) => {
      showScheduleMode(metrics, state.mode);
      if (state.mode === 'fallback')
        logger.warn({ reason: state.reason }, 'rate schedule: Redis unreachable, using the local fallback schedule');
      else logger.info({ mode: state.mode }, 'rate schedule mode');
    },
    onSafetyChange: (account, scheduleClass, safety) =>
      metrics.scheduleSafety.set({ account, class: scheduleClass }, safety),
  });
  showScheduleMode(metrics, schedule.state().mode);
  return schedule;
}

/** The server certificate's expiry, for an alert well before it (a reload with a renewed one moves it). */
function showCertificateExpiry(metrics: GatewayMetrics, policy: Policy): void {
  const notAfterMs = policy.listen.tls?.material?.certificateNotAfterMs;
  if (notAfterMs !== undefined) metrics.tlsCertificateNotAfter.set({ certificate: 'server' }, notAfterMs / 1000);
}

/** Every mode from the start (the current one 1, the others 0): an alert on fallback has its series before. */
function showScheduleMode(metrics: GatewayMetrics, current: ScheduleMode): void {
  for (const mode of ['shared', 'fallback', 'memory'] as const)
    metrics.scheduleMode.set({ mode }, mode === current ? 1 : 0);
}

/** The compute ledger, and its own count of Redis round trips (none in memory). */
function ledgerFor(redis: RedisConnection | undefined, now: () => number) {
  if (!redis) return { ledger: new MemoryComputeLedger({ now }) as ComputeLedger, redisCommands: () => ({}) };
  const ledger = new RedisComputeLedger({ connection: redis });
  return { ledger: ledger as ComputeLedger, redisCommands: () => ledger.commandCounts() };
}

/**
 * What one policy builds, and the holder of the one in force. Requests take `verifier` and
 * `access` once, when they arrive; the protective limits are rebuilt only when their settings change.
 */
function liveConfig(
  policy: Policy,
  redis: RedisConnection | undefined,
  deps: { now: () => number; logger: Logger; metrics: GatewayMetrics },
) {
  const { now, logger } = deps;
  const onProtectionError = (error: unknown) =>
    logger.warn({ err: error }, 'protective limit failed; allowing the request');
  const build = (next: Policy, running?: LoadedConfig): LoadedConfig => {
    const protectionKey = protectionSettingsKey(next);
    const issuerKeys = issuerKeysFor(next, running?.issuerKeys, deps);
    return {
      policy: next,
      // Always a new verifier, so its verified-token cache cannot vouch for a removed key.
      verifier: verifierFor(next, now, issuerKeys),
      ...(issuerKeys ? { issuerKeys } : {}),
      access: accessControlFor(next),
      protection:
        running?.protectionKey === protectionKey ? running.protection : protectionFor(next, redis, onProtectionError),
      protectionKey,
    };
  };
  let current = build(policy);
  /** Limits of accounts a reload removed, so requests of theirs still queued finish under them. */
  const retiredLimits = new Map<string, AccountLimits>();
  return {
    current: () => current,
    limits: (accountId: string) => scheduleLimitsFor(current.policy, accountId) ?? retiredLimits.get(accountId),
    apply(next: Policy): void {
      const running = current.policy;
      current = build(next, current);
      for (const accountId of Object.keys(running.accounts))
        if (!Object.hasOwn(next.accounts, accountId)) retiredLimits.set(accountId, running.accounts[accountId]!.limits);
    },
    protection: {
      checkSource: (sourceId) => current.protection.checkSource(sourceId),
      recordBadToken: (sourceId) => current.protection.recordBadToken(sourceId),
      consumeCaller: (caller) => current.protection.consumeCaller(caller),
    } satisfies Protection,
  };
}

/** Ready with the shared schedule or with a declared fallback: neither fails open nor closed. */
function readinessOf(
  schedule: RateSchedule,
  state: { draining: boolean; warming: boolean },
  issuerKeys: () => IssuerKeys | undefined,
): Readiness {
  // Until Redis first answers (or the connect timeout passes) the schedule is neither shared nor in fallback.
  const scheduleCheck = () => {
    const scheduleState = schedule.state();
    return scheduleState.reason === 'connecting' ? 'connecting' : scheduleState.mode;
  };
  return {
    check: () => {
      const checks: Record<string, string> = { policy: 'loaded', schedule: scheduleCheck() };
      if (state.draining) checks.draining = 'yes';
      if (state.warming) checks.upstream = 'warming';
      // Shown, not required: keys already cached, and static keys, verify while the issuer is away.
      const keys = issuerKeys()?.source.status();
      if (keys) checks.issuerKeys = keys.state === 'fresh' ? 'loaded' : keys.state === 'stale' ? 'stale' : 'not-loaded';
      return { ready: !state.draining && !state.warming, checks };
    },
  };
}

/**
 * Builds the gateway from a policy and its settings: every component wired, nothing listening.
 * Tests mount `handler` themselves; `listenGateway` serves it.
 */
export function buildGateway(options: GatewayOptions): BuiltGateway {
  const { policy, logger } = options;
  const now = options.now ?? Date.now;
  const metrics = options.metrics ?? createMetrics();
  // First: a bad audit path stops the start before anything else is opened.
  const audit = openAuditTrail(options.audit, logger);
  // The schedule's clock (sub-millisecond, see below): `sendByMs` and the release instants are on it.
  const scheduleNow = options.now ?? preciseNow;
  const forwarder = createForwarder({
    now: scheduleNow,
    upstreamBaseUrl: policy.upstream.baseUrl,
    timeoutMs: policy.upstream.timeoutMs,
    connectTimeoutMs: policy.upstream.connectTimeoutMs,
    maxSockets: policy.upstream.maxSockets,
    filterResponseHeaders: responseHeadersToReturn,
  });
  const settings = options.schedule ?? { expectedReplicas: 1 };
  const redis = createScheduleConnection(settings);
  const live = liveConfig(policy, redis, { now, logger, metrics });
  metrics.configLoadedTimestamp.set(now() / 1000);
  const status = createStatusRecorder(now);
  status.policyLoaded(policy);
  // The schedule's own clock (scheduleNow) has the sub-millisecond part (src/schedule/precise-clock.ts): slots at
  // high limits are µs apart, and on whole milliseconds a request waited for the next tick for nothing.
  // `limits: auto` accounts run under what the provider advertises; the follower acts on the schedule built next.
  const providerLimits = createProviderLimits({
    configured: live.limits,
    autoAccounts: () => autoAccountsOf(live.current().policy),
    schedule: {
      retire: (accountId, scheduleClass, pauseMs) => schedule.retire(accountId, scheduleClass, pauseMs),
      pause: (accountId, operationClass, untilMs) => schedule.pause(accountId, operationClass, untilMs),
    },
    ...(redis ? { redis } : {}),
    replica: `${hostname()}:${process.pid}`,
    now,
    logger,
    metrics,
  });
  const schedule = scheduleWithMetrics(settings, redis, providerLimits.limitsFor, {
    now: scheduleNow,
    logger,
    metrics,
  });
  // Who created which compute, for ownership and quotas: in Redis when the schedule is, else in memory.
  const { ledger, redisCommands } = ledgerFor(redis, now);
  const guard = createLeastPrivilegeGuard({ ledger, logger, metrics, holdMs: CREATE_HOLD_MS });
  registerRedisCommandCounts(metrics, () => redisCommandCounts(schedule, redisCommands()));
  registerPrefetchCounts(metrics, () => schedule.stats().prefetch);
  const state = { draining: false, warming: (options.warmUpConnections ?? 0) > 0 };
  const readiness = readinessOf(schedule, state, () => live.current().issuerKeys);
  const tracer = createRequestTracer(options.tracing, GATEWAY_VERSION);
  const pipeline = createPipeline({
    tracer,
    logger,
    metrics,
    now,
    forwarder,
    schedule,
    providerLimits,
    protection: live.protection,
    leastPrivilege: createLeastPrivilegeStage(guard),
    verifier: () => live.current().verifier,
    access: () => live.current().access,
    audit: audit.trail,
    options: { ...DEFAULT_PIPELINE_OPTIONS, ...options.pipeline },
    onRequestRecorded: status.recordRequest,
  });
  // The public listener's TLS, built now so that bad files stop the start here.
  const listenTls = policy.listen.tls ? listenerTls(policy.listen.tls) : undefined;
  showCertificateExpiry(metrics, policy);
  const secureContextTargets = new Set<(context: SecureContextOptions) => void>();
  const reload = recordedReloads(
    createReloader({
      loadPolicy: options.loadPolicy,
      running: () => live.current().policy,
      apply(next) {
        // First, so that files OpenSSL refuses leave the running policy and context in force.
        const context = next.listen.tls ? secureContextOptions(next.listen.tls) : undefined;
        live.apply(next);
        if (context) for (const target of secureContextTargets) target(context);
        // Only a listener started with TLS takes a new context (turning TLS on needs a restart).
        if (listenTls) showCertificateExpiry(metrics, next);
      },
      logger,
      metrics,
      now,
    }),
    status,
    () => live.current().policy,
  );
  return {
    options,
    handler: createGatewayHandler(pipeline, readiness),
    adminHandler: createAdminApp(metrics.registry, readiness, async () => {
      const fleet = await schedule.fleetSlotsLastSecond();
      return statusDocument({
        nowMs: now(),
        policy: live.current().policy,
        scheduleState: schedule.state(),
        queues: schedule.queues(),
        fleet,
        callers: status.callers(),
        policyLoad: status.policyLoad(),
        lastReload: status.lastReload(),
      });
    }),
    metrics,
    schedule,
    policy: () => live.current().policy,
    reload,
    listenTls,
    onSecureContext(target) {
      secureContextTargets.add(target);
    },
    setDraining() {
      state.draining = true;
    },
    setWarming(warming) {
      state.warming = warming;
    },
    async close() {
      forwarder.close();
      providerLimits.close();
      await schedule.close();
      await ledger.close();
      await redis?.close();
      await audit.file?.close();
      // Last: the spans of the requests that drained above.
      await tracer?.shutdown(TRACE_FLUSH_TIMEOUT_MS);
    },
  };
}

/** The status page's record of reloads: each outcome, and the version of a policy put in force. */
function recordedReloads(
  reload: () => Promise<ReloadResult>,
  status: StatusRecorder,
  running: () => Policy,
): () => Promise<ReloadResult> {
  return async () => {
    const result = await reload();
    status.reloaded(result);
    if (result.ok) status.policyLoaded(running());
    return result;
  };
}

/** Sends the warm-up requests through the public port, holding readiness back until they are answered. */
async function warmUpstreamPath(built: BuiltGateway, publicUrl: string): Promise<void> {
  const { options } = built;
  const connections = options.warmUpConnections ?? 0;
  if (connections === 0) return;
  const warmed = await warmUp(publicUrl, connections, Math.min(WARM_UP_TIMEOUT_MS, options.policy.upstream.timeoutMs));
  built.setWarming(false);
  if (warmed.answered === connections) options.logger.debug(warmed, 'upstream path warmed up');
  else
    options.logger.warn(
      warmed,
      'upstream path warmed up only in part: the upstream did not answer every warm-up request',
    );
}

/** Serves a built gateway: the public and admin ports, then the warm-up. On failure, closes what it opened. */
export async function listenGateway(built: BuiltGateway): Promise<RunningGateway> {
  const { options } = built;
  const host = options.host ?? options.policy.listen.host;
  let publicServer: RunningServer | undefined;
  let adminServer: RunningServer | undefined;
  try {
    publicServer = await listen(built.handler, {
      ...options.server,
      host,
      port: options.port ?? options.policy.listen.port,
      connectionLimits: options.server?.connectionLimits ?? CONNECTION_LIMIT_DEFAULTS,
      // What the server refuses before the request path still gets an access line and a count.
      onRefusal: (refusal) => recordRefusal({ logger: options.logger, metrics: built.metrics }, refusal),
      ...(built.listenTls ? { tls: built.listenTls } : {}),
    });
    // New handshakes use a reloaded certificate and CA bundle; open connections keep what they verified.
    const { setSecureContext } = publicServer;
    if (setSecureContext) built.onSecureContext(setSecureContext);
    // Not `host`: a proxy opened to the network (0.0.0.0) keeps its metrics and probes on loopback
    // unless the policy's listen.adminHost says otherwise.
    adminServer = await listen(built.adminHandler, {
      host: options.adminHost ?? options.policy.listen.adminHost,
      port: options.adminPort ?? options.policy.listen.adminPort,
    });
    await warmUpstreamPath(built, publicServer.url);
  } catch (error) {
    await publicServer?.close(0);
    await adminServer?.close(0);
    await built.close();
    throw error;
  }
  const running = publicServer;
  const admin = adminServer;
  return {
    url: running.url,
    adminUrl: admin.url,
    metrics: built.metrics,
    schedule: built.schedule,
    policy: built.policy,
    reload: built.reload,
    async close() {
      // Fixed order: stop taking requests and drain them, then the admin port, the upstream
      // sockets, and Redis last (draining requests still use the schedule).
      built.setDraining();
      await running.close(options.drainMs);
      await admin.close(1000);
      await built.close();
    },
  };
}

/** Builds and serves: what the CLI and the integration tests start. */
export async function startGateway(options: GatewayOptions): Promise<RunningGateway> {
  return listenGateway(buildGateway(options));
}

/** Round trips by sender, for `strettch_gateway_redis_commands_total` (what `bench:fleet` counts). */
function redisCommandCounts(
  schedule: RateSchedule,
  ledgerCommands: Readonly<Record<string, number>>,
): RedisCommandCount[] {
  const { redisCommands } = schedule.stats();
  // Every kind of script call the store sends (a new one is counted without a change here), then the commands.
  const scheduleOps = [...scheduleCommandKinds(), 'calibrate', 'probe'] as const;
  const counts: RedisCommandCount[] = scheduleOps.map((op) => ({
    component: 'schedule',
    op,
    count: redisCommands[op],
  }));
  for (const [op, count] of Object.entries(ledgerCommands)) counts.push({ component: 'ledger', op, count });
  return counts;
}
