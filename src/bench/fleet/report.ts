/** The saved report (JSON) and the printed tables, pure. */
import type { MachineInfo } from '../machine';
import type { ClassFigures, Percentiles, PhaseFigures } from './figures';
import type { FleetOptions } from './options';
import type { FleetRun, PhaseResult, ScenarioResult } from './run';
import { PROVIDER_LIMITS, REPLICAS } from './stack';
import type { TargetCheck } from './targets';


export interface FleetReport {
  generatedAt: string;
  machine: MachineInfo;
  options: Omit<FleetOptions, 'help' | 'keepLogs'>;
  setup: {
    provider: { profile: 'launch'; limitsPerSecond: typeof PROVIDER_LIMITS; latencyMs: number; jitterMs: number };
    gateways: { replicas: number; safety: number; maxWaitMs: number };
    baseline: string;
    callers: FleetRun['callers'];
  };
  scenarios: ScenarioResult[];
  verdict: { ours: Record<string, boolean>; baseline: Record<string, boolean> };
}

export function buildReport(run: FleetRun, options: Readonly<FleetOptions>, machine: MachineInfo, now: Date): FleetReport {
  const { help: _help, keepLogs: _keepLogs, ...rest } = options;
  const passed = (checks: TargetCheck[]) => checks.every((c) => c.pass !== false);
  return {
    generatedAt: now.toISOString(),
    machine,
    options: rest,
    setup: {
      provider: { profile: 'launch', limitsPerSecond: PROVIDER_LIMITS, latencyMs: 20, jitterMs: 10 },
      gateways: { replicas: REPLICAS, safety: options.safety, maxWaitMs: options.maxWaitMs },
      baseline: `RateLimiterRedis points ${PROVIDER_LIMITS.read}/${PROVIDER_LIMITS.write} per 1 s per (account, class), ${REPLICAS} replicas, insurance RateLimiterMemory at points ÷ ${REPLICAS}`,
      callers: run.callers,
    },
    scenarios: run.scenarios,
    verdict: {
      ours: Object.fromEntries(run.scenarios.map((s) => [s.name, passed(s.ours.checks)])),
      baseline: Object.fromEntries(run.scenarios.map((s) => [s.name, passed(s.baseline.checks)])),
    },
  };
}

const pct = (x: number) => (Number.isFinite(x) ? `${(x * 100).toFixed(1)}%` : 'n/a');
const num = (x: number, digits = 2) => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a');
const ms = (p: Percentiles | null, which: 'p50' | 'p99') => (p === null ? '–' : String(Math.round(p[which])));
const both = (f: PhaseFigures, cell: (c: ClassFigures) => string) => `${cell(f.read)} / ${cell(f.write)}`;
const shareRange = (c: ClassFigures) => {
  const ratios = c.shares.map((s) => s.ratio);
  return `${num(Math.min(...ratios))}–${num(Math.max(...ratios))}`;
};

type Row = [string, (p: PhaseResult) => string];

const ROWS: Row[] = [
  ['upstream 429s (read / write)', (p) => both(p.figures, (c) => String(c.upstream429))],
  ['max in 1 s, sandbox fixed windows', (p) => both(p.figures, (c) => `${c.maxInFixedWindow}`)],
  ['max in 1 s, any 1000 ms (sliding)', (p) => both(p.figures, (c) => `${c.maxInSlidingWindow}`)],
  ['admitted per s', (p) => both(p.figures, (c) => num(c.admittedPerSecond))],
  ['utilization of 30/s and 5/s', (p) => both(p.figures, (c) => pct(c.utilization))],
  ['admitted per s, Redis down (+3 s)', (p) => (p.figures.read.outageAdmittedPerSecond === undefined ? '' : both(p.figures, (c) => num(c.outageAdmittedPerSecond ?? Number.NaN)))],
  ['queue wait p50 ms', (p) => both(p.figures, (c) => ms(c.queueWaitMs, 'p50'))],
  ['queue wait p99 ms', (p) => both(p.figures, (c) => ms(c.queueWaitMs, 'p99'))],
  ['share ÷ weighted fair share, min–max', (p) => both(p.figures, shareRange)],
  ['Jain, equal weights', (p) => both(p.figures, (c) => num(c.jain, 3))],
  ['Redis round trips per admitted', (p) => num(p.figures.redis.roundTripsPerAdmitted, 3)],
  ['Redis round trips per decision', (p) => num(p.figures.redis.roundTripsPerDecision, 3)],
  ['Redis commands executed per decision', (p) => num(p.figures.redis.executed / p.figures.redis.decisions, 1)],
  ['own 429s (gateway / baseline proxy)', (p) => String(p.figures.client.gateway429)],
  ['own 5xx / unanswered', (p) => `${p.figures.client.gateway5xx} / ${p.figures.client.transportErrors}`],
  ['duplicate creates', (p) => String(p.figures.duplicateCreates)],
  ['load average (1 min) at the end', (p) => `${p.contention.loadAverage1m} on ${p.contention.cpuCount} cores`],
  ['bench event-loop delay p99 / max ms', (p) => `${p.contention.benchLoopDelayP99Ms} / ${p.contention.benchLoopDelayMaxMs}`],
];

