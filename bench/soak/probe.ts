/**
 * Loaded into the gateway process by the soak (`node --require …/probe.js dist/cli/main.js`), so
 * that the gateway reports on itself without any change to its code. It only observes, and writes
 * JSON lines to the file named by SOAK_PROBE_FILE (nothing when unset):
 *
 * - `eld` on SIGUSR2: the process's event-loop delay since the previous SIGUSR2 (or start), from
 *   its own `monitorEventLoopDelay`, which it then resets. The soak sends one at the end of the
 *   warm-up and one at the end of the load, so the second covers exactly the measured span.
 * - `sigterm`: the active resources as the gateway starts to close.
 * - `exit`: the exit code, the time since SIGTERM, and what was still open. The CLI ends with
 *   `process.exit()`, which hides a lingering handle (the process exits anyway), so the probe lists
 *   the handles that are neither closed nor closing and the timers still referenced: each of them
 *   would have kept the process alive without that call.
 *
 * The monitor's timer and the signal handlers are unreferenced by Node: they keep nothing alive.
 */
import fs from 'node:fs';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { PROBE_FILE_ENV, PROBE_RESOLUTION_MS, type ProbeRecord } from './probe-protocol';

/** A handle Node is still closing (its uv handle goes on the next loop turn) keeps nothing alive. */
function isClosing(handle: unknown): boolean {
  if (typeof handle !== 'object' || handle === null) return false;
  const h = handle as { _handle?: unknown; destroyed?: boolean };
  return ('_handle' in h && (h._handle === null || h._handle === undefined)) || h.destroyed === true;
}

function openHandleNames(): string[] {
  const getHandles = (process as unknown as { _getActiveHandles?: () => unknown[] })._getActiveHandles;
  if (typeof getHandles !== 'function') return [];
  return getHandles
    .call(process)
    .filter((h) => !isClosing(h))
    .map((h) => (typeof h === 'object' && h !== null ? h.constructor.name : typeof h));
}

export function installProbe(file: string): void {
  const write = (record: ProbeRecord) => fs.appendFileSync(file, `${JSON.stringify(record)}\n`);
  const histogram = monitorEventLoopDelay({ resolution: PROBE_RESOLUTION_MS });
  histogram.enable();
  let sigtermAtMs: number | null = null;
  write({ event: 'start', pid: process.pid, resolutionMs: PROBE_RESOLUTION_MS });

  process.on('SIGUSR2', () => {
    const empty = histogram.count === 0;
    const ms = (ns: number) => (empty ? null : Math.round(ns / 1e4) / 100);
    write({
      event: 'eld',
      minMs: ms(histogram.min),
      meanMs: ms(histogram.mean),
      p50Ms: ms(histogram.percentile(50)),
      p90Ms: ms(histogram.percentile(90)),
      p99Ms: ms(histogram.percentile(99)),
      maxMs: ms(histogram.max),
      count: histogram.count,
    });
    histogram.reset();
  });
  // Registered before the CLI's own handler, so it sees the process as it was when asked to stop.
  process.on('SIGTERM', () => {
    sigtermAtMs = performance.now();
    write({ event: 'sigterm', resources: process.getActiveResourcesInfo() });
  });
  process.on('exit', (code) => {
    histogram.disable();
    const resources = process.getActiveResourcesInfo();
    const openHandles = openHandleNames();
    write({
      event: 'exit',
      code,
      msSinceSigterm: sigtermAtMs === null ? null : Math.round(performance.now() - sigtermAtMs),
      resources,
      openHandles,
      // Only referenced timers are listed as resources; unreferenced ones keep nothing alive.
      lingering: [...openHandles, ...resources.filter((r) => r === 'Timeout' || r === 'Immediate')],
    });
  });
}

const probeFile = process.env[PROBE_FILE_ENV];
if (probeFile) installProbe(probeFile);
