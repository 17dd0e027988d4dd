/**
 * bench:overhead measures each target in slices taken in turn across the targets; a round's figures
 * for one target are its slices added up: every latency, the elapsed time, each thread's event-loop
 * and CPU time. Pure.
 */
import { summarizePhase } from './latency-stats';
import type { PhaseMeasurement, ThreadFigures } from './overhead-run';

/** One target's figures added up over a round's slices. */
export interface SliceTotals {
  latenciesMs: number[];
  errorCount: number;
  errorReasons: string[];
  elapsedMs: number;
  /** Event-loop active and idle time per thread (utilisation is their ratio over the slices). */
  activeMs: ThreadFigures;
  idleMs: ThreadFigures;
  cpuNs: ThreadFigures;
  waitNs: ThreadFigures;
  /** The bench's redis-server process. */
  redisCpuNs: number;
  /** Its script calls (EVALSHA). */
  redisCalls: number;
}

/** A figure for each thread, from `figure(thread)`. */
export function perThread(figure: (thread: keyof ThreadFigures) => number): ThreadFigures {
  return { client: figure('client'), upstream: figure('upstream'), front: figure('front') };
}

const noThreads = (): ThreadFigures => perThread(() => 0);

export function emptyTotals(): SliceTotals {
  return {
    latenciesMs: [],
    errorCount: 0,
    errorReasons: [],
    elapsedMs: 0,
    activeMs: noThreads(),
    idleMs: noThreads(),
    cpuNs: noThreads(),
    waitNs: noThreads(),
    redisCpuNs: 0,
    redisCalls: 0,
  };
}

const THREADS = ['client', 'upstream', 'front'] as const;

export function addSlice(totals: SliceTotals, slice: SliceTotals): void {
  for (const ms of slice.latenciesMs) totals.latenciesMs.push(ms);
  totals.errorCount += slice.errorCount;
  for (const reason of slice.errorReasons) if (!totals.errorReasons.includes(reason)) totals.errorReasons.push(reason);
  totals.elapsedMs += slice.elapsedMs;
  totals.redisCpuNs += slice.redisCpuNs;
  totals.redisCalls += slice.redisCalls;
  for (const thread of THREADS) {
    totals.activeMs[thread] += slice.activeMs[thread];
    totals.idleMs[thread] += slice.idleMs[thread];
    totals.cpuNs[thread] += slice.cpuNs[thread];
    totals.waitNs[thread] += slice.waitNs[thread];
  }
}

export function phaseOf(totals: SliceTotals): Omit<PhaseMeasurement, 'round' | 'position'> {
  const summary = summarizePhase(totals.latenciesMs, totals.errorCount, totals.elapsedMs);
  return {
    ...summary,
    errorReasons: totals.errorReasons,
    utilization: perThread((t) => totals.activeMs[t] / (totals.activeMs[t] + totals.idleMs[t])),
    cpuUsPerRequest: perThread((t) => (summary.okCount > 0 ? totals.cpuNs[t] / 1000 / summary.okCount : Number.NaN)),
    waitingForCpu: perThread((t) => totals.waitNs[t] / 1e6 / summary.elapsedMs),
    redisCpuUsPerRequest: summary.okCount > 0 ? totals.redisCpuNs / 1000 / summary.okCount : Number.NaN,
    redisCallsPerRequest: summary.okCount > 0 ? totals.redisCalls / summary.okCount : Number.NaN,
  };
}
