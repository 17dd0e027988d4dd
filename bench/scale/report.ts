/**
 * The scale report (pure): per point the figures a reader compares — added latency over the
 * baseline, the gateways' RSS growth and CPU per decision, Redis's memory and commands — the targets
 * of issue #15 judged from them, and the table printed at the end of a run.
 */
import type { MachineInfo } from '../machine';
import type { GridPoint, ScaleOptions } from './options';
import type { ExpiryWatch, PointMeasurement } from './run';

const MB = 1024 * 1024;

export interface PointFigures extends GridPoint {
  activeAccounts: number;
  requests: number;
  /** Answered 200 through the gateways, of `requests`. */
  ok: number;
  /** Everything else through the gateways: statuses and client errors, by name. */
  failures: Record<string, number>;
  baselineP50Ms: number;
  baselineP99Ms: number;
  p50Ms: number;
  p99Ms: number;
  /** Through the gateways minus straight to the sandbox, same rate, same run. */
  addedP50Ms: number;
  addedP99Ms: number;
  /** Per replica, after the phase (MB). */
  rssEndMb: number[];
  /** Per replica, after the phase minus at its start (MB). */
  rssGrowthMb: number[];
  /** Gateway CPU seconds over the phase, the three replicas summed. */
  gatewayCpuSec: number;
  /** Requests answered through the gateways per gateway CPU second: decisions per second per busy core. */
  decisionsPerCoreSec: number;
  /** MEMORY USAGE of the schedule keys after the phase: what the accounts' state costs Redis. */
  scheduleStateBytes: number;
  /** Redis `used_memory` after the phase minus its empty value (script cache, clients, Lua heap included). */
  redisMemoryOverEmptyBytes: number;
  /** What Redis executed (`total_commands_processed`: a script's own calls count too) per second of load. */
  redisCommandsPerSec: number;
  /** What the gateways sent (their own count: one EVALSHA per slot) per second of load; null: not exported. */
  redisRoundTripsPerSec: number | null;
  redisKeys: number;
  keysWithoutExpiry: number;
  /** The load generator's own lag (p99): large means the figures were taken on a starved machine. */
  loadSendLagP99Ms: number;
}

const round = (x: number, digits = 2) => (Number.isFinite(x) ? Number(x.toFixed(digits)) : x);

export function pointFigures(m: PointMeasurement): PointFigures {
  const failures: Record<string, number> = {};
  for (const [status, n] of Object.entries(m.gateway.statuses)) if (status !== '200') failures[status] = n;
  for (const [reason, n] of Object.entries(m.gateway.clientErrors)) failures[reason] = n;
  const gatewayCpuSec = m.replicas.reduce((sum, r) => sum + (r.cpuEndSec - r.cpuStartSec), 0);
  const ok = m.gateway.statuses['200'] ?? 0;
  return {
    callers: m.callers,
    accounts: m.accounts,
    activeAccounts: m.activeAccounts,
    requests: m.gateway.count,
    ok,
    failures,
    baselineP50Ms: round(m.baseline.latency.p50Ms),
    baselineP99Ms: round(m.baseline.latency.p99Ms),
    p50Ms: round(m.gateway.latency.p50Ms),
    p99Ms: round(m.gateway.latency.p99Ms),
    addedP50Ms: round(m.gateway.latency.p50Ms - m.baseline.latency.p50Ms),
    addedP99Ms: round(m.gateway.latency.p99Ms - m.baseline.latency.p99Ms),
    rssEndMb: m.replicas.map((r) => round(r.rssEndBytes / MB, 1)),
    rssGrowthMb: m.replicas.map((r) => round((r.rssEndBytes - r.rssStartBytes) / MB, 1)),
    gatewayCpuSec: round(gatewayCpuSec, 3),
    decisionsPerCoreSec: gatewayCpuSec > 0 ? Math.round(ok / gatewayCpuSec) : Number.NaN,
    scheduleStateBytes: m.keys.scheduleBytes,
    redisMemoryOverEmptyBytes: m.usedMemoryBytes - m.emptyUsedMemoryBytes,
    redisCommandsPerSec: m.loadElapsedMs > 0 ? Math.round((m.commandsProcessed * 1000) / m.loadElapsedMs) : Number.NaN,
    redisRoundTripsPerSec: roundTripsPerSec(m),
    redisKeys: m.keys.total,
    keysWithoutExpiry: m.keys.withoutExpiryCount,
    loadSendLagP99Ms: round(m.gateway.sendLagP99Ms),
  };
}

