/**
 * The gateway's settings: every environment variable and start flag, validated by one zod schema
 * at startup, every problem reported at once (each naming its variable or flag), the result
 * frozen. Apart from the policy file: settings say where and how this process runs (ports, Redis,
 * logs, audit sink, replicas, connection caps, schedule tuning); the policy says who may do what upstream.
 *
 * Pure: the CLI entry reads `process.env` and argv and hands them here; nothing reads the
 * environment at import time. `effectiveSettings` lists the values in force and where each came
 * from, for `check-config` and `explain`; it never shows a secret (a Redis password).
 */
import { z } from 'zod';
import type { AuditSetting } from './audit';
import { SCHEDULE_TUNING_DEFAULTS, type ScheduleTuning } from '../schedule/tuning';
import { CONNECTION_LIMIT_DEFAULTS, type ConnectionLimits } from '../shared/connection-limits';
import { deepFreeze } from './policy/deep-freeze';
import { REDIS_TOPOLOGY_ENV_NAMES, redisTopologyFromEnv } from './redis-settings';
import { describeRedisTopology, redactRedisUrl, type RedisTopology } from '../redis';
import {
  describeTracing,
  displayUrl,
  TRACING_SAMPLERS,
  tracingFromEnv,
  type TracingSettings,
} from './observability/tracing/tracing-settings';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Defaults written once; the Redis connection's own defaults match (`src/redis/connection.ts`). */
export const SETTING_DEFAULTS = Object.freeze({
  logLevel: 'info' as LogLevel,
  expectedReplicas: 1,
  redisCommandTimeoutMs: 150,
  redisConnectTimeoutMs: 1000,
  /** About the upstream connections a saturated schedule keeps busy (`warm-up.ts`). */
  warmUpConnections: 4,
});

export interface GatewaySettings {
  /**
   * The policy file: `--config`, else `GATEWAY_CONFIG` (how an image's default command is pointed at
   * a mounted policy); absent: the embedded default in front of the built-in sandbox.
   */
  readonly configPath?: string;
  /** `--watch` or `CONFIG_WATCH=1`: reload when the policy or a file it references changes. */
  readonly watch: boolean;
  /** Overrides of the policy's `listen`; absent: the policy's. */
  readonly host?: string;
  readonly port?: number;
  readonly adminPort?: number;
  readonly logLevel: LogLevel;
  readonly audit: AuditSetting;
  /**
   * The Redis behind the shared schedule and the ledger, in any topology (`redis-settings.ts`);
   * absent: both run in memory (one replica).
   */
  readonly redis?: RedisTopology;
  /** `REDIS_URL` when the topology is a single node (what older callers read); prefer `redis`. */
  readonly redisUrl?: string;
  /** A Redis reply later than this counts as an outage (fallback). */
  readonly redisCommandTimeoutMs: number;
  readonly redisConnectTimeoutMs: number;
  /** Replicas sharing the schedule (the HPA maximum); each falls back to rate ÷ this. */
  readonly expectedReplicas: number;
  /**
   * `GATEWAY_SINGLE_REPLICA=1`: one replica without Redis on purpose, so ownership and quotas may be
   * kept in this process alone (`shared-state-check.ts`). Contradicts GATEWAY_REPLICAS above 1.
   */
  readonly singleReplica: boolean;
  /** Requests sent through the public port to the upstream's health operation before reporting ready. */
  readonly warmUpConnections: number;
  /** Open connections on the public port, over all clients and per client address; more → 503. */
  readonly connectionLimits: ConnectionLimits;
  readonly schedule: ScheduleTuning;
  /** OpenTelemetry traces, from the standard `OTEL_*` variables; off unless they ask for it. */
  readonly tracing: TracingSettings;
  /**
   * What `check-config` shows of the exporter's variables: the endpoints as given, whether headers are
   * set. Header values (they may hold a collector's token) are never kept here; the exporter reads them.
   */
  readonly tracingVariables: {
    readonly endpoint?: string;
    readonly tracesEndpoint?: string;
    readonly headersSet: boolean;
    readonly tracesHeadersSet: boolean;
  };
}

