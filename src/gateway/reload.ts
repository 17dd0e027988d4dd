/**
 * Hot reload, the pure parts: what a reload answers, and which changes of a new policy cannot
 * apply to a running gateway. The swap itself is the composition root's.
 */
import type { ConfigProblem, Policy } from './policy';

export type ReloadResult = { ok: true } | { ok: false; errors: ConfigProblem[] };

/** Built once at start: the listeners and the upstream connection pool. */
const RESTART_ONLY: ReadonlyArray<readonly [string, (policy: Policy) => unknown]> = [
  ['listen.host', (p) => p.listen.host],
  ['listen.port', (p) => p.listen.port],
  ['listen.adminPort', (p) => p.listen.adminPort],
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