function roundTripsPerSec(m: PointMeasurement): number | null {
  if (m.loadElapsedMs <= 0 || m.replicas.some((r) => r.redisRoundTrips === null)) return null;
  return Math.round((m.replicas.reduce((sum, r) => sum + r.redisRoundTrips!, 0) * 1000) / m.loadElapsedMs);
}

export interface TargetCheck {
  name: string;
  /** null: the grid lacks the points to judge it. */
  met: boolean | null;
  detail: string;
}

/** p50 may grow this much from the fewest to the most callers (same accounts). */
export const P50_GROWTH_LIMIT = 0.1;
export const RSS_GROWTH_LIMIT_MB = 50;

/** The targets, each judged at every accounts value that has both the fewest and the most callers. */
export function checkTargets(figures: readonly PointFigures[], expiry: ExpiryWatch | null): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const fewest = Math.min(...figures.map((f) => f.callers));
  const most = Math.max(...figures.map((f) => f.callers));
  const pairs = [...new Set(figures.map((f) => f.accounts))].flatMap((accounts) => {
    const from = figures.find((f) => f.accounts === accounts && f.callers === fewest);
    const to = figures.find((f) => f.accounts === accounts && f.callers === most);
    return from && to && from !== to ? [{ accounts, from, to }] : [];
  });
  for (const { accounts, from, to } of pairs) {
    const growth = to.p50Ms / from.p50Ms - 1;
    checks.push({
      name: `p50 within ${P50_GROWTH_LIMIT * 100} % from ${fewest} to ${most} callers (${accounts} accounts)`,
      met: growth <= P50_GROWTH_LIMIT,
      detail: `${from.p50Ms} → ${to.p50Ms} ms (${growth >= 0 ? '+' : ''}${(growth * 100).toFixed(1)} %)`,
    });
    const rssGrowthMb = Math.max(...to.rssEndMb) - Math.max(...from.rssEndMb);
    checks.push({
      name: `RSS growth < ${RSS_GROWTH_LIMIT_MB} MB from ${fewest} to ${most} callers (${accounts} accounts)`,
      met: rssGrowthMb < RSS_GROWTH_LIMIT_MB,
      detail: `largest replica ${Math.max(...from.rssEndMb)} → ${Math.max(...to.rssEndMb)} MB (${rssGrowthMb >= 0 ? '+' : ''}${rssGrowthMb.toFixed(1)} MB)`,
    });
  }
  if (pairs.length === 0)
    checks.push({ name: 'p50 and RSS from the fewest to the most callers', met: null, detail: 'one callers value' });
  const lastSample = expiry?.samples[expiry.samples.length - 1];
  checks.push(
    expiry && lastSample
      ? {
          name: "an idle account's Redis memory returns to ~0",
          // ~0: no schedule key left, so their bytes are 0; used_memory is shown, not judged (its script cache and Lua
          // heap are the server's, not an account's).
          met: expiry.scheduleKeysGoneAtSec !== null,
          detail:
            expiry.scheduleKeysGoneAtSec === null
              ? `${lastSample.scheduleKeys} schedule keys (${formatBytes(lastSample.scheduleBytes)}) left after ${lastSample.atSec} s`
              : `${expiry.point.callers} callers × ${expiry.point.accounts} accounts: state ${formatBytes(expiry.samples[0]!.scheduleBytes)} → 0, every schedule key gone ${expiry.scheduleKeysGoneAtSec} s after the load (idle TTL ${expiry.idleTtlMs / 1000} s); used_memory ${formatBytes(lastSample.usedMemoryOverEmptyBytes)} over empty`,
        }
      : { name: "an idle account's Redis memory returns to ~0", met: null, detail: 'not watched' },
  );
  return checks;
}

