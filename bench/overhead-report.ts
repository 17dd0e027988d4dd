/** Turns a run into the saved JSON document and the printed table. Pure: machine facts are passed in. */
import { median, medianBy } from './latency-stats';
import type { OverheadOptions } from './overhead-options';
import {
  BENCH_PATH,
  REDIS_TARGETS,
  REQUEST_TIMEOUT_MS,
  TARGET_NAMES,
  type LoadMeasurements,
  type OverheadRun,
  type PhaseMeasurement,
  type TargetName,
} from './overhead-run';

export interface MachineInfo {
  node: string;
  platform: string;
  arch: string;
  cpuCount: number;
  cpuModel: string;
  totalMemoryGiB: number;
  /** 1, 5 and 15 minute load averages when the run started. */
  loadAverage: number[];
}

/** One target against another over the same rounds: each figure the median over rounds of that round's figure. */
export interface Comparison {
  p50Latency: number;
  p99Latency: number;
  throughput: number;
  /** CPU of the forwarding thread alone per request: what the proxy's own work costs (NaN against `direct`). */
  proxyCpuPerRequest: number;
  /** CPU of all server threads (sandbox + proxy) per request. */
  serverCpuPerRequest: number;
  /** Latency added, in ms: `of` − `against`, mean and p50. */
  meanDifferenceMs: number;
  p50DifferenceMs: number;
}

/** The comparisons reported at every concurrency: what each gateway adds over the passthrough, and more. */
export const COMPARISONS = [
  { name: 'gatewayToPassthrough', of: 'gateway', against: 'passthrough', label: 'gateway / passthrough' },
  {
    name: 'redisGatewayToPassthrough',
    of: 'gateway-redis',
    against: 'passthrough',
    label: 'gateway (Redis) / passthrough',
  },
  {
    name: 'tracedGatewayToPassthrough',
    of: 'gateway-traced',
    against: 'passthrough',
    label: 'gateway traced / passthrough',
  },
  {
    name: 'unprefetchedRedisGatewayToPassthrough',
    of: 'gateway-redis-no-prefetch',
    against: 'passthrough',
    label: 'gateway (Redis, no prefetch) / passthrough',
  },
  {
    name: 'redisGatewayToUnprefetched',
    of: 'gateway-redis',
    against: 'gateway-redis-no-prefetch',
    label: 'gateway (Redis) / gateway (Redis, no prefetch)',
  },
  { name: 'redisGatewayToGateway', of: 'gateway-redis', against: 'gateway', label: 'gateway (Redis) / gateway' },
  {
    name: 'redisRoundTripToPassthrough',
    of: 'passthrough-redis',
    against: 'passthrough',
    label: 'passthrough + Redis round trip / passthrough',
  },
  {
    name: 'redisGatewayToRoundTrip',
    of: 'gateway-redis-no-prefetch',
    against: 'passthrough-redis',
    label: 'gateway (Redis, no prefetch) / passthrough + Redis round trip',
  },
  { name: 'tracedGatewayToGateway', of: 'gateway-traced', against: 'gateway', label: 'gateway traced / gateway' },
  { name: 'passthroughToDirect', of: 'passthrough', against: 'direct', label: 'passthrough / direct' },
] as const satisfies ReadonlyArray<{ name: string; of: TargetName; against: TargetName; label: string }>;

export type ComparisonName = (typeof COMPARISONS)[number]['name'];
export type Comparisons = Record<ComparisonName, Comparison>;

export interface Goal {
  name: string;
  /** The load it is judged at. */
  concurrency: number;
  comparison: ComparisonName;
  figure: 'p50Latency' | 'throughput' | 'proxyCpuPerRequest' | 'meanDifferenceMs';
  operator: '<=' | '>=';
  limit: number;
  value: number;
  pass: boolean;
}

/** Every target at one concurrency. */
export interface LoadReport {
  concurrency: number;
  /** Per target: the median round (by requests/s) and every round. */
  targets: Record<TargetName, { median: PhaseMeasurement; rounds: PhaseMeasurement[] }>;
  /** Median over rounds of the per-round comparison. */
  comparisons: Comparisons;
  perRound: Array<{ round: number; comparisons: Comparisons }>;
}

