/** Turns a run into the saved JSON document and the printed table. Pure: machine facts are passed in. */
import { median, medianBy } from './latency-stats';
import type { OverheadOptions } from './overhead-options';
import {
  BENCH_PATH,
  REQUEST_TIMEOUT_MS,
  TARGET_NAMES,
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

export interface Ratios {
  p50Latency: number;
  p99Latency: number;
  throughput: number;
  /** CPU of all server threads (sandbox + proxy) per request. */
  serverCpuPerRequest: number;
}

export interface GatewayRatios extends Ratios {
  /** CPU of the forwarding thread alone per request: what the gateway's own work costs. */
  proxyCpuPerRequest: number;
}

export interface Goal {
  name: string;
  ratio: 'gatewayToPassthrough.p50Latency' | 'gatewayToPassthrough.throughput';
  comparison: '<=' | '>=';
  limit: number;
  value: number;
  pass: boolean;
}

export interface OverheadReport {
  benchmark: 'overhead';
  date: string;
  machine: MachineInfo;
  parameters: {
    request: string;
    concurrency: number;
    initialWarmupSec: number;
    warmupSec: number;
    durationSec: number;
    rounds: number;
    maxRequestsPerPhase: number;
    requestTimeoutMs: number;
    tokenAlgorithm: string;
    gatewayLogger: string;
    topology: string;
    summary: string;
  };
  /** Per target: the median round (by requests/s) and every round. */
  targets: Record<TargetName, { median: PhaseMeasurement; rounds: PhaseMeasurement[] }>;
  ratios: {
    method: string;
    /** The gateway as shipped: tracing off. */
    gatewayToPassthrough: GatewayRatios;
    passthroughToDirect: Ratios;
    /** The gateway with tracing on, against the same passthrough baseline. */
    tracedGatewayToPassthrough: GatewayRatios;
    /** What turning tracing on costs: the traced gateway against the untraced one. */
    tracedGatewayToGateway: GatewayRatios;
    perRound: Array<{
      round: number;
      gatewayToPassthrough: GatewayRatios;
      passthroughToDirect: Ratios;
      tracedGatewayToPassthrough: GatewayRatios;
      tracedGatewayToGateway: GatewayRatios;
    }>;
  };
  goals: Goal[];
}

export const GOALS = { maxP50LatencyRatio: 1.3, minThroughputRatio: 0.75 } as const;

export const TOPOLOGY =
  'load client on the main thread; sandbox and the discarding OTLP receiver on one worker thread; passthrough and gateway on another (one of them loaded at a time); the traced gateway alone on a third';

export function buildReport(
  run: OverheadRun,
  options: Readonly<OverheadOptions>,
  machine: MachineInfo,
): OverheadReport {
  const targets = Object.fromEntries(
    TARGET_NAMES.map((name) => [
      name,
      { median: medianBy(run.measurements[name], (m) => m.requestsPerSecond), rounds: run.measurements[name] },
    ]),
  ) as OverheadReport['targets'];
  // Paired within a round (its phases run back to back), so load elsewhere on the machine
  // that comes and goes between rounds cancels out better than across per-target medians.
  const perRound = run.measurements.gateway.map((_, round) => {
    const [direct, passthrough, gateway, traced] = TARGET_NAMES.map((name) => run.measurements[name][round]!) as [
      PhaseMeasurement,
      PhaseMeasurement,
      PhaseMeasurement,
      PhaseMeasurement,
    ];
    return {
      round,
      gatewayToPassthrough: gatewayRatios(gateway, passthrough),
      passthroughToDirect: ratios(passthrough, direct),
      tracedGatewayToPassthrough: gatewayRatios(traced, passthrough),
      tracedGatewayToGateway: gatewayRatios(traced, gateway),
    };
  });
  const medianGatewayRatios = (pick: (r: (typeof perRound)[number]) => GatewayRatios): GatewayRatios => ({
    ...medianRatios(perRound.map(pick)),
    proxyCpuPerRequest: median(perRound.map((r) => pick(r).proxyCpuPerRequest)),
  });
  const gatewayToPassthrough = medianGatewayRatios((r) => r.gatewayToPassthrough);
  const passthroughToDirect = medianRatios(perRound.map((r) => r.passthroughToDirect));
  const goals: Goal[] = [
    goal(
      'gateway p50 latency ≤ 1.3 × passthrough',
      'gatewayToPassthrough.p50Latency',
      '<=',
      GOALS.maxP50LatencyRatio,
      gatewayToPassthrough.p50Latency,
    ),
    goal(
      'gateway throughput ≥ 0.75 × passthrough',
      'gatewayToPassthrough.throughput',
      '>=',
      GOALS.minThroughputRatio,
      gatewayToPassthrough.throughput,
    ),
  ];
  return {
    benchmark: 'overhead',
    date: run.startedAt.toISOString(),
    machine,
    parameters: {
      request: `GET ${BENCH_PATH}`,
      concurrency: options.concurrency,
      initialWarmupSec: options.initialWarmupSec,
      warmupSec: options.warmupSec,
      durationSec: options.durationSec,
      rounds: options.rounds,
      maxRequestsPerPhase: options.maxRequestsPerPhase,
      requestTimeoutMs: REQUEST_TIMEOUT_MS,
      tokenAlgorithm: options.algorithm,
      gatewayLogger:
        options.gatewayLog === 'silent'
          ? 'createLogger({ level: "silent" })'
          : 'createLogger({ level: "info" }) into a null stream',
      topology: TOPOLOGY,
      summary: "per target the median round by requests/s; each ratio the median over rounds of that round's ratio",
    },
    targets,
    ratios: {
      method: 'median over rounds of the per-round ratio',
      gatewayToPassthrough,
      passthroughToDirect,
      tracedGatewayToPassthrough: medianGatewayRatios((r) => r.tracedGatewayToPassthrough),
      tracedGatewayToGateway: medianGatewayRatios((r) => r.tracedGatewayToGateway),
      perRound,
    },
    goals,
  };
}

/** `a` against `b`, both proxies: the ratios, and the forwarding thread's CPU per request alone. */
function gatewayRatios(a: PhaseMeasurement, b: PhaseMeasurement): GatewayRatios {
  return { ...ratios(a, b), proxyCpuPerRequest: a.cpuUsPerRequest.front / b.cpuUsPerRequest.front };
}

const serverCpu = (m: PhaseMeasurement) => m.cpuUsPerRequest.upstream + m.cpuUsPerRequest.front;

function ratios(a: PhaseMeasurement, b: PhaseMeasurement): Ratios {
  return {
    p50Latency: a.p50Ms / b.p50Ms,
    p99Latency: a.p99Ms / b.p99Ms,
    throughput: a.requestsPerSecond / b.requestsPerSecond,
    serverCpuPerRequest: serverCpu(a) / serverCpu(b),
  };
}

function medianRatios(rounds: readonly Ratios[]): Ratios {
  return {
    p50Latency: median(rounds.map((r) => r.p50Latency)),
    p99Latency: median(rounds.map((r) => r.p99Latency)),
    throughput: median(rounds.map((r) => r.throughput)),
    serverCpuPerRequest: median(rounds.map((r) => r.serverCpuPerRequest)),
  };
}

function goal(name: string, ratio: Goal['ratio'], comparison: Goal['comparison'], limit: number, value: number): Goal {
  return { name, ratio, comparison, limit, value, pass: comparison === '<=' ? value <= limit : value >= limit };
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
    `${p.request}, ${p.concurrency} in flight; ${p.initialWarmupSec} s warm-up per target, then ${p.rounds} rounds × (${p.warmupSec} s warm-up + ${p.durationSec} s), order rotated`,
    `gateway: auth (${p.tokenAlgorithm} token) + scope + proxy; logger ${p.gatewayLogger}; gateway-traced: the same, tracing on (OTLP/HTTP, every trace sampled)`,
    `threads: ${p.topology}`,
    'per target: the median round by req/s; CPU = thread CPU time per request; wait = threads ready but waiting for a core (average)',
  ];
  const targets = table([
    [
      'target',
      'req/s',
      'p50 ms',
      'p99 ms',
      'errors',
      'proxy CPU µs',
      'sandbox CPU µs',
      'client CPU µs',
      'wait',
      'req/s per round',
    ],
    ...TARGET_NAMES.map((name) => {
      const t = report.targets[name].median;
      const wait = t.waitingForCpu.client + t.waitingForCpu.upstream + t.waitingForCpu.front;
      return [
        name,
        fixed(t.requestsPerSecond, 0),
        fixed(t.p50Ms, 2),
        fixed(t.p99Ms, 2),
        String(t.errorCount),
        name === 'direct' ? '-' : fixed(t.cpuUsPerRequest.front, 0),
        fixed(t.cpuUsPerRequest.upstream, 0),
        fixed(t.cpuUsPerRequest.client, 0),
        fixed(wait, 2),
        report.targets[name].rounds.map((r) => fixed(r.requestsPerSecond, 0)).join(' / '),
      ];
    }),
  ]);
  const { gatewayToPassthrough: g, passthroughToDirect: d, perRound } = report.ratios;
  const proxyRow = (name: string, r: GatewayRatios, pick: (round: (typeof perRound)[number]) => GatewayRatios) => [
    name,
    fixed(r.p50Latency, 2),
    fixed(r.p99Latency, 2),
    fixed(r.throughput, 2),
    fixed(r.proxyCpuPerRequest, 2),
    fixed(r.serverCpuPerRequest, 2),
    perRound.map((round) => fixed(pick(round).throughput, 2)).join(' / '),
  ];
  const ratioRows = table([
    [
      'ratio (median over rounds)',
      'p50 latency',
      'p99 latency',
      'throughput',
      'proxy CPU/req',
      'server CPU/req',
      'throughput per round',
    ],
    proxyRow('gateway / passthrough', g, (r) => r.gatewayToPassthrough),
    proxyRow(
      'gateway traced / passthrough',
      report.ratios.tracedGatewayToPassthrough,
      (r) => r.tracedGatewayToPassthrough,
    ),
    proxyRow('gateway traced / gateway', report.ratios.tracedGatewayToGateway, (r) => r.tracedGatewayToGateway),
    [
      'passthrough / direct',
      fixed(d.p50Latency, 2),
      fixed(d.p99Latency, 2),
      fixed(d.throughput, 2),
      '-',
      fixed(d.serverCpuPerRequest, 2),
      perRound.map((r) => fixed(r.passthroughToDirect.throughput, 2)).join(' / '),
    ],
  ]);
  const goals = table([
    ['goal', 'measured', 'result'],
    ...report.goals.map((x) => [x.name, fixed(x.value, 2), x.pass ? 'PASS' : 'FAIL']),
  ]);
  const errors = TARGET_NAMES.flatMap((name) =>
    report.targets[name].rounds
      .filter((t) => t.errorCount > 0)
      .map((t) => `${name} round ${t.round + 1}: ${t.errorCount} errors (${t.errorReasons.join(', ')})`),
  );
  return [...header, '', targets, '', ratioRows, '', goals, ...(errors.length > 0 ? ['', ...errors] : [])].join('\n');
}