/** What the start command's flags carry into the settings (the rest of argv is the CLI's). */
export interface SettingFlags {
  config?: string;
  watch?: boolean;
}

export type SettingSource = 'default' | 'env' | 'flag';

export type SettingsResult =
  | { ok: true; settings: GatewaySettings; sources: Readonly<Record<string, SettingSource>> }
  | { ok: false; problems: string[] };

type Env = Readonly<Record<string, string | undefined>>;

/** An empty variable counts as unset, as a shell's `PORT=` means. */
const unsetIfEmpty = <T extends z.ZodType>(schema: T) =>
  z.preprocess((value) => (value === '' ? undefined : value), schema.optional());

/** A whole number written in at most `digits` digits, within [min, max]; one message for every way to miss. */
function wholeNumber(min: number, max: number, digits: number, message: string) {
  const pattern = new RegExp(`^[0-9]{1,${digits}}$`);
  return z.string().transform((text, ctx) => {
    const value = Number(text);
    if (pattern.test(text) && value >= min && value <= max) return value;
    ctx.addIssue({ code: 'custom', message });
    return z.NEVER;
  });
}

const port = unsetIfEmpty(wholeNumber(0, 65535, 5, 'must be a port number from 0 to 65535'));
const milliseconds = (min: number, max: number) =>
  unsetIfEmpty(
    wholeNumber(min, max, String(max).length, `must be a whole number of milliseconds from ${min} to ${max}`),
  );
const count = (min: number, max: number) =>
  unsetIfEmpty(wholeNumber(min, max, String(max).length, `must be a whole number from ${min} to ${max}`));

/** An OTLP/HTTP endpoint: an http or https URL. */
const otlpEndpoint = unsetIfEmpty(
  z.string().refine((text) => {
    try {
      return /^https?:$/.test(new URL(text).protocol);
    } catch {
      return false;
    }
  }, 'must be an http:// or https:// URL'),
);
/** The specification reads booleans case-insensitively. */
const otelBoolean = unsetIfEmpty(
  z
    .string()
    .transform((text) => text.toLowerCase())
    .pipe(z.enum(['true', 'false'], { error: 'must be true or false' })),
);
const otlpProtocol = unsetIfEmpty(
  z.enum(['http/json'], { error: "must be http/json: the gateway's exporter sends OTLP over HTTP as JSON" }),
);

/**
 * The environment, one entry per variable. Each message names what the value must be; the
 * variable's name is the issue's path. Variables absent from this schema are not settings.
 */