export interface OverheadReport {
  benchmark: 'overhead';
  date: string;
  machine: MachineInfo;
  parameters: {
    request: string;
    concurrencies: number[];
    initialWarmupSec: number;
    warmupSec: number;
    durationSec: number;
    /** Slices per target per round, taken in turn across the targets (absent in runs before they were). */
    slices?: number;
    rounds: number;
    maxRequestsPerPhase: number;
    requestTimeoutMs: number;
    tokenAlgorithm: string;
    gatewayLogger: string;
    topology: string;
    summary: string;
  };
  /** One per concurrency, ascending. */
  loads: LoadReport[];
  goals: Goal[];
}

/**
 * Issue #15: at one in flight (what most callers see) the gateway adds at most 0.3 ms over the passthrough
 * (mean); loaded (32 in flight), p50 ≤ 1.2 ×, throughput ≥ 0.85 × and the proxy thread's CPU ≤ 1.3 × the
 * passthrough's. Judged for both schedules, memory and Redis.
 */
export const GOALS = {
  maxMeanAddedMsAtOne: 0.3,
  maxP50LatencyRatio: 1.2,
  minThroughputRatio: 0.85,
  maxProxyCpuRatio: 1.3,
} as const;

export const TOPOLOGY =
  'load client on the main thread; sandbox and the discarding OTLP receiver on one worker thread; passthrough and gateway on another (one of them loaded at a time); the traced gateway alone on a third; the Redis-schedule gateways (with and without prefetch) on a fourth with the passthrough that adds one no-op Redis script call per request (one of them loaded at a time), their redis-server a child process';

export function buildReport(
  run: OverheadRun,
  options: Readonly<OverheadOptions>,
  machine: MachineInfo,
): OverheadReport {
  const loads = run.loads.map(loadReport);
  return {
    benchmark: 'overhead',
    date: run.startedAt.toISOString(),
    machine,
    parameters: {
      request: `GET ${BENCH_PATH}`,
      concurrencies: [...options.concurrencies],
      initialWarmupSec: options.initialWarmupSec,
      warmupSec: options.warmupSec,
      durationSec: options.durationSec,
      slices: options.slices,
      rounds: options.rounds,
      maxRequestsPerPhase: options.maxRequestsPerPhase,
      requestTimeoutMs: REQUEST_TIMEOUT_MS,
      tokenAlgorithm: options.algorithm,
      gatewayLogger:
        options.gatewayLog === 'silent'
          ? 'createLogger({ level: "silent" })'
          : 'createLogger({ level: "info" }) into a null stream',
      topology: TOPOLOGY,
      summary:
        "per target the median round by requests/s; each comparison the median over rounds of that round's ratio or difference",
    },
    loads,
    goals: judgeGoals(loads),
  };
}

function loadReport({ concurrency, measurements }: LoadMeasurements): LoadReport {
  const targets = Object.fromEntries(
    TARGET_NAMES.map((name) => [
      name,
      { median: medianBy(measurements[name], (m) => m.requestsPerSecond), rounds: measurements[name] },
    ]),
  ) as LoadReport['targets'];
  // Paired within a round (its phases run back to back), so load elsewhere on the machine
  // that comes and goes between rounds cancels out better than across per-target medians.
  const perRound = measurements.gateway.map((_, round) => ({
    round,
    comparisons: Object.fromEntries(
      COMPARISONS.map((c) => [c.name, compare(measurements[c.of][round]!, measurements[c.against][round]!, c.against)]),
    ) as Comparisons,
  }));
  const comparisons = Object.fromEntries(
    COMPARISONS.map((c) => [c.name, medianComparison(perRound.map((r) => r.comparisons[c.name]))]),
  ) as Comparisons;
  return { concurrency, targets, comparisons, perRound };
}

