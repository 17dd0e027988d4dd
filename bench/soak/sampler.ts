/**
 * The gateway as it reports itself: its admin `/metrics` (prom-client's process metrics under their
 * standard names, which the CLI registers) scraped once a second — resident memory, heap, event-loop
 * delay since the previous scrape (prom-client resets its histogram at each scrape, and the soak is
 * the only scraper), active resources by type, open file descriptors, CPU and garbage-collection
 * time. The sandbox's resident memory comes from /proc (Linux; absent elsewhere).
 */
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { parseExposition, type Sample } from '../prometheus-text';
import { requestText } from '../fleet/http-json';

/** prom-client's default `eventLoopMonitoringPrecision`: every recorded delay includes it. */
export const METRICS_ELD_RESOLUTION_MS = 10;

export interface GatewaySample {
  /** Milliseconds since the load started (negative: before it). */
  atMs: number;
  rssBytes: number;
  heapUsedBytes: number;
  heapTotalBytes: number;
  externalBytes: number;
  /** Since the previous scrape, the sampling interval taken off; NaN when the scrape had no samples. */
  eldP99Ms: number;
  eldMaxMs: number;
  activeResourcesTotal: number;
  activeResources: Record<string, number>;
  openFds: number;
  cpuSeconds: number;
  /** Garbage collection so far, every kind (prom-client's nodejs_gc_duration_seconds), and major collections alone. */
  gcSeconds: number;
  gcMajorSeconds: number;
  gcMajorCount: number;
  /** The sandbox's, from /proc/<pid>/status: to tell the gateway's growth from its neighbour's. */
  sandboxRssBytes?: number;
}

/** The figures of one scrape (pure). */
export function sampleFromMetrics(samples: readonly Sample[], atMs: number): GatewaySample {
  const value = (name: string): number => samples.find((s) => s.name === name)?.value ?? Number.NaN;
  const lagMs = (name: string): number => {
    const raw = value(name);
    // An interval without samples reports 0 (or NaN); the monitor's own interval is not delay.
    return Number.isFinite(raw) && raw > 0 ? Math.max(0, raw * 1000 - METRICS_ELD_RESOLUTION_MS) : Number.NaN;
  };
  const activeResources: Record<string, number> = {};
  let gcSeconds = 0;
  let gcMajorSeconds = 0;
  let gcMajorCount = 0;
  for (const s of samples) {
    if (s.name === 'nodejs_active_resources' && s.labels.type !== undefined) activeResources[s.labels.type] = s.value;
    else if (s.name === 'nodejs_gc_duration_seconds_sum') {
      gcSeconds += s.value;
      if (s.labels.kind === 'major') gcMajorSeconds += s.value;
    } else if (s.name === 'nodejs_gc_duration_seconds_count' && s.labels.kind === 'major') gcMajorCount += s.value;
  }
  return {
    atMs,
    rssBytes: value('process_resident_memory_bytes'),
    heapUsedBytes: value('nodejs_heap_size_used_bytes'),
    heapTotalBytes: value('nodejs_heap_size_total_bytes'),
    externalBytes: value('nodejs_external_memory_bytes'),
    eldP99Ms: lagMs('nodejs_eventloop_lag_p99_seconds'),
    eldMaxMs: lagMs('nodejs_eventloop_lag_max_seconds'),
    activeResourcesTotal: value('nodejs_active_resources_total'),
    activeResources,
    openFds: value('process_open_fds'),
    cpuSeconds: value('process_cpu_seconds_total'),
    gcSeconds,
    gcMajorSeconds,
    gcMajorCount,
  };
}

/** VmRSS of a process in bytes, from /proc (Linux); undefined elsewhere or once it is gone. */
export function procRssBytes(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

export interface SamplerSettings {
  adminUrl: string;
  /** performance.now() of the load's start: samples are timed from it. */
  originMs: number;
  intervalMs: number;
  sandboxPid?: number;
}

export async function scrapeGateway(settings: SamplerSettings): Promise<GatewaySample> {
  const reply = await requestText('GET', `${settings.adminUrl}/metrics`, 5000);
  if (reply.status !== 200) throw new Error(`GET ${settings.adminUrl}/metrics: status ${reply.status}`);
  const sample = sampleFromMetrics(parseExposition(reply.text), Math.round(performance.now() - settings.originMs));
  const sandboxRssBytes = procRssBytes(settings.sandboxPid);
  return sandboxRssBytes === undefined ? sample : { ...sample, sandboxRssBytes };
}

export interface Sampler {
  latest(): GatewaySample | undefined;
  /** Stops after the scrape in progress; resolves with every sample, oldest first. */
  stop(): Promise<GatewaySample[]>;
  /** Scrapes that failed (timeouts under load): gaps in the record, not errors of the run. */
  failures(): number;
}

export function startSampler(settings: SamplerSettings): Sampler {
  const samples: GatewaySample[] = [];
  let failures = 0;
  let running = true;
  let wake: (() => void) | undefined;
  const loop = (async () => {
    let due = performance.now();
    while (running) {
      try {
        samples.push(await scrapeGateway(settings));
      } catch {
        failures++;
      }
      due += settings.intervalMs;
      const waitMs = due - performance.now();
      if (waitMs > 0 && running) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, waitMs);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      } else if (waitMs <= 0) {
        due = performance.now();
      }
    }
  })();
  return {
    latest: () => samples[samples.length - 1],
    failures: () => failures,
    async stop() {
      running = false;
      wake?.();
      await loop;
      return samples;
    },
  };
}
