/** The saved report (JSON) and the printed tables, pure. */
import type { MachineInfo } from '../machine';
import type { ClassFigures, Percentiles } from './figures';
import type { GatewayCounters } from './gateway-probes';
import type { LearnedGrid } from './learned-grid';
import type { FleetOptions } from './options';
import type { Contention, FleetRun, FleetRuns, PhaseResult, ScenarioResult } from './results';
import { SCENARIO_TRAITS } from './scenarios';
import { PROVIDER_LIMITS, REPLICAS } from './stack';
import { spread, summarizeRuns, type CombinedCheck, type ScenarioSummary, type Spread } from './summary';

export interface FleetReport {
  generatedAt: string;
  machine: MachineInfo;
  options: Omit<FleetOptions, 'help' | 'keepLogs'>;
  setup: {
    provider: { profile: 'launch'; limitsPerSecond: typeof PROVIDER_LIMITS; latencyMs: number; jitterMs: number };
    gateways: { replicas: number; safety: number | 'auto'; maxWaitMs: number };
    baseline: string;
    callers: FleetRuns['callers'];
  };
  /** Every run, every figure. */
  runs: FleetRun[];
  /** Per scenario: headline medians with their spread over the runs, targets judged over every run. */
  summary: ScenarioSummary[];
  /** Per scenario: every judged target passed in every run. */
  verdict: { ours: Record<string, boolean>; baseline: Record<string, boolean> };
  /** The chart shows this run (1-based). */
  chartedRun: number;
}

export function buildReport(
  result: FleetRuns,
  options: Readonly<FleetOptions>,
  machine: MachineInfo,
  now: Date,
): FleetReport {
  const { help: _help, keepLogs: _keepLogs, ...rest } = options;
  const summary = summarizeRuns(result.runs);
  return {
    generatedAt: now.toISOString(),
    machine,
    options: rest,
    setup: {
      provider: { profile: 'launch', limitsPerSecond: PROVIDER_LIMITS, latencyMs: 20, jitterMs: 10 },
      gateways: { replicas: REPLICAS, safety: options.safety, maxWaitMs: options.maxWaitMs },
      baseline: `RateLimiterRedis points ${PROVIDER_LIMITS.read}/${PROVIDER_LIMITS.write} per 1 s per (account, class), ${REPLICAS} replicas, insurance RateLimiterMemory at points ÷ ${REPLICAS}`,
      callers: result.callers,
    },
    runs: result.runs,
    summary,
    verdict: {
      ours: Object.fromEntries(summary.map((s) => [s.name, s.ours.passed])),
      baseline: Object.fromEntries(summary.map((s) => [s.name, s.baseline.passed])),
    },
    chartedRun: 1,
  };
}

const known = (x: number | null | undefined): x is number => x !== null && x !== undefined && Number.isFinite(x);
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const num = (digits: number) => (x: number) => x.toFixed(digits);
/** Counts: whole numbers as they are (a median of an even number of runs may fall between two). */
const count = (x: number) => (Number.isInteger(x) ? String(x) : x.toFixed(1));
const maybe = (x: number | null | undefined, format: (x: number) => string) => (known(x) ? format(x) : 'n/a');

/** `median`, or `median (min–max)` when the runs differ; `missing` when no run knows the figure. */
export function formatSpread(s: Spread | null, format: (x: number) => string, missing = 'n/a'): string {
  if (s === null) return missing;
  return s.min === s.max ? format(s.median) : `${format(s.median)} (${format(s.min)}–${format(s.max)})`;
}

type Figure = number | null | undefined;

interface Row {
  label: string;
  /** A pair is shown as "read / write" (or the two figures the label names). */
  value: (p: PhaseResult) => Figure | readonly [Figure, Figure];
  format: (x: number) => string;
  /** Shown for a figure no run knows (e.g. the baseline has no queue). */
  missing?: string;
}

const perClass = (cell: (c: ClassFigures) => Figure) => (p: PhaseResult) =>
  [cell(p.figures.read), cell(p.figures.write)] as const;
/** `--learn-window-phase` (ours only): per class; nothing when the learner was off. */
const learnt = (cell: (g: LearnedGrid) => Figure) => (p: PhaseResult) =>
  p.learnedGrid ? ([cell(p.learnedGrid.read), cell(p.learnedGrid.write)] as const) : undefined;
const wait = (which: 'p50' | 'p99') => (q: Percentiles | null) => q?.[which] ?? null;
const shareBound = (pick: (ratios: number[]) => number) => (c: ClassFigures) => pick(c.shares.map((s) => s.ratio));

