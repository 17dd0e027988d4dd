/** `npm run bench:soak -- [flags]`: parsed once, every problem reported, the result frozen. */
import { readFlags, type NumberFlag } from '../flags';

export const GATEWAY_LOG_LEVELS = ['info', 'warn', 'silent'] as const;
export type GatewayLogLevel = (typeof GATEWAY_LOG_LEVELS)[number];

export interface SoakOptions {
  /** Requests per second offered to the gateway, whatever it answers (open loop). */
  ratePerSec: number;
  /** Load on the gateway, warm-up included. */
  durationSec: number;
  /** The first seconds of the load, left out of every drift and latency figure. */
  warmupSec: number;
  /** The same load straight to the sandbox before the gateway starts; 0 skips it. */
  baselineSec: number;
  /** Requests the generator keeps open at once; a request due while full is counted, not sent. */
  maxInFlight: number;
  /** Seconds between progress lines. */
  progressSec: number;
  /** Upstream faults injected through the sandbox referee, as fractions of admitted requests. */
  errorRate: number;
  dropRate: number;
  slowRate: number;
  /** The gateway's LOG_LEVEL: `info` writes one access line per request, as in production. */
  gatewayLogLevel: GatewayLogLevel;
  /** Shared schedule in a real redis-server (default), or the in-memory one. */
  redis: boolean;
  outFile: string;
  keepLogs: boolean;
  help: boolean;
}

export const SOAK_DEFAULTS = Object.freeze({
  ratePerSec: 500,
  durationSec: 600,
  /** Default warm-up: this long, or this fraction of the duration when that is shorter. */
  warmupCapSec: 60,
  warmupFraction: 0.1,
  /** Default baseline: 10 % of the duration, between these bounds. */
  baselineMinSec: 10,
  baselineMaxSec: 60,
  maxInFlight: 512,
  progressSec: 10,
  errorRate: 0.01,
  dropRate: 0.003,
  slowRate: 0.003,
  gatewayLogLevel: 'info' as GatewayLogLevel,
  outFile: 'bench/results/soak.json',
});

export const SOAK_USAGE = `Usage: npm run bench:soak -- [flags]

Sustained mixed traffic through one gateway process (its own process, measured by itself) in front
of the sandbox (its own process), on the shared schedule in a real redis-server: allowed reads and
writes, requests over a caller's rate limit (the gateway's schedule answers 429), bad tokens (401),
missing scopes (403), and upstream faults injected through the sandbox referee (500s relayed, drops
mapped to 502, slow answers to 504). Requests are sent open loop at a fixed rate from this process.
Reports every response by kind, latency, the gateway's RSS, event-loop delay and open handles over
time and at the end, and whether it exits within 5 s of SIGTERM. Everything listens on 127.0.0.1.

  --rate <n>             requests per second offered (default ${SOAK_DEFAULTS.ratePerSec})
  --duration <s>         seconds of load on the gateway, warm-up included (default ${SOAK_DEFAULTS.durationSec})
  --warmup <s>           first seconds left out of drift and latency figures
                         (default ${SOAK_DEFAULTS.warmupCapSec}, or 10 % of --duration when shorter)
  --baseline <s>         the same load straight to the sandbox first, for side-by-side ratios
                         (default 10 % of --duration, ${SOAK_DEFAULTS.baselineMinSec}-${SOAK_DEFAULTS.baselineMaxSec} s; 0 skips it)
  --max-in-flight <n>    open requests at most; one due while full is counted as a client error
                         (default ${SOAK_DEFAULTS.maxInFlight})
  --progress <s>         seconds between progress lines (default ${SOAK_DEFAULTS.progressSec})
  --error-rate <0..1>    upstream 500s, of requests the sandbox admits (default ${SOAK_DEFAULTS.errorRate})
  --drop-rate <0..1>     upstream connections dropped unanswered (default ${SOAK_DEFAULTS.dropRate})
  --slow-rate <0..1>     upstream answers later than the gateway's upstream timeout (default ${SOAK_DEFAULTS.slowRate})
  --log-level <level>    the gateway's LOG_LEVEL: ${GATEWAY_LOG_LEVELS.join(', ')} (default ${SOAK_DEFAULTS.gatewayLogLevel})
  --no-redis             the in-memory schedule instead of a redis-server
  --out <file>           JSON results (default ${SOAK_DEFAULTS.outFile})
  --keep-logs            keep the temporary directory (policy, every process's log)

Exit code 0 whatever the figures: it is a measurement, not a test.`;

