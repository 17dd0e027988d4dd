/** What the gateway-side probe (probe.ts) writes, one JSON object a line; read by the soak. */

export const PROBE_FILE_ENV = 'SOAK_PROBE_FILE';
/** The monitor's sampling interval: every recorded delay includes it, and the soak takes it off. */
export const PROBE_RESOLUTION_MS = 10;

export interface ProbeEld {
  event: 'eld';
  /** Raw histogram values in milliseconds, sampling interval included; null without samples. */
  minMs: number | null;
  meanMs: number | null;
  p50Ms: number | null;
  p90Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
  count: number;
}

export interface ProbeSigterm {
  event: 'sigterm';
  resources: string[];
}

export interface ProbeExit {
  event: 'exit';
  code: number;
  /** null: the process exited without a SIGTERM. */
  msSinceSigterm: number | null;
  resources: string[];
  /** Handles neither closed nor closing, by constructor name. */
  openHandles: string[];
  /** What would have kept the process alive without `process.exit()`: open handles and referenced timers. */
  lingering: string[];
}

export type ProbeRecord = { event: 'start'; pid: number; resolutionMs: number } | ProbeEld | ProbeSigterm | ProbeExit;

/** The records of a probe file, in order; lines that are not records are skipped. */
export function parseProbeLines(text: string): ProbeRecord[] {
  const records: ProbeRecord[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const parsed = JSON.parse(line) as ProbeRecord;
      if (typeof parsed === 'object' && parsed !== null && typeof parsed.event === 'string') records.push(parsed);
    } catch {
      // a line cut short by a kill: nothing to read
    }
  }
  return records;
}
