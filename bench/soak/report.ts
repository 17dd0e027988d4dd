/** The saved report (JSON) and the printed tables, pure. */
import type { MachineInfo } from '../machine';
import { KINDS } from './classify';
import { soakFigures, type DriftKey, type SoakFigures, type WindowFigures } from './figures';
import type { Example } from './load';
import { MIX, INTENTS } from './mix';
import type { SoakOptions } from './options';
import { UPSTREAM_TIMEOUT_MS } from './policy';
import type { SoakRun } from './run';

export interface SoakReport {
  generatedAt: string;
  machine: MachineInfo;
  options: Omit<SoakOptions, 'help' | 'keepLogs' | 'outFile'>;
  setup: SoakRun['setup'] & { mixPercent: typeof MIX; upstreamTimeoutMs: number };
  /** HTTP responses per second in the measured span (any status), against `options.ratePerSec` offered. */
  achievedRps: number;
  /** Request n of the soak carried X-Request-Id `<requestIdPrefix>-<n>`. */
  requestIdPrefix: string;
  verdicts: SoakFigures['verdicts'];
  figures: Omit<SoakFigures, 'verdicts' | 'timeline' | 'perSecond'>;
  generator: SoakRun['generator'] & { sendLagP99Ms: number; sendLagMaxMs: number; maxInFlight: number };
  samplerFailures: number;
  referee: SoakRun['referee'];
  /** The first responses that were unexpected or not what their intent should get. */
  examples: Example[];
  /** The gateway's /metrics, one point a second (t from the start of the load). */
  timeline: SoakFigures['timeline'];
  /** Requests by the second they were due, and how they ended. */
  perSecond: SoakFigures['perSecond'];
}

export function buildReport(run: SoakRun, options: Readonly<SoakOptions>, machine: MachineInfo, now: Date): SoakReport {
  const { help: _help, keepLogs: _keepLogs, outFile: _outFile, ...rest } = options;
  const { verdicts, timeline, perSecond, ...figures } = soakFigures(run.data);
  return {
    generatedAt: now.toISOString(),
    machine,
    options: rest,
    setup: { ...run.setup, mixPercent: MIX, upstreamTimeoutMs: UPSTREAM_TIMEOUT_MS },
    achievedRps: figures.traffic.achievedRps,
    requestIdPrefix: run.data.soak.requestIdPrefix,
    verdicts,
    figures,
    generator: {
      ...run.generator,
      sendLagP99Ms: figures.traffic.sendLag.p99Ms,
      sendLagMaxMs: figures.traffic.sendLag.maxMs,
      maxInFlight: figures.traffic.maxInFlight,
    },
    samplerFailures: run.samplerFailures,
    referee: run.referee,
    examples: run.data.soak.examples,
    timeline,
    perSecond,
  };
}

/**
 * The report as JSON text: indented, except that each point of the two per-second series takes one
 * line, so a ten-minute run stays readable and small enough to keep beside the others.
 */
export function reportJson(report: SoakReport): string {
  const { timeline, perSecond, ...rest } = report;
  const head = JSON.stringify(rest, null, 2);
  const rows = (points: readonly unknown[]) =>
    points.length === 0 ? '[]' : `[\n${points.map((p) => `    ${JSON.stringify(p)}`).join(',\n')}\n  ]`;
  return `${head.slice(0, -2)},\n  "timeline": ${rows(timeline)},\n  "perSecond": ${rows(perSecond)}\n}\n`;
}

const num = (x: number | null | undefined, digits = 1) =>
  x === null || x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(digits);
const pct = (x: number, digits = 2) => (Number.isFinite(x) ? `${(x * 100).toFixed(digits)} %` : '–');
const counts = (c: Record<string, number> | null) =>
  c === null
    ? '–'
    : Object.keys(c).length === 0
      ? 'none'
      : Object.entries(c)
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([k, v]) => `${k} ${v}`)
          .join(', ');

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