export type SoakOptionsResult = { ok: true; options: Readonly<SoakOptions> } | { ok: false; problems: string[] };

type NumberKey =
  | 'ratePerSec'
  | 'durationSec'
  | 'warmupSec'
  | 'baselineSec'
  | 'maxInFlight'
  | 'progressSec'
  | 'errorRate'
  | 'dropRate'
  | 'slowRate';

const NUMBER_FLAGS: Record<string, NumberFlag<NumberKey>> = {
  '--rate': { key: 'ratePerSec', min: 1, max: 10_000, integer: false },
  '--duration': { key: 'durationSec', min: 2, max: 86_400, integer: false },
  '--warmup': { key: 'warmupSec', min: 0, max: 3600, integer: false },
  '--baseline': { key: 'baselineSec', min: 0, max: 3600, integer: false },
  '--max-in-flight': { key: 'maxInFlight', min: 1, max: 10_000, integer: true },
  '--progress': { key: 'progressSec', min: 1, max: 3600, integer: false },
  '--error-rate': { key: 'errorRate', min: 0, max: 0.5, integer: false },
  '--drop-rate': { key: 'dropRate', min: 0, max: 0.5, integer: false },
  '--slow-rate': { key: 'slowRate', min: 0, max: 0.5, integer: false },
};
const TEXT_FLAGS = ['--out', '--log-level'];

export function defaultWarmupSec(durationSec: number): number {
  return Math.min(SOAK_DEFAULTS.warmupCapSec, durationSec * SOAK_DEFAULTS.warmupFraction);
}

export function defaultBaselineSec(durationSec: number): number {
  return Math.min(SOAK_DEFAULTS.baselineMaxSec, Math.max(SOAK_DEFAULTS.baselineMinSec, durationSec * 0.1));
}

export function parseSoakArgs(argv: readonly string[]): SoakOptionsResult {
  const given: Partial<Record<NumberKey, number>> = {};
  const problems: string[] = [];
  let help = false;
  let keepLogs = false;
  let redis = true;
  let outFile: string = SOAK_DEFAULTS.outFile;
  let gatewayLogLevel: GatewayLogLevel = SOAK_DEFAULTS.gatewayLogLevel;
  const switches = {
    '--help': () => (help = true),
    '--keep-logs': () => (keepLogs = true),
    '--no-redis': () => (redis = false),
  };
  readFlags(
    argv,
    { switches, numbers: NUMBER_FLAGS, texts: TEXT_FLAGS },
    (key, n) => (given[key] = n),
    (flag, value) => {
      if (flag === '--out') outFile = value;
      else if ((GATEWAY_LOG_LEVELS as readonly string[]).includes(value)) gatewayLogLevel = value as GatewayLogLevel;
      else problems.push(`--log-level: must be one of ${GATEWAY_LOG_LEVELS.join(', ')}`);
    },
    problems,
  );

  const durationSec = given.durationSec ?? SOAK_DEFAULTS.durationSec;
  const options: SoakOptions = {
    ratePerSec: given.ratePerSec ?? SOAK_DEFAULTS.ratePerSec,
    durationSec,
    warmupSec: given.warmupSec ?? defaultWarmupSec(durationSec),
    baselineSec: given.baselineSec ?? defaultBaselineSec(durationSec),
    maxInFlight: given.maxInFlight ?? SOAK_DEFAULTS.maxInFlight,
    progressSec: given.progressSec ?? SOAK_DEFAULTS.progressSec,
    errorRate: given.errorRate ?? SOAK_DEFAULTS.errorRate,
    dropRate: given.dropRate ?? SOAK_DEFAULTS.dropRate,
    slowRate: given.slowRate ?? SOAK_DEFAULTS.slowRate,
    gatewayLogLevel,
    redis,
    outFile,
    keepLogs,
    help,
  };
  // Drift compares the first and the last quarter of what follows the warm-up: it needs some.
  if (options.warmupSec > options.durationSec * 0.5) problems.push('--warmup: must be at most half of --duration');
  return problems.length > 0 ? { ok: false, problems } : { ok: true, options: Object.freeze(options) };
}
