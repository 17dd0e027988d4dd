/** `npm run bench:overhead -- [flags]`: parsed once, every problem reported, the result frozen. */
import { readFlags, type NumberFlag } from './flags';
import type { BenchAlgorithm, GatewayLogMode } from './overhead-targets';

export interface OverheadOptions {
  /** Measured time per target per round. */
  durationSec: number;
  /** Unrecorded load on every target once, before the first round (connections, JIT, caches). */
  initialWarmupSec: number;
  /** Unrecorded load before each measurement. */
  warmupSec: number;
  /** Requests in flight at any time. */
  concurrency: number;
  /** Each round measures every target once; the order rotates between rounds. */
  rounds: number;
  /** Hard cap on requests per phase, on top of the time bound. */
  maxRequestsPerPhase: number;
  algorithm: BenchAlgorithm;
  gatewayLog: GatewayLogMode;
  /** Where the JSON goes, relative to the working directory. */
  outFile: string;
  help: boolean;
}

export const OVERHEAD_DEFAULTS: Readonly<OverheadOptions> = Object.freeze({
  // 4 targets × 1 s, then 5 rounds × 4 targets × (0.5 s + 2.5 s): 64 s of load.
  durationSec: 2.5,
  initialWarmupSec: 1,
  warmupSec: 0.5,
  concurrency: 32,
  rounds: 5,
  maxRequestsPerPhase: 1_000_000,
  algorithm: 'ES256',
  gatewayLog: 'silent',
  outFile: 'bench/results/overhead.json',
  help: false,
});

export const OVERHEAD_USAGE = `Usage: npm run bench:overhead -- [flags]

Measures, in one run on this machine, GET /api/v1/computes/specifications sent directly to the
sandbox, through a bare http-proxy-middleware passthrough, through the gateway (tracing off), and
through the gateway with tracing on (OTLP/HTTP to an in-bench receiver that discards).

  --duration-sec <n>     measured seconds per target per round (default ${OVERHEAD_DEFAULTS.durationSec})
  --initial-warmup-sec <n>
                         unrecorded seconds per target before the first round (default ${OVERHEAD_DEFAULTS.initialWarmupSec})
  --warmup-sec <n>       unrecorded seconds before each measurement (default ${OVERHEAD_DEFAULTS.warmupSec})
  --concurrency <n>      requests in flight (default ${OVERHEAD_DEFAULTS.concurrency})
  --rounds <n>           rounds, target order rotated each round (default ${OVERHEAD_DEFAULTS.rounds})
  --max-requests <n>     cap per measured phase (default ${OVERHEAD_DEFAULTS.maxRequestsPerPhase})
  --alg ES256|RS256      caller token algorithm (default ${OVERHEAD_DEFAULTS.algorithm})
  --gateway-log silent|null-stream
                         silent: logger level silent; null-stream: level info, lines dropped
                         (default ${OVERHEAD_DEFAULTS.gatewayLog})
  --out <file>           JSON results (default ${OVERHEAD_DEFAULTS.outFile})`;

export type OptionsResult = { ok: true; options: Readonly<OverheadOptions> } | { ok: false; problems: string[] };

type NumberKey = 'durationSec' | 'initialWarmupSec' | 'warmupSec' | 'concurrency' | 'rounds' | 'maxRequestsPerPhase';

const NUMBER_FLAGS: Record<string, NumberFlag<NumberKey>> = {
  '--duration-sec': { key: 'durationSec', min: 0.1, max: 600, integer: false },
  '--initial-warmup-sec': { key: 'initialWarmupSec', min: 0, max: 60, integer: false },
  '--warmup-sec': { key: 'warmupSec', min: 0, max: 60, integer: false },
  '--concurrency': { key: 'concurrency', min: 1, max: 1024, integer: true },
  '--rounds': { key: 'rounds', min: 1, max: 15, integer: true },
  '--max-requests': { key: 'maxRequestsPerPhase', min: 1, max: 10_000_000, integer: true },
};

export function parseOverheadArgs(argv: readonly string[]): OptionsResult {
  const options: OverheadOptions = { ...OVERHEAD_DEFAULTS };
  const problems: string[] = [];
  const switches = { '--help': () => (options.help = true) };
  readFlags(
    argv,
    { switches, numbers: NUMBER_FLAGS, texts: ['--alg', '--gateway-log', '--out'] },
    (key, n) => (options[key] = n),
    (flag, value) => {
      if (flag === '--alg') {
        if (value === 'ES256' || value === 'RS256') options.algorithm = value;
        else problems.push('--alg: must be ES256 or RS256');
      } else if (flag === '--gateway-log') {
        if (value === 'silent' || value === 'null-stream') options.gatewayLog = value;
        else problems.push('--gateway-log: must be silent or null-stream');
      } else {
        options.outFile = value;
      }
    },
    problems,
  );
  return problems.length > 0 ? { ok: false, problems } : { ok: true, options: Object.freeze(options) };
}
