/**
 * `npm start`: the gateway. With `--config <file>` it runs that policy; with none it runs the
 * embedded default in front of the built-in sandbox. The only module that reads env and exits.
 */
import fs from 'node:fs';
import { startGateway, type GatewayOptions, type RunningGateway } from '../gateway/compose';
import { CONFIG_WATCH_DEFAULTS, watchConfigFiles } from '../gateway/config-watch';
import { createLogger, type Logger } from '../gateway/observability/logger';
import { activeTraceFields } from '../gateway/observability/tracing';
import { createMetrics } from '../gateway/observability/metrics';
import { formatProblem } from '../gateway/policy';
import { policyFileSource, type PolicySource } from '../gateway/policy-source';
import type { Policy, PolicyResult } from '../gateway/policy/types';
import type { GatewaySettings } from '../gateway/settings';
import { sharedStateProblems } from '../gateway/shared-state-check';
import { DEMO_KEYS, startSandbox } from '../sandbox';
import { parseStartArgs } from './start-args';
import type { DevSigningKey } from '../gateway/auth';
import {
  EMBEDDED_CALLERS,
  EMBEDDED_TOKEN_LIFETIME_SEC,
  devKeyDirectory,
  embeddedPolicy,
  loadDevSigningKey,
  mintEmbeddedToken,
} from './embedded';
import { packageVersion } from './version';

/** How the command is invoked, for its help and banner: `npm start`, or the `strettch-gateway` bin. */
export interface StartNames {
  usage: string;
  mintExample: string;
}

export const NPM_START_NAMES: StartNames = {
  usage: 'npm start [-- --config <policy.yaml>]',
  mintExample: 'npm run token -- demo-operator',
};

export const startHelp = (names: StartNames) => `Usage: ${names.usage}

Without --config (or GATEWAY_CONFIG), runs the embedded default: the built-in Strettch sandbox
as upstream, a dev signing key in .strettch-gateway/, and the callers demo-reader and demo-operator.

Environment: GATEWAY_CONFIG (the policy file when --config is not given; the image's default
command reads it), PORT (public port), ADMIN_PORT (metrics and probes), HOST, LOG_LEVEL,
REDIS_URL, or REDIS_SENTINELS + REDIS_SENTINEL_MASTER, or REDIS_CLUSTER_NODES (the shared rate schedule
and ledger; without one they run in memory; docs/configuration.md lists their credentials and TLS settings),
GATEWAY_REPLICAS (replicas sharing the schedule; default 1; above 1 needs Redis),
GATEWAY_SINGLE_REPLICA=1 (no Redis on purpose: ownership and quotas kept in this process),
REDIS_COMMAND_TIMEOUT_MS (a slower Redis reply counts as an outage; default 150),
AUDIT_LOG (stdout, the default, or a file path: one record per write, appended, created 0600),
CONFIG_WATCH=1 (as --watch: reload when the policy or a file it references changes),
REDIS_CONNECT_TIMEOUT_MS (default 1000), GATEWAY_WARM_UP_CONNECTIONS (default 4),
GATEWAY_MAX_CONNECTIONS and GATEWAY_MAX_CONNECTIONS_PER_CLIENT (open connections on the public
port, over all clients and from one address; defaults 4096 and 1024; more are answered 503),
the schedule's tuning (SCHEDULE_*; check-config lists every setting with its value),
plus whatever your policy references ({env: NAME}).

SIGHUP reloads the policy and the key files it references; an invalid one is refused (each
problem logged with its path) and the running one kept.`;

const readFile = (file: string) => fs.readFileSync(file, 'utf8');

/** What the gateway runs: the policy, how to read it again, what closes with it, the banner's lines. */
interface Prepared {
  policy: Policy;
  source?: PolicySource;
  closers: Array<() => Promise<void>>;
  banner: string[];
}

/**
 * The policy file, or exits 1 with every problem in it. Named by GATEWAY_CONFIG (an image's default
 * command) and unreadable, the message says so: a policy not mounted where the variable says.
 */