/** One-in-flight goals at concurrency 1; loaded goals at the highest concurrency above 1. */
export function judgeGoals(loads: readonly LoadReport[]): Goal[] {
  const goals: Goal[] = [];
  const schedules = [
    ['gatewayToPassthrough', 'gateway (memory schedule)'],
    ['redisGatewayToPassthrough', 'gateway (Redis schedule)'],
  ] as const;
  const one = loads.find((l) => l.concurrency === 1);
  if (one)
    for (const [comparison, who] of schedules)
      goals.push(
        goal(
          `1 in flight: ${who} mean ≤ passthrough + ${GOALS.maxMeanAddedMsAtOne} ms`,
          one,
          comparison,
          'meanDifferenceMs',
          '<=',
          GOALS.maxMeanAddedMsAtOne,
        ),
      );
  const loaded = loads.filter((l) => l.concurrency > 1).at(-1);
  if (loaded) {
    const n = loaded.concurrency;
    for (const [comparison, who] of schedules)
      goals.push(
        goal(
          `${n} in flight: ${who} p50 ≤ ${GOALS.maxP50LatencyRatio} × passthrough`,
          loaded,
          comparison,
          'p50Latency',
          '<=',
          GOALS.maxP50LatencyRatio,
        ),
        goal(
          `${n} in flight: ${who} throughput ≥ ${GOALS.minThroughputRatio} × passthrough`,
          loaded,
          comparison,
          'throughput',
          '>=',
          GOALS.minThroughputRatio,
        ),
        goal(
          `${n} in flight: ${who} proxy CPU/request ≤ ${GOALS.maxProxyCpuRatio} × passthrough`,
          loaded,
          comparison,
          'proxyCpuPerRequest',
          '<=',
          GOALS.maxProxyCpuRatio,
        ),
      );
  }
  return goals;
}

function goal(
  name: string,
  load: LoadReport,
  comparison: ComparisonName,
  figure: Goal['figure'],
  operator: Goal['operator'],
  limit: number,
): Goal {
  const value = load.comparisons[comparison][figure];
  // NaN (no figure: the OS does not report thread CPU) passes neither way.
  const pass = operator === '<=' ? value <= limit : value >= limit;
  return { name, concurrency: load.concurrency, comparison, figure, operator, limit, value, pass };
}

const serverCpu = (m: PhaseMeasurement) => m.cpuUsPerRequest.upstream + m.cpuUsPerRequest.front;

/** `a` against `b` in one round. */
export function compare(a: PhaseMeasurement, b: PhaseMeasurement, against: TargetName): Comparison {
  return {
    p50Latency: a.p50Ms / b.p50Ms,
    p99Latency: a.p99Ms / b.p99Ms,
    throughput: a.requestsPerSecond / b.requestsPerSecond,
    // `direct` has no proxy thread: its `front` figure is an idle thread's.
    proxyCpuPerRequest: against === 'direct' ? Number.NaN : a.cpuUsPerRequest.front / b.cpuUsPerRequest.front,
    serverCpuPerRequest: serverCpu(a) / serverCpu(b),
    meanDifferenceMs: a.meanMs - b.meanMs,
    p50DifferenceMs: a.p50Ms - b.p50Ms,
  };
}

function medianComparison(rounds: readonly Comparison[]): Comparison {
  const of = (figure: keyof Comparison) => median(rounds.map((r) => r[figure]));
  return {
    p50Latency: of('p50Latency'),
    p99Latency: of('p99Latency'),
    throughput: of('throughput'),
    proxyCpuPerRequest: of('proxyCpuPerRequest'),
    serverCpuPerRequest: of('serverCpuPerRequest'),
    meanDifferenceMs: of('meanDifferenceMs'),
    p50DifferenceMs: of('p50DifferenceMs'),
  };
}

const fixed = (value: number, digits: number) => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows
    .map((row) =>
      row
        .map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!)))
        .join('  '),
    )
    .join('\n');
}