const ROWS: Row[] = [
  { label: 'upstream 429s (read / write)', value: perClass((c) => c.upstream429), format: count },
  { label: 'max in 1 s, sandbox fixed windows', value: perClass((c) => c.maxInFixedWindow), format: count },
  { label: 'max in 1 s, any 1000 ms (sliding)', value: perClass((c) => c.maxInSlidingWindow), format: count },
  { label: 'admitted per s', value: perClass((c) => c.admittedPerSecond), format: num(2) },
  { label: 'utilization of 30/s and 5/s', value: perClass((c) => c.utilization), format: pct },
  { label: 'admitted per s, Redis down (+3 s)', value: perClass((c) => c.outageAdmittedPerSecond), format: num(2) },
  { label: 'queue wait p50 ms', value: perClass((c) => wait('p50')(c.queueWaitMs)), format: num(0), missing: '–' },
  { label: 'queue wait p99 ms', value: perClass((c) => wait('p99')(c.queueWaitMs)), format: num(0), missing: '–' },
  { label: 'share ÷ weighted fair share, lowest', value: perClass(shareBound((r) => Math.min(...r))), format: num(2) },
  { label: 'share ÷ weighted fair share, highest', value: perClass(shareBound((r) => Math.max(...r))), format: num(2) },
  { label: 'Jain, equal weights', value: perClass((c) => c.jain), format: num(3) },
  {
    label: 'limiter round trips per decision',
    value: (p) => p.figures.redis.scheduleRoundTripsPerDecision,
    format: num(3),
  },
  {
    label: 'ledger round trips per create',
    value: (p) => p.figures.redis.ledgerRoundTripsPerCreate,
    format: num(3),
    missing: '–',
  },
  { label: 'Redis round trips per decision, all', value: (p) => p.figures.redis.roundTripsPerDecision, format: num(3) },
  { label: 'Redis round trips per admitted, all', value: (p) => p.figures.redis.roundTripsPerAdmitted, format: num(3) },
  {
    label: 'Redis commands executed per decision',
    value: (p) => p.figures.redis.executed / p.figures.redis.decisions,
    format: num(1),
  },
  {
    label: 'limits switch: adapted after, ms',
    value: (p) => p.limitsSwitch?.adaptation.adaptationMs,
    format: count,
  },
  {
    label: 'limits switch: upstream 429s after it',
    value: (p) => p.limitsSwitch?.adaptation.upstream429,
    format: count,
  },
  {
    label: 'limits switch: most in any 1000 ms after it',
    value: (p) => p.limitsSwitch?.adaptation.maxInAnySecond,
    format: count,
  },
  {
    label: 'limits switch: admitted per s after adapting',
    value: (p) => p.limitsSwitch?.adaptation.admittedPerSecondAfter,
    format: num(2),
  },
  {
    label: 'limits switch: replicas logged / exporting it',
    value: (p) =>
      p.limitsSwitch?.adoption
        ? ([p.limitsSwitch.adoption.replicasLogged, p.limitsSwitch.adoption.replicasExportingNewLimit] as const)
        : undefined,
    format: count,
    missing: '–',
  },
  {
    label: 'learnt phase: fixed grid everywhere after, s',
    value: learnt((g) => (g.settledAfterMs === null ? null : g.settledAfterMs / 1000)),
    format: num(1),
    missing: '–',
  },
  {
    label: 'learnt phase: utilization from the next second',
    value: learnt((g) => g.utilizationAfter),
    format: pct,
    missing: '–',
  },
  { label: 'own 429s (gateway / baseline proxy)', value: (p) => p.figures.client.gateway429, format: count },
  {
    label: 'own 5xx / unanswered',
    value: (p) => [p.figures.client.gateway5xx, p.figures.client.transportErrors] as const,
    format: count,
  },
  { label: 'duplicate creates', value: (p) => p.figures.duplicateCreates, format: count },
  { label: 'load average (1 min) at the end', value: (p) => p.contention.loadAverage1m, format: num(2) },
  {
    label: 'event-loop delay max ms, bench / load',
    value: (p) => [p.contention.benchLoopDelayMaxMs, p.contention.loadLoopDelayMaxMs] as const,
    format: count,
  },
  {
    label: "the sandbox's event-loop delay p99 / max ms",
    value: (p) => [p.contention.sandboxLoopDelayP99Ms, p.contention.sandboxLoopDelayMaxMs] as const,
    format: count,
    missing: '–',
  },
];

/** One cell over several runs: "median (min–max)", per class for a pair; null when no run knows it. */
function rowCell(row: Row, phases: readonly PhaseResult[]): string | null {
  const values = phases.map(row.value);
  const column = (pick: (v: Figure | readonly [Figure, Figure]) => Figure) =>
    spread(values.map((v) => pick(v) ?? null));
  const pair = Array.isArray(values[0]);
  const spreads = pair
    ? [column((v) => (v as readonly [Figure, Figure])[0]), column((v) => (v as readonly [Figure, Figure])[1])]
    : [column((v) => v as Figure)];
  if (spreads.every((s) => s === null)) return null;
  return spreads.map((s) => formatSpread(s, row.format, row.missing)).join(' / ');
}

