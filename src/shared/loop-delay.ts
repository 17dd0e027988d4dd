/**
 * A thread's own event-loop delay: how late its timers ran. Sampled every 10 ms by Node's
 * histogram, whose values include that interval (subtracted here).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';

export interface LoopDelay {
  p99Ms: number;
  maxMs: number;
}

export interface LoopDelayWatch {
  /** Since the start or the last reset; 0 before the first sample. */
  read(): LoopDelay;
  reset(): void;
  /** Stops sampling; returns what was read until then. */
  stop(): LoopDelay;
}

const RESOLUTION_MS = 10;

export function watchLoopDelay(): LoopDelayWatch {
  const histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  histogram.enable();
  const beyondResolution = (ns: number) => Math.max(0, Math.round((ns / 1e6 - RESOLUTION_MS) * 10) / 10);
  const read = (): LoopDelay =>
    histogram.count === 0
      ? { p99Ms: 0, maxMs: 0 }
      : { p99Ms: beyondResolution(histogram.percentile(99)), maxMs: beyondResolution(histogram.max) };
  return {
    read,
    reset: () => histogram.reset(),
    stop: () => {
      histogram.disable();
      return read();
    },
  };
}