export function formatReport(report: OverheadReport): string {
  const { machine: m, parameters: p } = report;
  const header = [
    `overhead bench — ${report.date}`,
    `node ${m.node} on ${m.platform}/${m.arch}, ${m.cpuCount} × ${m.cpuModel}, ${m.totalMemoryGiB} GiB, load average ${m.loadAverage.map((l) => l.toFixed(2)).join(' ')}`,
    `${p.request} at ${p.concurrencies.join(' and ')} in flight; ${p.initialWarmupSec} s warm-up per target and load, then ${p.rounds} rounds × ${p.durationSec} s per target in ${p.slices ?? 1} slice(s) taken in turn, each after ${p.warmupSec} s warm-up, order rotated`,
    `gateway: auth (${p.tokenAlgorithm} token) + scope + proxy, schedule in memory; gateway-redis: the same, schedule in Redis; gateway-redis-no-prefetch: the same without slots reserved ahead; passthrough-redis: the passthrough + one no-op Redis script call (the round trip alone); gateway-traced: in memory, tracing on (OTLP/HTTP, every trace sampled); logger ${p.gatewayLogger}`,
    `threads: ${p.topology}`,
    'per target: the median round by req/s; CPU = thread CPU time per request; wait = threads ready but waiting for a core (average)',
  ];
  const sections = report.loads.flatMap((load) => ['', `— ${load.concurrency} in flight —`, '', ...formatLoad(load)]);
  const goals = table([
    ['goal', 'measured', 'result'],
    ...report.goals.map((x) => [x.name, fixed(x.value, 2), x.pass ? 'PASS' : 'FAIL']),
  ]);
  const errors = report.loads.flatMap((load) =>
    TARGET_NAMES.flatMap((name) =>
      load.targets[name].rounds
        .filter((t) => t.errorCount > 0)
        .map(
          (t) =>
            `${name} at ${load.concurrency} in flight, round ${t.round + 1}: ${t.errorCount} errors (${t.errorReasons.join(', ')})`,
        ),
    ),
  );
  return [...header, ...sections, '', goals, ...(errors.length > 0 ? ['', ...errors] : [])].join('\n');
}

function formatLoad(load: LoadReport): string[] {
  const targets = table([
    [
      'target',
      'req/s',
      'mean ms',
      'p50 ms',
      'p99 ms',
      'errors',
      'proxy CPU µs',
      'sandbox CPU µs',
      'client CPU µs',
      'Redis CPU µs',
      'Redis calls',
      'wait',
      'req/s per round',
    ],
    ...TARGET_NAMES.map((name) => {
      const t = load.targets[name].median;
      const wait = t.waitingForCpu.client + t.waitingForCpu.upstream + t.waitingForCpu.front;
      return [
        name,
        fixed(t.requestsPerSecond, 0),
        fixed(t.meanMs, 3),
        fixed(t.p50Ms, 3),
        fixed(t.p99Ms, 2),
        String(t.errorCount),
        name === 'direct' ? '-' : fixed(t.cpuUsPerRequest.front, 0),
        fixed(t.cpuUsPerRequest.upstream, 0),
        fixed(t.cpuUsPerRequest.client, 0),
        REDIS_TARGETS.includes(name) ? fixed(t.redisCpuUsPerRequest, 0) : '-',
        REDIS_TARGETS.includes(name) ? fixed(t.redisCallsPerRequest, 2) : '-',
        fixed(wait, 2),
        load.targets[name].rounds.map((r) => fixed(r.requestsPerSecond, 0)).join(' / '),
      ];
    }),
  ]);
  const comparisons = table([
    [
      'comparison (median over rounds)',
      'p50 ×',
      'p99 ×',
      'throughput ×',
      'proxy CPU ×',
      'server CPU ×',
      'mean +ms',
      'p50 +ms',
      'mean +ms per round',
    ],
    ...COMPARISONS.map((c) => {
      const r = load.comparisons[c.name];
      return [
        c.label,
        fixed(r.p50Latency, 2),
        fixed(r.p99Latency, 2),
        fixed(r.throughput, 2),
        fixed(r.proxyCpuPerRequest, 2),
        fixed(r.serverCpuPerRequest, 2),
        fixed(r.meanDifferenceMs, 3),
        fixed(r.p50DifferenceMs, 3),
        load.perRound.map((round) => fixed(round.comparisons[c.name].meanDifferenceMs, 3)).join(' / '),
      ];
    }),
  ]);
  return [targets, '', comparisons];
}
