/** `npm run bench:overhead -- [flags]`: parsed once, every problem reported, the result frozen. */
import { readFlags, type NumberFlag } from './flags';
import type { BenchAlgorithm, GatewayLogMode } from './overhead-targets';

export interface OverheadOptions {
  /** Measured time per target per round, in `slices` slices taken in turn across the targets. */
  durationSec: number;
  /**
   * Slices per target per round: every target's slice, then every target's next one (the order
   * rotated each time), so that drift in the machine's speed falls on all targets alike.
   */
  slices: number;
  /** Unrecorded load on every target once, before the first round (connections, JIT, caches). */
  initialWarmupSec: number;
  /** Unrecorded load before each measured slice (after another target's). */
  warmupSec: number;
  /**
   * Requests in flight, one measured load per entry (ascending, distinct): 1 is what most callers see
   * (latency), 32 is the loaded proxy (throughput, CPU).
   */
  concurrencies: number[];
  /** Each round measures every target once; the order rotates between rounds. */
  rounds: number;
  /** Hard cap on requests per phase, on top of the time bound. */
  maxRequestsPerPhase: number;
  algorithm: BenchAlgorithm;
  gatewayLog: GatewayLogMode;
  /**
   * Whole runs, each in a fresh process, one after the other: the published figure is their median with
   * the min–max (`--runs 1`: one run, its report only).
   */
  runs: number;
  /** Where the JSON goes, relative to the working directory (with several runs: the summary; the runs beside it). */
  outFile: string;
  help: boolean;
}

export const OVERHEAD_DEFAULTS: Readonly<OverheadOptions> = Object.freeze({
  // 7 targets × 2 loads × 1 s, then 3 rounds × 2 loads × 7 targets × (4 × 0.2 s + 2 s): 132 s of load.
  durationSec: 2,
  slices: 4,
  initialWarmupSec: 1,
  warmupSec: 0.2,
  concurrencies: Object.freeze([1, 32]) as number[],
  rounds: 3,
  maxRequestsPerPhase: 1_000_000,
  algorithm: 'ES256',
  gatewayLog: 'silent',
  runs: 3,
  outFile: 'bench/results/overhead.json',
  help: false,
});

export const OVERHEAD_USAGE = `Usage: npm run bench:overhead -- [flags]

Measures, in one run on this machine, GET /api/v1/computes/specifications sent directly to the
sandbox, through a bare http-proxy-middleware passthrough (also with one no-op Redis script call per
request: the round trip alone), through the gateway (tracing off) with its rate schedule in memory and
in Redis (a redis-server the bench starts on a free port), and through the gateway with tracing on
(OTLP/HTTP to an in-bench receiver that discards) — at each concurrency given.

  --duration-sec <n>     measured seconds per target per round (default ${OVERHEAD_DEFAULTS.durationSec})
  --initial-warmup-sec <n>
                         unrecorded seconds per target before the first round (default ${OVERHEAD_DEFAULTS.initialWarmupSec})
  --slices <n>           slices per target per round, taken in turn across the targets (default ${OVERHEAD_DEFAULTS.slices})
  --warmup-sec <n>       unrecorded seconds before each measured slice (default ${OVERHEAD_DEFAULTS.warmupSec})
  --concurrency <n,…>    requests in flight, one load per value (default ${OVERHEAD_DEFAULTS.concurrencies.join(',')})
  --rounds <n>           rounds, target order rotated each round (default ${OVERHEAD_DEFAULTS.rounds})
  --max-requests <n>     cap per measured phase (default ${OVERHEAD_DEFAULTS.maxRequestsPerPhase})
  --alg ES256|RS256      caller token algorithm (default ${OVERHEAD_DEFAULTS.algorithm})
  --gateway-log silent|null-stream
                         silent: logger level silent; null-stream: level info, lines dropped
                         (default ${OVERHEAD_DEFAULTS.gatewayLog})
  --runs <n>             whole runs, each in a fresh process; saved: each run's report as
                         <out>-run<i>.json, their medians with min–max as <out> and a chart
                         as <out>.svg (default ${OVERHEAD_DEFAULTS.runs}; 1: that run's report as <out>)
  --out <file>           JSON results (default ${OVERHEAD_DEFAULTS.outFile})`;

export type OptionsResult = { ok: true; options: Readonly<OverheadOptions> } | { ok: false; problems: string[] };

type NumberKey =
  'durationSec' | 'slices' | 'initialWarmupSec' | 'warmupSec' | 'rounds' | 'runs' | 'maxRequestsPerPhase';

export const MAX_CONCURRENCY = 1024;

const NUMBER_FLAGS: Record<string, NumberFlag<NumberKey>> = {
  '--duration-sec': { key: 'durationSec', min: 0.1, max: 600, integer: false },
  '--initial-warmup-sec': { key: 'initialWarmupSec', min: 0, max: 60, integer: false },
  '--warmup-sec': { key: 'warmupSec', min: 0, max: 60, integer: false },
  '--slices': { key: 'slices', min: 1, max: 20, integer: true },
  '--rounds': { key: 'rounds', min: 1, max: 15, integer: true },
  '--runs': { key: 'runs', min: 1, max: 9, integer: true },
  '--max-requests': { key: 'maxRequestsPerPhase', min: 1, max: 10_000_000, integer: true },
};

export function parseOverheadArgs(argv: readonly string[]): OptionsResult {
  const options: OverheadOptions = { ...OVERHEAD_DEFAULTS, concurrencies: [...OVERHEAD_DEFAULTS.concurrencies] };
  const problems: string[] = [];
  const switches = { '--help': () => (options.help = true) };
  readFlags(
    argv,
    { switches, numbers: NUMBER_FLAGS, texts: ['--alg', '--gateway-log', '--concurrency', '--out'] },
    (key, n) => (options[key] = n),
    (flag, value) => {
      if (flag === '--alg') {
        if (value === 'ES256' || value === 'RS256') options.algorithm = value;
        else problems.push('--alg: must be ES256 or RS256');
      } else if (flag === '--gateway-log') {
        if (value === 'silent' || value === 'null-stream') options.gatewayLog = value;
        else problems.push('--gateway-log: must be silent or null-stream');
      } else if (flag === '--concurrency') {
        const concurrencies = parseConcurrencies(value);
        if (concurrencies) options.concurrencies = concurrencies;
        else problems.push(`--concurrency: must be whole numbers from 1 to ${MAX_CONCURRENCY}, comma-separated`);
      } else {
        options.outFile = value;
      }
    },
    problems,
  );
  Object.freeze(options.concurrencies);
  return problems.length > 0 ? { ok: false, problems } : { ok: true, options: Object.freeze(options) };
}

/** `1,32` → [1, 32], sorted and without repeats; undefined when any value is not a whole number in range. */
export function parseConcurrencies(text: string): number[] | undefined {
  const values = text.split(',').map((part) => part.trim());
  if (!values.every((v) => /^[0-9]+$/.test(v))) return undefined;
  const numbers = values.map(Number);
  if (!numbers.every((n) => n >= 1 && n <= MAX_CONCURRENCY)) return undefined;
  return [...new Set(numbers)].sort((a, b) => a - b);
}