function preparePolicyFile(configPath: string, namedBy: '--config' | 'GATEWAY_CONFIG'): Prepared {
  const source = policyFileSource(configPath, { readEnv: (name) => process.env[name], readFile });
  const loaded = source.load();
  if (!loaded.ok) {
    for (const problem of loaded.errors) process.stderr.write(`${formatProblem(problem, configPath)}\n`);
    if (namedBy === 'GATEWAY_CONFIG' && loaded.errors.some((problem) => problem.path === '(file)'))
      process.stderr.write(
        `strettch-gateway: GATEWAY_CONFIG names ${configPath}, which cannot be read: mount the policy there, ` +
          'or unset GATEWAY_CONFIG to run the embedded default\n',
      );
    process.stderr.write(`strettch-gateway: ${loaded.errors.length} problem(s) in ${configPath}; not starting\n`);
    process.exit(1);
  }
  return { policy: loaded.policy, source, closers: [], banner: [] };
}

/**
 * The dev signing key under the working directory, created on first start. Where that directory
 * cannot be written (an image's read-only root filesystem), a clear refusal instead of a stack.
 */
function embeddedSigningKey(): DevSigningKey {
  const cwd = process.cwd();
  try {
    return loadDevSigningKey(cwd);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException | null)?.code ?? 'unwritable';
    throw new Error(
      `the embedded default keeps its dev signing key in ${devKeyDirectory(cwd)}, which cannot be written ` +
        `(${code}): make it writable (a volume, with a read-only root filesystem), or run a policy ` +
        'with --config <file> or GATEWAY_CONFIG=<file>',
      { cause: error },
    );
  }
}

/** The embedded default: the built-in sandbox as upstream, a dev key, and a token to try it with. */
async function prepareEmbedded(logger: Logger, names: StartNames): Promise<Prepared> {
  const devKey = embeddedSigningKey();
  const sandbox = await startSandbox({ port: 0, logger: logger.child({ component: 'sandbox' }, { level: 'warn' }) });
  const policy = embeddedPolicy(sandbox.apiBaseUrl, devKey, DEMO_KEYS[0]!.key, readFile);
  const token = mintEmbeddedToken(devKey, 'demo-reader', EMBEDDED_TOKEN_LIFETIME_SEC, Date.now);
  const banner = [
    `upstream: the built-in sandbox at ${sandbox.apiBaseUrl} (embedded default; run with --config <file> for a real policy)`,
    `callers: ${Object.keys(EMBEDDED_CALLERS).join(', ')}`,
    'try it (a demo-reader token valid for 1 hour):',
    `  curl -s -H "Authorization: Bearer ${token}" {url}/api/v1/computes`,
    `mint another token:  ${names.mintExample}`,
  ];
  return { policy, closers: [() => sandbox.close()], banner };
}

/** The gateway's options from its settings (environment and flags) and the policy. */
export function gatewayOptionsFor(settings: GatewaySettings, prepared: Prepared, logger: Logger): GatewayOptions {
  return {
    policy: prepared.policy,
    logger,
    metrics: createMetrics({ collectProcessMetrics: true }),
    host: settings.host,
    port: settings.port,
    adminPort: settings.adminPort,
    schedule: {
      redis: settings.redis,
      expectedReplicas: settings.expectedReplicas,
      commandTimeoutMs: settings.redisCommandTimeoutMs,
      connectTimeoutMs: settings.redisConnectTimeoutMs,
      tuning: settings.schedule,
    },
    audit: settings.audit,
    loadPolicy: prepared.source ? reloadChecked(prepared.source, settings) : undefined,
    warmUpConnections: settings.warmUpConnections,
    server: { connectionLimits: settings.connectionLimits },
    tracing: settings.tracing,
  };
}