const DRIFT_ROWS: Array<[string, DriftKey, number]> = [
  ['gateway RSS, median (MiB)', 'rssMedianMiB', 1],
  ['gateway heap used, median (MiB)', 'heapUsedMedianMiB', 1],
  ['event-loop delay p99, median of 1 s (ms)', 'eldP99MedianMs', 1],
  ['allowed requests answered ok, p99 (ms)', 'allowedOkP99Ms', 1],
  ['responses per second', 'achievedRps', 1],
  ['gateway CPU per response (ms)', 'cpuMsPerRequest', 3],
  ['gateway garbage collection (ms per s)', 'gcMsPerSec', 1],
  ['open file descriptors, median', 'openFdsMedian', 0],
  ['active resources, median', 'activeResourcesMedian', 0],
];

function windowTitle(w: WindowFigures): string {
  return `[${num(w.fromSec, 0)}, ${num(w.toSec, 0)}) s`;
}

export function formatReport(report: SoakReport): string {
  const { figures: f, options: o, setup } = report;
  const t = f.traffic;
  const out: string[] = [];
  const faults = setup.sandbox.faults;
  out.push(
    `bench:soak — one gateway process (schedule ${setup.schedule}, LOG_LEVEL ${setup.gatewayLogLevel}) in front of the sandbox process ` +
      `(${setup.sandbox.latencyMs} ms + 0–${setup.sandbox.jitterMs} ms; injected: ${pct(faults.errorRate, 1)} 500s, ${pct(faults.dropRate, 1)} drops, ` +
      `${pct(faults.slowRate, 1)} answers after ${faults.slowMs} ms > the gateway's ${setup.upstreamTimeoutMs} ms timeout). ` +
      `${o.ratePerSec} requests/s offered open loop for ${o.durationSec} s (warm-up ${num(o.warmupSec)} s); mix ` +
      `${INTENTS.map((i) => `${setup.mixPercent[i]} % ${i}`).join(', ')}.`,
  );

  out.push('', `## Responses by kind (all ${t.requests} requests, warm-up included)`);
  out.push(
    table(
      ['kind', 'count', 'rate'],
      KINDS.map((k) => [k, String(t.kinds[k]), pct(t.kindRates[k], 3)]),
    ),
  );
  const ids = (ns: number[]) => ns.map((n) => `${report.requestIdPrefix}-${n}`).join(' ');
  out.push(
    `upstream faults injected (referee): ${f.faults.injected.error} errors, ${f.faults.injected.drop} drops, ${f.faults.injected.slow} slow; ` +
      `fault-shaped answers: ${f.faults.seen['upstream-500']} relayed 500s, ${f.faults.seen['gateway-502']} 502s, ${f.faults.seen['gateway-504']} 504s; ` +
      `not matched to a fault of their own request (${f.faults.method === 'request-id' ? 'from the sandbox log' : 'by totals only'}): ` +
      `${f.faults.unexplained['upstream-500']}/${f.faults.unexplained['gateway-502']}/${f.faults.unexplained['gateway-504']}` +
      (f.faults.unexplainedRequests.length > 0 ? ` (${ids(f.faults.unexplainedRequests)})` : ''),
  );
  out.push(`responses not matching their intent: ${t.intentMismatches}; client errors: ${counts(t.clientErrors)}`);
  out.push(`by status: ${counts(t.statuses)}`);

  out.push(
    '',
    `## Throughput and latency (measured span [${num(f.spans.warmupSec, 0)}, ${num(f.spans.durationSec, 0)}) s; latency from when each request was due)`,
  );
  const rows: string[][] = [
    ['responses per second (offered ' + o.ratePerSec + ')', num(t.achievedRps)],
    ['allowed requests answered ok, p50 (ms)', num(t.latency.allowedOk.p50Ms)],
    ['allowed requests answered ok, p99 (ms)', num(t.latency.allowedOk.p99Ms)],
    ['every response, p99 (ms)', num(t.latency.allAnswered.p99Ms)],
  ];
  if (f.baseline) {
    const b = f.baseline;
    const direct = [num(b.direct.achievedRps), num(b.direct.allowedOk.p50Ms), num(b.direct.allowedOk.p99Ms), '–'];
    const ratios = [num(b.ratios.achievedRps, 3), num(b.ratios.allowedOkP50, 2), num(b.ratios.allowedOkP99, 2), '–'];
    out.push(
      table(
        ['', `direct to the sandbox (${num(b.direct.measuredSec, 0)} s)`, 'through the gateway', 'gateway ÷ direct'],
        rows.map((r, i) => [r[0]!, direct[i]!, r[1]!, ratios[i]!]),
      ),
    );
  } else {
    out.push(table(['', 'through the gateway'], rows));
  }
  out.push(
    `by intent, p50 / p99 ms: ${INTENTS.map((i) => `${i} ${num(t.latency.byIntent[i].p50Ms)} / ${num(t.latency.byIntent[i].p99Ms)}`).join('; ')}`,
  );

  out.push('', `## Drift: the first and the last ${num(f.spans.windowSec, 0)} s after the warm-up`);
  out.push(
    table(
      ['', `first ${windowTitle(f.windows.first)}`, `last ${windowTitle(f.windows.last)}`, 'last ÷ first'],
      DRIFT_ROWS.map(([label, key, digits]) => [
        label,
        num(f.windows.first[key], digits),
        num(f.windows.last[key], digits),
        num(f.windows.lastOverFirst[key], 3),
      ]),
    ),
  );
  const m = f.memory;
  out.push(
    `gateway RSS: ${num(m.idleBeforeMiB)} MiB idle before, ${num(m.maxMiB)} MiB at most, ${num(m.idleAfterMiB)} MiB idle after; sandbox RSS growth over the same windows ${num(m.sandboxGrowthPct)} %`,
  );
  const e = f.eventLoop;
  out.push(
    `gateway event-loop delay over the measured span (its own histogram): p50 ${num(e.measured?.p50Ms)} ms, p99 ${num(e.measured?.p99Ms)} ms, max ${num(e.measured?.maxMs)} ms; ` +
      `worst 1 s p99 ${num(e.worstSecondP99Ms)} ms; warm-up p99 ${num(e.warmupP99Ms)} ms`,
  );
  out.push(
    `gateway garbage collection over the measured span: ${num(e.gc.msPerSec)} ms per s; ${e.gc.majorCount} major collections, at most ${num(e.gc.worstSecondMajorMs)} ms of them in one second`,
  );
  out.push(
    `generator (this process): event-loop delay p99 ${num(report.generator.eldP99Ms)} ms, max ${num(report.generator.eldMaxMs)} ms; send lag p99 ${num(report.generator.sendLagP99Ms)} ms, max ${num(report.generator.sendLagMaxMs)} ms; at most ${report.generator.maxInFlight} in flight`,
  );

  const h = f.handles;
  out.push('', '## Handles and exit');
  out.push(`active resources idle before the load: ${counts(h.idleBefore)}`);
  out.push(`active resources idle after the load:  ${counts(h.idleAfter)}`);
  out.push(`active resources at SIGTERM:           ${counts(h.atSigterm)}`);
  out.push(
    `exit: ${h.killed ? 'SIGKILLed after' : 'gone'} ${h.exitAfterSigtermMs} ms after SIGTERM, code ${h.exitCode ?? '–'}; ` +
      `left open at exit: ${h.lingeringAtExit === null ? '– (no record)' : h.lingeringAtExit.length === 0 ? 'nothing' : h.lingeringAtExit.join(', ')}`,
  );

  out.push('', 'targets:');
  for (const v of report.verdicts)
    out.push(`  ${v.pass === null ? 'n/a ' : v.pass ? 'PASS' : 'FAIL'}  ${v.target}: ${v.value}`);
  const unexpectedResponses = Object.entries(t.unexpectedResponses).sort(([, a], [, b]) => b - a);
  if (unexpectedResponses.length > 0) {
    out.push(
      '',
      "unexpected or mismatched responses, by intent → kind (request ids of a few of each are in the JSON's examples and in the gateway's access log):",
    );
    for (const [category, count] of unexpectedResponses.slice(0, 12))
      out.push(`  ${String(count).padStart(7)}  ${category}`);
  }
  // The bench's own four processes account for a load average of about 1.5; beyond twice the cores, other work
  // competes.
  const load = report.machine.loadAverage;
  if (load[0]! > 2 * report.machine.cpuCount) {
    out.push(
      '',
      `NOTE: the machine was busy (load ${load.map((x) => x.toFixed(2)).join(' ')} on ${report.machine.cpuCount} cores): latency and event-loop figures include the contention.`,
    );
  }
  return out.join('\n');
}
