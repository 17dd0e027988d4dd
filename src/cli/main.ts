/**
 * `npm start`: the gateway. With `--config <file>` it runs that policy; with none it runs the
 * embedded default in front of the built-in sandbox. The only module that reads env and exits.
 */
import fs from 'node:fs';
import { parseAuditSetting } from '../gateway/audit';
import { CLI_WARM_UP_CONNECTIONS, startGateway } from '../gateway/compose';
import { CONFIG_WATCH_DEFAULTS, watchConfigFiles } from '../gateway/config-watch';
import { createLogger } from '../gateway/observability/logger';
import { createMetrics } from '../gateway/observability/metrics';
import { formatProblem } from '../gateway/policy';
import { policyFileSource, type PolicySource } from '../gateway/policy-source';
import type { Policy } from '../gateway/policy/types';
import { DEMO_KEYS, startSandbox } from '../sandbox';
import { parseStartArgs } from './args';
import {
  EMBEDDED_CALLERS,
  EMBEDDED_TOKEN_LIFETIME_SEC,
  embeddedPolicy,
  loadDevSigningKey,
  mintEmbeddedToken,
} from './embedded';

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

Without --config, runs the embedded default: the built-in Strettch sandbox as upstream,
a dev signing key in .strettch-gateway/, and the callers demo-reader and demo-operator.

Environment: PORT (public port), ADMIN_PORT (metrics and probes), HOST, LOG_LEVEL,
REDIS_URL (the shared rate schedule; without it the schedule runs in memory),
GATEWAY_REPLICAS (replicas sharing the schedule; default 1),
REDIS_COMMAND_TIMEOUT_MS (a slower Redis reply counts as an outage; default 150),
AUDIT_LOG (stdout, the default, or a file path: one record per write, appended, created 0600),
CONFIG_WATCH=1 (as --watch: reload when the policy or a file it references changes),
plus whatever your policy references ({env: NAME}).

SIGHUP reloads the policy and the key files it references; an invalid one is refused (each
problem logged with its path) and the running one kept.`;

const readFile = (file: string) => fs.readFileSync(file, 'utf8');

async function main(argv: readonly string[], names: StartNames): Promise<void> {
  const helpText = startHelp(names);
  const parsed = parseStartArgs(argv, process.env);
  const audit = parseAuditSetting(process.env.AUDIT_LOG);
  if (!parsed.ok || !audit.ok) {
    const problems = [...(parsed.ok ? [] : parsed.problems), ...(audit.ok ? [] : [audit.problem])];
    for (const problem of problems) process.stderr.write(`strettch-gateway: ${problem}\n`);
    process.stderr.write(`${helpText}\n`);
    process.exit(2);
  }
  const { settings } = parsed;
  if (settings.help) {
    process.stdout.write(`${helpText}\n`);
    return;
  }
  const logger = createLogger({ level: settings.logLevel });
  const closers: Array<() => Promise<void>> = [];
  let policy: Policy;
  let banner: string[] = [];
  let source: PolicySource | undefined;

  if (settings.configPath) {
    source = policyFileSource(settings.configPath, { readEnv: (name) => process.env[name], readFile });
    const loaded = source.load();
    if (!loaded.ok) {
      for (const problem of loaded.errors) process.stderr.write(`${formatProblem(problem, settings.configPath)}\n`);
      process.stderr.write(
        `strettch-gateway: ${loaded.errors.length} problem(s) in ${settings.configPath}; not starting\n`,
      );
      process.exit(1);
    }
    policy = loaded.policy;
  } else {
    const devKey = loadDevSigningKey(process.cwd());
    const sandbox = await startSandbox({ port: 0, logger: logger.child({ component: 'sandbox' }, { level: 'warn' }) });
    closers.push(() => sandbox.close());
    policy = embeddedPolicy(sandbox.apiBaseUrl, devKey, DEMO_KEYS[0]!.key, readFile);
    const token = mintEmbeddedToken(devKey, 'demo-reader', EMBEDDED_TOKEN_LIFETIME_SEC, Date.now);
    banner = [
      `upstream: the built-in sandbox at ${sandbox.apiBaseUrl} (embedded default; run with --config <file> for a real policy)`,
      `callers: ${Object.keys(EMBEDDED_CALLERS).join(', ')}`,
      'try it (a demo-reader token valid for 1 hour):',
      `  curl -s -H "Authorization: Bearer ${token}" {url}/api/v1/computes`,
      `mint another token:  ${names.mintExample}`,
    ];
  }

  const gateway = await startGateway({
    policy,
    logger,
    metrics: createMetrics({ collectProcessMetrics: true }),
    host: settings.host,
    port: settings.port,
    adminPort: settings.adminPort,
    schedule: {
      redisUrl: settings.redisUrl,
      expectedReplicas: settings.expectedReplicas,
      commandTimeoutMs: settings.redisCommandTimeoutMs,
    },
    audit: audit.setting,
    loadPolicy: source?.load,
    warmUpConnections: CLI_WARM_UP_CONNECTIONS,
  });
  closers.unshift(() => gateway.close());
  process.stdout.write(`strettch-gateway listening on ${gateway.url} (metrics and probes on ${gateway.adminUrl})\n`);
  for (const line of banner) process.stdout.write(`${line.replace('{url}', gateway.url)}\n`);

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
  if (settings.watch && source) {
    const watcher = watchConfigFiles({
      ...CONFIG_WATCH_DEFAULTS,
      files: source.files,
      onChange: () => reload('file change'),
    });
    closers.unshift(async () => watcher.close());
  } else if (settings.watch) logger.warn('--watch: the embedded default has no policy file to watch');
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

/** Runs the gateway until SIGTERM/SIGINT; shared by `npm start` and `strettch-gateway start`. */
export function runStart(argv: readonly string[], names: StartNames): void {
  main(argv, names).catch((error: unknown) => {
    process.stderr.write(`strettch-gateway: cannot start: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}

if (require.main === module) runStart(process.argv.slice(2), NPM_START_NAMES);