/** A reload is refused, as a start would be, when the new policy needs Redis this process lacks. */
function reloadChecked(source: PolicySource, settings: GatewaySettings): () => PolicyResult {
  return () => {
    const loaded = source.load();
    if (!loaded.ok) return loaded;
    const problems = sharedStateProblems(settings, loaded.policy);
    return problems.length > 0 ? { ok: false, errors: problems } : loaded;
  };
}

/** Exits 1 listing every reason these settings cannot run this policy (`shared-state-check.ts`). */
function refuseUnsharedState(settings: GatewaySettings, policy: Policy): void {
  const problems = sharedStateProblems(settings, policy);
  if (problems.length === 0) return;
  for (const problem of problems) process.stderr.write(`strettch-gateway: ${problem.path}: ${problem.message}\n`);
  process.stderr.write(`strettch-gateway: ${problems.length} problem(s) without shared state; not starting\n`);
  process.exit(1);
}

/** SIGHUP (and `--watch`) reload; SIGTERM and SIGINT drain, close in order, and exit. */
function handleSignals(gateway: RunningGateway, prepared: Prepared, settings: GatewaySettings, logger: Logger): void {
  const closers = [() => gateway.close(), ...prepared.closers];
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'draining in-flight requests, then stopping');
    (async () => {
      for (const close of closers) await close();
      logger.flush();
      process.exit(0);
    })().catch((error: unknown) => {
      logger.error({ err: error }, 'error while stopping');
      process.exit(1);
    });
  };
  // The gateway logs the outcome of a reload itself (each refused problem with its path).
  const reload = (trigger: string) => {
    logger.info({ trigger }, 'reloading the configuration');
    return gateway.reload();
  };
  process.on('SIGHUP', () => void reload('SIGHUP'));
  if (settings.watch && prepared.source) {
    const watcher = watchConfigFiles({
      ...CONFIG_WATCH_DEFAULTS,
      files: prepared.source.files,
      onChange: () => reload('file change'),
    });
    closers.unshift(async () => watcher.close());
  } else if (settings.watch) logger.warn('--watch: the embedded default has no policy file to watch');
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

async function main(argv: readonly string[], names: StartNames): Promise<void> {
  const helpText = startHelp(names);
  const parsed = parseStartArgs(argv, process.env);
  if (!parsed.ok) {
    for (const problem of parsed.problems) process.stderr.write(`strettch-gateway: ${problem}\n`);
    process.stderr.write(`${helpText}\n`);
    process.exit(2);
  }
  if (parsed.settings.help || parsed.settings.version) {
    process.stdout.write(`${parsed.settings.help ? helpText : packageVersion()}\n`);
    return;
  }
  const { settings } = parsed.settings;
  // With tracing on, every line logged on a request's behalf names its trace (no mixin, no cost, when off).
  const logger = createLogger({
    level: settings.logLevel,
    ...(settings.tracing.enabled ? { mixin: activeTraceFields } : {}),
  });
  const namedBy = parsed.settings.sources['--config'] === 'flag' ? '--config' : 'GATEWAY_CONFIG';
  const prepared = settings.configPath
    ? preparePolicyFile(settings.configPath, namedBy)
    : await prepareEmbedded(logger, names);
  refuseUnsharedState(settings, prepared.policy);
  const gateway = await startGateway(gatewayOptionsFor(settings, prepared, logger));
  process.stdout.write(`strettch-gateway listening on ${gateway.url} (metrics and probes on ${gateway.adminUrl})\n`);
  for (const line of prepared.banner) process.stdout.write(`${line.replace('{url}', gateway.url)}\n`);
  handleSignals(gateway, prepared, settings, logger);
}

/** Runs the gateway until SIGTERM/SIGINT; shared by `npm start` and `strettch-gateway start`. */
export function runStart(argv: readonly string[], names: StartNames): void {
  main(argv, names).catch((error: unknown) => {
    process.stderr.write(`strettch-gateway: cannot start: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}

if (require.main === module) runStart(process.argv.slice(2), NPM_START_NAMES);