/** Above this, timers on the machine are late by more than the schedule's jitter margin allows. */
const CONTENDED_LOOP_DELAY_MS = 30;

/** The latest any process's timers ran during the phase. */
function worstLoopDelayMs(c: Contention): number {
  return Math.max(c.benchLoopDelayMaxMs, c.loadLoopDelayMaxMs, c.sandboxLoopDelayMaxMs ?? 0);
}

function contended(p: PhaseResult): boolean {
  const c = p.contention;
  return worstLoopDelayMs(c) > CONTENDED_LOOP_DELAY_MS || c.loadAverage1m > c.cpuCount;
}

function scenarioTitle(results: readonly ScenarioResult[], options: Readonly<FleetOptions>): string {
  const first = results[0]!;
  const traits = SCENARIO_TRAITS[first.name];
  if (traits.window === 'fixed') return `${traits.title}, phase ${results.map((s) => s.windowPhaseMs).join(', ')} ms`;
  if (traits.failover) return `${traits.title} (at ${options.outageAtSec} s, --redis ${options.redis})`;
  if (traits.killsRedis) return `${traits.title} (down ${options.outageSec} s from ${options.outageAtSec} s)`;
  if (traits.switchesLimits) return `${traits.title} (at ${options.switchAtSec} s)`;
  return traits.title;
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

function gatewaysLine(g: GatewayCounters): string {
  const parts = [
    `${g.dispatchCount} released, dispatch late mean ${maybe(g.dispatchLateMeanMs, num(1))} ms, ${g.dispatchLateOver20Ms} later than 20 ms`,
  ];
  if (g.lateSends) parts.push(`late sends re-reserved ${JSON.stringify(g.lateSends)}`);
  parts.push(`schedule 429s ${JSON.stringify(g.scheduleRejections)}`);
  parts.push(
    g.redisCommands
      ? `Redis commands sent ${JSON.stringify(g.redisCommands.byOp)}`
      : 'Redis commands sent: n/a (no strettch_gateway_redis_commands_total)',
  );
  if (g.missedScrapes > 0) parts.push(`${g.missedScrapes} of ${g.scrapes + g.missedScrapes} scrapes missed`);
  return parts.join('; ');
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

function restartsLine(p: PhaseResult): string | undefined {
  if (!p.restarts) return undefined;
  const skipped = REPLICAS - p.restarts.length;
  return p.restarts
    .map(
      (r) =>
        `#${r.replica} SIGTERM at ${seconds(r.stoppedAtMs)}, gone +${r.exitedAtMs - r.stoppedAtMs} ms, listening +${r.listeningAtMs - r.exitedAtMs} ms${r.sharedAtMs === undefined ? '' : `, shared ${r.sharedAtMs === null ? 'not seen' : `+${r.sharedAtMs - r.listeningAtMs} ms`}`}`,
    )
    .concat(skipped > 0 ? [`${skipped} not restarted: the phase ended first`] : [])
    .join('; ');
}

function limitsSwitchLine(p: PhaseResult): string | undefined {
  const r = p.limitsSwitch;
  if (!r) return undefined;
  const a = r.adaptation;
  const parts = [
    `sandbox on ${r.profile} ${JSON.stringify(r.limitsPerSecond)} at ${seconds(r.switchAtMs)}`,
    `${a.arrivals} arrivals after it, ${a.upstream429} answered 429, ${a.overLimitWindows} windows above ${a.limitPerSecond}`,
    `adapted after ${a.adaptationMs} ms${a.settled ? '' : ' (not settled by the end)'}`,
    `then ${maybe(a.admittedPerSecondAfter, num(2))}/s admitted`,
  ];
  if (r.adoption)
    parts.push(
      `adoption logged ${r.adoption.logLines.map((l) => `by gateway ${l.gateway} +${l.afterSwitchMs ?? '?'} ms (${l.reason})`).join(', ') || 'by none'}, ` +
        `counted ${r.adoption.adoptionsCounted}, limits exported ${r.adoption.exported.map((e) => (e ? JSON.stringify(e) : 'n/a')).join(' ')}`,
    );
  return parts.join('; ');
}

function checkLine(c: CombinedCheck): string {
  const verdict = c.pass === null ? 'n/a ' : c.pass ? 'PASS' : 'FAIL';
  const runs = c.values.length > 1 && c.judgedRuns > 0 ? ` [${c.passedRuns}/${c.judgedRuns} runs]` : '';
  // Identical values in every run are shown once.
  const values = new Set(c.values).size === 1 ? c.values[0]! : c.values.map((v, i) => `run ${i + 1}: ${v}`).join(' | ');
  return `  ${verdict}  ${c.target}${runs}: ${values}`;
}

export function formatReport(report: FleetReport, options: Readonly<FleetOptions>): string {
  const out: string[] = [];
  const callers = report.setup.callers;
  out.push(
    `bench:fleet — ${REPLICAS} gateways (safety ${options.safety}, maxWaitMs ${options.maxWaitMs}) + ${options.redis === 'single' ? 'redis-server' : `Redis ${options.redis}`}, sandbox launch profile 30 reads/s + 5 writes/s, ` +
      `20 ms + 0–10 ms latency; ${options.workers} caller loops (own process) over ${callers.length} callers (weights ${callers.map((c) => c.weight).join(', ')}); ` +
      `${report.runs.length} run${report.runs.length === 1 ? '' : 's'}, ${options.durationSec} s per phase, judged from the first request ` +
      `(utilization, shares and queue waits leave out the first ${options.warmupSec} s). ` +
      `Cells: ${report.runs.length > 1 ? 'median over the runs (min–max when they differ), ' : ''}read / write.`,
  );
  for (const summary of report.summary) {
    const results = report.runs.flatMap((r) => r.scenarios.filter((s) => s.name === summary.name));
    out.push('', `## ${scenarioTitle(results, options)}`);
    const rows = ROWS.map(
      (row) =>
        [
          row.label,
          rowCell(
            row,
            results.map((s) => s.ours),
          ),
          rowCell(
            row,
            results.map((s) => s.baseline),
          ),
        ] as const,
    )
      .filter(([, ours, baseline]) => ours !== null || baseline !== null)
      .map(([label, ours, baseline]) => [label, ours ?? '–', baseline ?? '–']);
    out.push(table(['', 'ours', 'baseline (RateLimiterRedis)'], rows));
    results.forEach((s, i) => {
      const run = report.runs.length > 1 ? `run ${i + 1}, ` : '';
      const shareCells = (p: PhaseResult) =>
        p.figures.read.shares
          .map(
            (r, k) =>
              `${r.callerId.replace('fleet-caller-', 'c')}(w${r.weight}) ${maybe(r.ratio, num(2))}/${maybe(p.figures.write.shares[k]!.ratio, num(2))}`,
          )
          .join('  ');
      out.push(`${run}shares, ours (read/write):     ${shareCells(s.ours)}`);
      out.push(`${run}shares, baseline (read/write): ${shareCells(s.baseline)}`);
      if (s.ours.gateways) out.push(`${run}gateways: ${gatewaysLine(s.ours.gateways)}`);
      const o = s.ours.outage;
      if (o) {
        const list = (xs: Array<number | null>) => xs.map((x) => (x === null ? '–' : `${x}`)).join(', ');
        out.push(
          o.kind === 'failover'
            ? `${run}failover: Redis master killed at ${seconds(o.killedAtMs)}, replica promoted at ${seconds(o.restartedAtMs)}; fallback seen after ${list(o.fallbackAfterKillMs)} ms; shared again ${list(o.sharedAfterRestartMs)} ms after the promotion (per gateway, /readyz polled every 100 ms)`
            : `${run}outage: Redis killed at ${seconds(o.killedAtMs)}, restarted at ${seconds(o.restartedAtMs)}; fallback seen after ${list(o.fallbackAfterKillMs)} ms; shared again after ${list(o.sharedAfterRestartMs)} ms (per gateway, /readyz polled every 100 ms)`,
        );
      }
      for (const [who, p] of [
        ['ours', s.ours],
        ['baseline', s.baseline],
      ] as const) {
        const restarts = restartsLine(p);
        if (restarts) out.push(`${run}restarts, ${who}: ${restarts}`);
        const limitsSwitch = limitsSwitchLine(p);
        if (limitsSwitch) out.push(`${run}limits switch, ${who}: ${limitsSwitch}`);
      }
      if (contended(s.ours)) {
        const c = s.ours.contention;
        out.push(
          `${run}WARNING: the machine was contended during ours (load ${c.loadAverage1m} on ${c.cpuCount} cores, timers up to ${worstLoopDelayMs(c)} ms late): ` +
            `delays beyond the safety margin reach the provider as bursts${SCENARIO_TRAITS[s.name].hogsCpu ? ' (this scenario starves the CPU on purpose)' : '; rerun on a quiet machine before reading 429s as a schedule fault'}.`,
        );
      }
    });
    for (const [who, phase] of [
      ['ours', summary.ours],
      ['baseline', summary.baseline],
    ] as const) {
      out.push(`targets, ${who}${report.runs.length > 1 ? ' (a target passes only if it passes in every run)' : ''}:`);
      for (const c of phase.targets) out.push(checkLine(c));
    }
  }
  return out.join('\n');
}
