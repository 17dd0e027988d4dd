/**
 * `npm start`: the gateway. With `--config <file>` it runs that policy; with none it runs the
 * embedded default in front of the built-in sandbox. The only module that reads env and exits.
 */
import fs from 'node:fs';
import { startGateway } from '../gateway/compose';
import { createLogger } from '../gateway/observability/logger';
import { createMetrics } from '../gateway/observability/metrics';
import { formatProblem, loadPolicyFile } from '../gateway/policy';
import type { Policy } from '../gateway/policy/types';
import { DEMO_KEYS, startSandbox } from '../sandbox';
import { parseStartArgs } from './args';
import { EMBEDDED_CALLERS, EMBEDDED_TOKEN_LIFETIME_SEC, embeddedPolicy, loadDevSigningKey, mintEmbeddedToken } from './embedded';

const HELP = `Usage: npm start [-- --config <policy.yaml>]

Without --config, runs the embedded default: the built-in Strettch sandbox as upstream,
a dev signing key in .strettch-gateway/, and the callers demo-reader and demo-operator.

Environment: PORT (public port), ADMIN_PORT (metrics and probes), HOST, LOG_LEVEL,
REDIS_URL (the shared rate schedule; without it the schedule runs in memory),
GATEWAY_REPLICAS (replicas sharing the schedule; default 1),
plus whatever your policy references ({env: NAME}).`;

const readFile = (file: string) => fs.readFileSync(file, 'utf8');

async function main(): Promise<void> {
  const parsed = parseStartArgs(process.argv.slice(2), process.env);
  if (!parsed.ok) {
    for (const problem of parsed.problems) process.stderr.write(`strettch-gateway: ${problem}\n`);
    process.stderr.write(`${HELP}\n`);
    process.exit(2);
  }
  const { settings } = parsed;
  if (settings.help) {
    process.stdout.write(`${HELP}\n`);
    return;
  }
  const logger = createLogger({ level: settings.logLevel });
  const closers: Array<() => Promise<void>> = [];
  let policy: Policy;
  let banner: string[] = [];

  if (settings.configPath) {
    const loaded = loadPolicyFile(settings.configPath, { readEnv: (name) => process.env[name], readFile });
    if (!loaded.ok) {
      for (const problem of loaded.errors) process.stderr.write(`${formatProblem(problem, settings.configPath)}\n`);
      process.stderr.write(`strettch-gateway: ${loaded.errors.length} problem(s) in ${settings.configPath}; not starting\n`);
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
      'mint another token:  npm run token -- demo-operator',
    ];
  }

  const gateway = await startGateway({ policy, logger, metrics: createMetrics({ collectProcessMetrics: true }), host: settings.host,
    port: settings.port,
    adminPort: settings.adminPort,
    schedule: { redisUrl: settings.redisUrl, expectedReplicas: settings.expectedReplicas },
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
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((error: unknown) => {
  process.stderr.write(`strettch-gateway: cannot start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