export interface ScaleReport {
  bench: 'scale';
  startedAt: string;
  machine: MachineInfo;
  settings: {
    grid: ScaleOptions['grid'];
    callers: readonly number[];
    accounts: readonly number[];
    phaseSec: number;
    ratePerSec: number;
    idleTtlSec: number | null;
  };
  points: PointFigures[];
  expiry: ExpiryWatch | null;
  targets: TargetCheck[];
  /** Every measurement as taken, for a figure not derived above. */
  raw: PointMeasurement[];
}

export function buildReport(
  run: { points: PointMeasurement[]; expiry: ExpiryWatch | null },
  options: Readonly<ScaleOptions>,
  machine: MachineInfo,
  startedAt: Date,
): ScaleReport {
  const points = run.points.map(pointFigures);
  return {
    bench: 'scale',
    startedAt: startedAt.toISOString(),
    machine,
    settings: {
      grid: options.grid,
      callers: options.callers,
      accounts: options.accounts,
      phaseSec: options.phaseSec,
      ratePerSec: options.ratePerSec,
      idleTtlSec: options.idleTtlSec ?? null,
    },
    points,
    expiry: run.expiry,
    targets: checkTargets(points, run.expiry),
    raw: run.points,
  };
}

export function formatBytes(bytes: number): string {
  if (Math.abs(bytes) < 1024) return `${bytes} B`;
  if (Math.abs(bytes) < MB) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / MB).toFixed(2)} MB`;
}

const COLUMNS: ReadonlyArray<[string, (f: PointFigures) => string]> = [
  ['callers', (f) => String(f.callers)],
  [
    'accounts',
    (f) => (f.activeAccounts < f.accounts ? `${f.accounts} (${f.activeAccounts} busy)` : String(f.accounts)),
  ],
  ['ok', (f) => `${f.ok}/${f.requests}`],
  ['p50 ms', (f) => `${f.p50Ms} (+${f.addedP50Ms})`],
  ['p99 ms', (f) => `${f.p99Ms} (+${f.addedP99Ms})`],
  [
    'RSS MB (growth)',
    (f) => f.rssEndMb.map((mb, i) => `${mb} (${f.rssGrowthMb[i]! >= 0 ? '+' : ''}${f.rssGrowthMb[i]})`).join(' '),
  ],
  ['decisions/core-s', (f) => String(f.decisionsPerCoreSec)],
  ['state (used_memory+)', (f) => `${formatBytes(f.scheduleStateBytes)} (${formatBytes(f.redisMemoryOverEmptyBytes)})`],
  ['Redis cmd/s (sent)', (f) => `${f.redisCommandsPerSec} (${f.redisRoundTripsPerSec ?? '?'})`],
  ['keys (no TTL)', (f) => `${f.redisKeys} (${f.keysWithoutExpiry})`],
];

/** The table as text: fixed-width columns, then the targets. */
export function formatReport(report: ScaleReport): string {
  const rows = [COLUMNS.map(([title]) => title), ...report.points.map((f) => COLUMNS.map(([, cell]) => cell(f)))];
  const widths = COLUMNS.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const lines = rows.map((r) =>
    r
      .map((cell, c) => cell.padEnd(widths[c]!))
      .join('  ')
      .trimEnd(),
  );
  const { settings } = report;
  return [
    `bench:scale — ${settings.ratePerSec} requests/s, ${settings.phaseSec} s per phase (through the gateways, long enough to reach every caller), 3 gateways, one redis-server; latency through the gateways (+ added over the sandbox alone)`,
    '',
    ...lines,
    '',
    ...report.targets.map((t) => `${t.met === null ? 'n/a ' : t.met ? 'met ' : 'MISS'}  ${t.name}: ${t.detail}`),
  ].join('\n');
}