/** Above this, timers on the machine are late by more than the schedule's jitter margin allows. */
const CONTENDED_LOOP_DELAY_MS = 30;

function contended(p: PhaseResult): boolean {
  return p.contention.benchLoopDelayMaxMs > CONTENDED_LOOP_DELAY_MS || p.contention.loadAverage1m > p.contention.cpuCount;
}

function scenarioTitle(s: ScenarioResult, options: Readonly<FleetOptions>): string {
  if (s.name === 'fixed') return `fixed windows, phase ${s.windowPhaseMs} ms`;
  if (s.name === 'sliding') return 'sliding window';
  return `sliding, Redis down ${options.outageSec} s`;
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function formatReport(report: FleetReport, options: Readonly<FleetOptions>): string {
  const out: string[] = [];
  out.push(
    `bench:fleet — ${REPLICAS} gateways (safety ${options.safety}, maxWaitMs ${options.maxWaitMs}) + redis-server, sandbox launch profile 30 reads/s + 5 writes/s, ` +
      `20 ms + 0–10 ms latency; ${options.workers} caller loops over ${report.setup.callers.length} callers (weights ${report.setup.callers.map((c) => c.weight).join(', ')}); ` +
      `${options.durationSec} s per phase, first ${options.warmupSec} s not measured. Cells: read / write.`,
  );
  for (const s of report.scenarios) {
    out.push('', `## ${scenarioTitle(s, options)}`);
    const rows = ROWS.map(([label, cell]) => [label, cell(s.ours), cell(s.baseline)]).filter((r) => r[1] !== '' || r[2] !== '');
    out.push(table(['', 'ours', 'baseline (RateLimiterRedis)'], rows));
    const shareCells = (p: PhaseResult) => p.figures.read.shares.map((r, i) => `${r.callerId.replace('fleet-caller-', 'c')}(w${r.weight}) ${num(r.ratio)}/${num(p.figures.write.shares[i]!.ratio)}`).join('  ');
    out.push(`shares, ours (read/write):     ${shareCells(s.ours)}`);
    out.push(`shares, baseline (read/write): ${shareCells(s.baseline)}`);
    const g = s.ours.gateways;
    if (g) {
      out.push(`gateways: ${g.dispatchCount} released, dispatch late mean ${num(g.dispatchLateMeanMs, 1)} ms, ${g.dispatchLateOver20Ms} later than 20 ms; schedule 429s ${JSON.stringify(g.scheduleRejections)}`);
    }
    const o = s.ours.outage;
    if (o) {
      const list = (xs: Array<number | null>) => xs.map((x) => (x === null ? '–' : `${x}`)).join(', ');
      out.push(`outage: Redis killed at ${(o.killedAtMs / 1000).toFixed(1)} s, restarted at ${(o.restartedAtMs / 1000).toFixed(1)} s; fallback seen after ${list(o.fallbackAfterKillMs)} ms; shared again after ${list(o.sharedAfterRestartMs)} ms (per gateway, /readyz polled every 100 ms)`);
    }
    if (contended(s.ours)) {
      out.push(
        `WARNING: the machine was contended during ours (load ${s.ours.contention.loadAverage1m} on ${s.ours.contention.cpuCount} cores, timers up to ${s.ours.contention.benchLoopDelayMaxMs} ms late): ` +
          'delays beyond the safety margin reach the provider as bursts; rerun on a quiet machine before reading 429s as a schedule fault.',
      );
    }
    for (const [who, p] of [['ours', s.ours], ['baseline', s.baseline]] as const) {
      out.push(`targets, ${who}:`);
      for (const c of p.checks) out.push(`  ${c.pass === null ? 'n/a ' : c.pass ? 'PASS' : 'FAIL'}  ${c.target}: ${c.value}`);
    }
  }
  return out.join('\n');
}
