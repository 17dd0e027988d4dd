/**
 * Hot reload: what a reload answers, which changes of a new policy cannot apply to a running
 * gateway, and the reload itself (load, check, swap or refuse, one at a time). What a policy
 * builds is the composition root's (`apply`).
 */
import type { Logger } from './observability/logger';
import type { GatewayMetrics } from './observability/metrics';
import { formatProblem, type ConfigProblem, type Policy } from './policy';
import type { PolicyResult } from './policy/types';

export type ReloadResult = { ok: true } | { ok: false; errors: ConfigProblem[] };

/** Built once at start: the listeners and the upstream connection pool. */
const RESTART_ONLY: ReadonlyArray<readonly [string, (policy: Policy) => unknown]> = [
  ['listen.host', (p) => p.listen.host],
  ['listen.port', (p) => p.listen.port],
  ['listen.adminHost', (p) => p.listen.adminHost],
  ['listen.adminPort', (p) => p.listen.adminPort],
  // Whether the listener speaks TLS and asks for client certificates is fixed when it is created;
  // the certificate, key, CA bundle and minimum version are swapped by a reload.
  ['listen.tls', (p) => p.listen.tls !== undefined],
  ['listen.tls.clientCa', (p) => p.listen.tls?.clientCaFile !== undefined],
  ['upstream.baseUrl', (p) => p.upstream.baseUrl],
  ['upstream.timeoutMs', (p) => p.upstream.timeoutMs],
  ['upstream.connectTimeoutMs', (p) => p.upstream.connectTimeoutMs],
  ['upstream.maxSockets', (p) => p.upstream.maxSockets],
];

/** Paths of the settings that differ and apply only after a restart, in a stable order. */
export function restartOnlyChanges(running: Policy, next: Policy): string[] {
  return RESTART_ONLY.filter(([, read]) => read(running) !== read(next)).map(([path]) => path);
}

/**
 * What the protective limits are built from. Equal keys: the running limiters (and their counts of
 * bad tokens and quota use) are kept across the reload.
 */
export function protectionSettingsKey(policy: Policy): string {
  const quotas = [
    ...new Set(
      Object.values(policy.callers).flatMap((c) => (c.requestsPerMinute === undefined ? [] : [c.requestsPerMinute])),
    ),
  ];
  return JSON.stringify([policy.protection.badTokens ?? null, quotas.sort((a, b) => a - b)]);
}

export interface ReloaderOptions {
  /** Reads the policy (and the key files it references) again. Absent: every reload is refused. */
  loadPolicy?: () => PolicyResult | Promise<PolicyResult>;
  /** The policy in force. */
  running: () => Policy;
  /** Builds everything from the new policy and puts it in force; throws when it cannot. */
  apply: (next: Policy) => void;
  logger: Logger;
  metrics: Pick<GatewayMetrics, 'configReloads' | 'configLoadedTimestamp'>;
  now: () => number;
}

/**
 * Hot reload: load the policy again, then swap it in or refuse it (each problem logged with its
 * path) and keep the running one. Calls made while one runs wait their turn, one after the other.
 */
export function createReloader(options: ReloaderOptions): () => Promise<ReloadResult> {
  const { logger, metrics } = options;
  const refuse = (errors: ConfigProblem[]): ReloadResult => {
    metrics.configReloads.inc({ result: 'error' });
    const source = options.running().sourcePath;
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
  const because = (error: unknown) => (error instanceof Error ? error.message : String(error));

  const reloadNow = async (): Promise<ReloadResult> => {
    if (!options.loadPolicy) return refuse([{ path: '(file)', message: 'this gateway has no policy file to reload' }]);
    let loaded: PolicyResult;
    try {
      loaded = await options.loadPolicy();
    } catch (error) {
      return refuse([{ path: '(file)', message: `cannot load the policy (${because(error)})` }]);
    }
    if (!loaded.ok) return refuse(loaded.errors);
    const restartOnly = restartOnlyChanges(options.running(), loaded.policy);
    if (restartOnly.length > 0)
      logger.warn(
        { changed: restartOnly },
        `config reload: ${restartOnly.join(', ')} changed; applies only after a restart`,
      );
    try {
      options.apply(loaded.policy);
    } catch (error) {
      return refuse([{ path: '(root)', message: `cannot apply the policy (${because(error)})` }]);
    }
    metrics.configReloads.inc({ result: 'ok' });
    metrics.configLoadedTimestamp.set(options.now() / 1000);
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
  return () => {
    reloading = reloading.then(reloadNow, reloadNow);
    return reloading;
  };
}
