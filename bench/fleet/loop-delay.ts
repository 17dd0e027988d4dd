/** A process's own event-loop delay over a stretch of time: how late its timers ran. */
import { monitorEventLoopDelay } from 'node:perf_hooks';

export interface LoopDelay {
  p99Ms: number;
  maxMs: number;
}

const RESOLUTION_MS = 10;

/** Starts measuring; `stop()` returns the delays, less the sampling resolution the histogram includes. */
export function watchLoopDelay(): { stop(): LoopDelay } {
  const histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  histogram.enable();
  return {
    stop() {
      histogram.disable();
      return {
        p99Ms: Math.max(0, Math.round(histogram.percentile(99) / 1e6 - RESOLUTION_MS)),
        maxMs: Math.max(0, Math.round(histogram.max / 1e6 - RESOLUTION_MS)),
      };
    },
  };
}