const ENV_SCHEMA = z.object({
  // eslint-disable-next-line no-control-regex
  GATEWAY_CONFIG: unsetIfEmpty(z.string().regex(/^[^\x00-\x1f]*$/, 'must be a file path')),
  HOST: unsetIfEmpty(z.string()),
  PORT: port,
  ADMIN_PORT: port,
  LOG_LEVEL: z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` }).optional(),
  REDIS_URL: unsetIfEmpty(z.string().regex(/^rediss?:\/\//, 'must start with redis:// or rediss://')),
  // Checked together with REDIS_URL, as one block (`redis-settings.ts`).
  ...(Object.fromEntries(REDIS_TOPOLOGY_ENV_NAMES.map((name) => [name, z.string().optional()])) as Record<
    (typeof REDIS_TOPOLOGY_ENV_NAMES)[number],
    z.ZodOptional<z.ZodString>
  >),
  REDIS_COMMAND_TIMEOUT_MS: milliseconds(10, 10_000),
  REDIS_CONNECT_TIMEOUT_MS: milliseconds(100, 60_000),
  GATEWAY_REPLICAS: wholeNumber(1, 9999, 4, 'must be a whole number from 1 to 9999').optional(),
  // An explicit yes or no: a typo must not silently turn the check off.
  GATEWAY_SINGLE_REPLICA: unsetIfEmpty(
    z.enum(['1', 'true', '0', 'false'], { error: 'must be 1 or true (one replica on purpose), 0 or false' }),
  ),
  AUDIT_LOG: unsetIfEmpty(
    // eslint-disable-next-line no-control-regex
    z.string().regex(/^[^\x00-\x1f]*$/, 'must be "stdout" or a file path'),
  ),
  // Only `1` turns the watch on, as before: any other value leaves it off.
  CONFIG_WATCH: z.string().optional(),
  GATEWAY_WARM_UP_CONNECTIONS: count(0, 64),
  GATEWAY_MAX_CONNECTIONS: count(1, 1_000_000),
  GATEWAY_MAX_CONNECTIONS_PER_CLIENT: count(1, 1_000_000),
  SCHEDULE_MAX_QUEUED_PER_CALLER: count(1, 10_000),
  SCHEDULE_IDLE_TTL_MS: milliseconds(1000, 86_400_000),
  SCHEDULE_FEEDBACK_TOLERANCE: count(0, 100),
  SCHEDULE_SEND_TOLERANCE_MS: milliseconds(0, 1000),
  SCHEDULE_FALLBACK_MAX_WAIT_MS: milliseconds(0, 60_000),
  SCHEDULE_TRANSITION_GUARD_MS: milliseconds(0, 60_000),
  SCHEDULE_PROBE_INTERVAL_MS: milliseconds(50, 60_000),
  // Only `1` turns the window phase learner on; any other value leaves it off.
  SCHEDULE_LEARN_WINDOW_PHASE: z.string().optional(),
  SCHEDULE_PREFETCH_MIN_RATE: count(0, 10_000_000),
  // OpenTelemetry's own names (observability/tracing/tracing-settings.ts says when they turn tracing on).
  OTEL_SDK_DISABLED: otelBoolean,
  OTEL_TRACES_EXPORTER: unsetIfEmpty(
    z.enum(['otlp', 'none'], { error: 'must be otlp or none (the gateway exports traces over OTLP/HTTP only)' }),
  ),
  OTEL_EXPORTER_OTLP_ENDPOINT: otlpEndpoint,
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: otlpEndpoint,
  // Read by the exporter itself; checked here only for being set, and never shown (a token may be in it).
  OTEL_EXPORTER_OTLP_HEADERS: unsetIfEmpty(z.string()),
  OTEL_EXPORTER_OTLP_TRACES_HEADERS: unsetIfEmpty(z.string()),
  OTEL_EXPORTER_OTLP_PROTOCOL: otlpProtocol,
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: otlpProtocol,
  OTEL_SERVICE_NAME: unsetIfEmpty(
    // eslint-disable-next-line no-control-regex
    z.string().regex(/^[^\x00-\x1f\x7f]{1,255}$/, 'must be a name of at most 255 characters'),
  ),
  OTEL_TRACES_SAMPLER: unsetIfEmpty(
    z.enum(TRACING_SAMPLERS, { error: `must be one of ${TRACING_SAMPLERS.join(', ')}` }),
  ),
  OTEL_TRACES_SAMPLER_ARG: unsetIfEmpty(
    z
      .string()
      .regex(/^(0(\.[0-9]{1,6})?|1(\.0{1,6})?)$/, 'must be a ratio from 0 to 1 (at most 6 decimals)')
      .transform(Number),
  ),
});

export type SettingsEnvName = keyof typeof ENV_SCHEMA.shape;
export const SETTINGS_ENV_NAMES = Object.keys(ENV_SCHEMA.shape) as SettingsEnvName[];

/** The settings from the environment and the start flags, or every problem found. */
export function readSettings(env: Env, flags: SettingFlags = {}): SettingsResult {
  const input = Object.fromEntries(SETTINGS_ENV_NAMES.map((name) => [name, env[name]]));
  const parsed = ENV_SCHEMA.safeParse(input);
  const redis = redisTopologyFromEnv(input);
  const problems = [
    ...(parsed.success ? [] : parsed.error.issues.map((issue) => `${String(issue.path[0])}: ${issue.message}`)),
    ...(redis.ok ? [] : redis.problems),
  ];
  if (!parsed.success || !redis.ok) return { ok: false, problems };
  const e = parsed.data;
  const singleReplica = e.GATEWAY_SINGLE_REPLICA === '1' || e.GATEWAY_SINGLE_REPLICA === 'true';
  if (singleReplica && (e.GATEWAY_REPLICAS ?? 1) > 1)
    return {
      ok: false,
      problems: [`GATEWAY_SINGLE_REPLICA: says one replica on purpose, but GATEWAY_REPLICAS is ${e.GATEWAY_REPLICAS}`],
    };
  const tuning = SCHEDULE_TUNING_DEFAULTS;
  const settings: GatewaySettings = {
    // The flag wins: `docker run … start --config x` overrides the image's GATEWAY_CONFIG.
    configPath: flags.config ?? e.GATEWAY_CONFIG,
    watch: flags.watch === true || e.CONFIG_WATCH === '1',
    host: e.HOST,
    port: e.PORT,
    adminPort: e.ADMIN_PORT,
    logLevel: e.LOG_LEVEL ?? SETTING_DEFAULTS.logLevel,
    audit:
      e.AUDIT_LOG === undefined || e.AUDIT_LOG === 'stdout' ? { kind: 'stdout' } : { kind: 'file', path: e.AUDIT_LOG },
    redis: redis.topology,
    redisUrl: redis.topology?.kind === 'single' ? redis.topology.url : undefined,
    redisCommandTimeoutMs: e.REDIS_COMMAND_TIMEOUT_MS ?? SETTING_DEFAULTS.redisCommandTimeoutMs,
    redisConnectTimeoutMs: e.REDIS_CONNECT_TIMEOUT_MS ?? SETTING_DEFAULTS.redisConnectTimeoutMs,
    expectedReplicas: e.GATEWAY_REPLICAS ?? SETTING_DEFAULTS.expectedReplicas,
    singleReplica,
    warmUpConnections: e.GATEWAY_WARM_UP_CONNECTIONS ?? SETTING_DEFAULTS.warmUpConnections,
    connectionLimits: {
      maxConnections: e.GATEWAY_MAX_CONNECTIONS ?? CONNECTION_LIMIT_DEFAULTS.maxConnections,
      maxConnectionsPerClient:
        e.GATEWAY_MAX_CONNECTIONS_PER_CLIENT ?? CONNECTION_LIMIT_DEFAULTS.maxConnectionsPerClient,
    },
    schedule: {
      maxQueuedPerCaller: e.SCHEDULE_MAX_QUEUED_PER_CALLER ?? tuning.maxQueuedPerCaller,
      idleTtlMs: e.SCHEDULE_IDLE_TTL_MS ?? tuning.idleTtlMs,
      feedbackTolerance: e.SCHEDULE_FEEDBACK_TOLERANCE ?? tuning.feedbackTolerance,
      sendToleranceMs: e.SCHEDULE_SEND_TOLERANCE_MS,
      learnWindowPhase: e.SCHEDULE_LEARN_WINDOW_PHASE === '1',
      prefetchMinRatePerSecond: e.SCHEDULE_PREFETCH_MIN_RATE ?? tuning.prefetchMinRatePerSecond,
      fallback: {
        maxWaitMs: e.SCHEDULE_FALLBACK_MAX_WAIT_MS ?? tuning.fallback.maxWaitMs,
        transitionGuardMs: e.SCHEDULE_TRANSITION_GUARD_MS ?? tuning.fallback.transitionGuardMs,
        probeIntervalMs: e.SCHEDULE_PROBE_INTERVAL_MS ?? tuning.fallback.probeIntervalMs,
      },
    },
    tracing: tracingFromEnv(e),
    tracingVariables: {
      endpoint: e.OTEL_EXPORTER_OTLP_ENDPOINT,
      tracesEndpoint: e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
      headersSet: e.OTEL_EXPORTER_OTLP_HEADERS !== undefined,
      tracesHeadersSet: e.OTEL_EXPORTER_OTLP_TRACES_HEADERS !== undefined,
    },
  };
  const sources: Record<string, SettingSource> = {};
  for (const name of SETTINGS_ENV_NAMES) sources[name] = e[name] === undefined ? 'default' : 'env';
  if (flags.config !== undefined) sources['--config'] = sources.GATEWAY_CONFIG = 'flag';
  if (flags.watch === true) sources.CONFIG_WATCH = 'flag';
  return { ok: true, settings: deepFreeze(settings), sources: Object.freeze(sources) };
}

export interface EffectiveSetting {
  /** The environment variable (or flag) that sets it. */
  name: string;
  value: string;
  source: SettingSource;
}

/** The Redis URL without its password: `redis://:***@host:6379/0` (kept here for the CLI's imports). */
export { redactRedisUrl };

/** Every setting with the value in force and where it came from, in the schema's order; no secret. */
export function effectiveSettings(
  settings: GatewaySettings,
  sources: Readonly<Record<string, SettingSource>>,
): EffectiveSetting[] {
  const s = settings;
  const values: Record<SettingsEnvName, string> = {
    // Source `flag`: `--config` named it, over any GATEWAY_CONFIG.
    GATEWAY_CONFIG: s.configPath ?? '(none: start runs the embedded default)',
    HOST: s.host ?? "the policy's listen.host",
    PORT: s.port === undefined ? "the policy's listen.port" : String(s.port),
    ADMIN_PORT: s.adminPort === undefined ? "the policy's listen.adminPort" : String(s.adminPort),
    LOG_LEVEL: s.logLevel,
    REDIS_URL: redisSummary(s.redis),
    ...redisBlockValues(s.redis),
    REDIS_COMMAND_TIMEOUT_MS: `${s.redisCommandTimeoutMs} ms`,
    REDIS_CONNECT_TIMEOUT_MS: `${s.redisConnectTimeoutMs} ms`,
    GATEWAY_REPLICAS: String(s.expectedReplicas),
    GATEWAY_SINGLE_REPLICA: s.singleReplica ? 'on (one replica without Redis on purpose)' : 'off',
    AUDIT_LOG: s.audit.kind === 'stdout' ? 'stdout' : s.audit.path,
    CONFIG_WATCH: s.watch ? 'on' : 'off',
    GATEWAY_WARM_UP_CONNECTIONS: String(s.warmUpConnections),
    GATEWAY_MAX_CONNECTIONS: String(s.connectionLimits.maxConnections),
    GATEWAY_MAX_CONNECTIONS_PER_CLIENT: String(s.connectionLimits.maxConnectionsPerClient),
    SCHEDULE_MAX_QUEUED_PER_CALLER: String(s.schedule.maxQueuedPerCaller),
    SCHEDULE_IDLE_TTL_MS: `${s.schedule.idleTtlMs} ms`,
    SCHEDULE_FEEDBACK_TOLERANCE: `${s.schedule.feedbackTolerance} slots`,
    SCHEDULE_SEND_TOLERANCE_MS:
      s.schedule.sendToleranceMs === undefined
        ? "half the send budget of each account's safety"
        : `${s.schedule.sendToleranceMs} ms`,
    SCHEDULE_FALLBACK_MAX_WAIT_MS: `${s.schedule.fallback.maxWaitMs} ms`,
    SCHEDULE_TRANSITION_GUARD_MS: `${s.schedule.fallback.transitionGuardMs} ms`,
    SCHEDULE_PROBE_INTERVAL_MS: `${s.schedule.fallback.probeIntervalMs} ms`,
    SCHEDULE_LEARN_WINDOW_PHASE: s.schedule.learnWindowPhase === true ? 'on' : 'off',
    SCHEDULE_PREFETCH_MIN_RATE:
      s.schedule.prefetchMinRatePerSecond === 0 ? 'off' : `from ${s.schedule.prefetchMinRatePerSecond} requests/s`,
    ...tracingValues(s),
  };
  return SETTINGS_ENV_NAMES.map((name) => ({
    name: name === 'CONFIG_WATCH' && sources.CONFIG_WATCH === 'flag' ? '--watch' : name,
    value: values[name],
    source: sources[name] ?? 'default',
  }));
}

/** The tracing variables as `check-config` lists them: whether tracing is on and where to; header values never. */
function tracingValues(s: GatewaySettings): Record<Extract<SettingsEnvName, `OTEL_${string}`>, string> {
  const t = s.tracing;
  const v = s.tracingVariables;
  const endpoint = (url: string | undefined) => (url === undefined ? '(none)' : displayUrl(url));
  const hidden = (set: boolean) => (set ? '*** (set; read by the exporter, never shown)' : '(none)');
  return {
    OTEL_SDK_DISABLED: t.enabled || t.why !== 'sdk-disabled' ? 'false' : 'true',
    OTEL_TRACES_EXPORTER: describeTracing(t),
    OTEL_EXPORTER_OTLP_ENDPOINT: endpoint(v.endpoint),
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: endpoint(v.tracesEndpoint),
    OTEL_EXPORTER_OTLP_HEADERS: hidden(v.headersSet),
    OTEL_EXPORTER_OTLP_TRACES_HEADERS: hidden(v.tracesHeadersSet),
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
    OTEL_SERVICE_NAME: t.enabled ? t.serviceName : '(tracing off)',
    OTEL_TRACES_SAMPLER: t.enabled ? t.sampler.kind : '(tracing off)',
    OTEL_TRACES_SAMPLER_ARG: t.enabled && t.sampler.ratio !== undefined ? String(t.sampler.ratio) : '(none)',
  };
}

function redisSummary(topology: RedisTopology | undefined): string {
  if (topology === undefined) return '(none: the schedule and the ledger run in memory)';
  return topology.kind === 'single' ? redactRedisUrl(topology.url) : `(unset: ${describeRedisTopology(topology)})`;
}

/** The rest of the Redis block as `check-config` lists it: passwords as `***`, never their value. */
function redisBlockValues(
  topology: RedisTopology | undefined,
): Record<(typeof REDIS_TOPOLOGY_ENV_NAMES)[number], string> {
  const t = topology;
  const sentinel = t?.kind === 'sentinel' ? t : undefined;
  const nodes = t?.kind === 'cluster' ? t : undefined;
  const secret = (value: string | undefined) => (value === undefined ? '(none)' : '***');
  const list = (addresses: readonly { host: string; port: number }[] | undefined) =>
    addresses === undefined ? '(none)' : addresses.map((a) => `${a.host}:${a.port}`).join(',');
  const credentials = t !== undefined && t.kind !== 'single' ? t : undefined;
  return {
    REDIS_SENTINELS: list(sentinel?.sentinels),
    REDIS_SENTINEL_MASTER: sentinel?.masterName ?? '(none)',
    REDIS_SENTINEL_PASSWORD: secret(sentinel?.sentinelPassword),
    REDIS_CLUSTER_NODES: list(nodes?.nodes),
    REDIS_USERNAME: credentials?.username ?? (credentials ? 'default' : '(none)'),
    REDIS_PASSWORD: secret(credentials?.password),
    REDIS_TLS: t?.tls === undefined ? 'off' : 'on',
    REDIS_TLS_CA_FILE: t?.tls?.caFile ?? "(none: Node's default trust store)",
    REDIS_TLS_CERT_FILE: t?.tls?.certFile ?? '(none)',
    REDIS_TLS_KEY_FILE: t?.tls?.keyFile ?? '(none)',
  };
}
