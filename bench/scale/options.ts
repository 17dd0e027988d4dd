/** `npm run bench:scale -- [flags]`: parsed once, every problem reported, the result frozen. */
import { readFlags, type NumberFlag } from '../flags';

export const GRIDS = ['full', 'axes'] as const;
export type GridName = (typeof GRIDS)[number];

export interface ScaleOptions {
  /** Distinct callers in the policy (each with its own token), one grid axis. */
  callers: readonly number[];
  /** Accounts the callers are spread over (each with its own upstream key), the other axis. */
  accounts: readonly number[];
  /** `full`: every pair; `axes`: each axis varied alone from (first callers, first accounts). */
  grid: GridName;
  /** Load per phase, judged from its first request; through the gateways longer where needed to reach every caller. */
  phaseSec: number;
  /** Open-loop requests per second, the same in both phases and at every point. */
  ratePerSec: number;
  /** The gateways' SCHEDULE_IDLE_TTL_MS in seconds; undefined: the product default (60 s). */
  idleTtlSec?: number;
  /** After the last point, watch the idle accounts' keys expire this long at most. */
  expiryWaitSec: number;
  outFile: string;
  chartFile: string;
  keepLogs: boolean;
  help: boolean;
}

/** The product's SCHEDULE_IDLE_TTL_MS default (src/schedule/tuning.ts), in seconds. */
export const PRODUCT_IDLE_TTL_SEC = 60;
/** Past the idle TTL: Redis's active expiry samples keys ten times a second, and the last slot may lie ahead. */
const EXPIRY_SLACK_SEC = 15;
/** Each account's gateway read limit: every request takes a slot, none waits long for one. */
export const ACCOUNT_READ_PER_SEC = 1000;

export const SCALE_DEFAULTS: Readonly<ScaleOptions> = Object.freeze({
  callers: Object.freeze([10, 1000, 10_000]),
  accounts: Object.freeze([1, 10, 100]),
  // The full grid reaches every one of 10,000 callers three times over: about 6.5 minutes; the axes about 4.
  grid: 'axes',
  phaseSec: 8,
  ratePerSec: 250,
  expiryWaitSec: PRODUCT_IDLE_TTL_SEC + EXPIRY_SLACK_SEC,
  outFile: 'bench/results/scale.json',
  chartFile: 'bench/results/scale.svg',
  keepLogs: false,
  help: false,
});

export const SCALE_USAGE = `Usage: npm run bench:scale -- [flags]

What a gateway costs as callers and accounts grow: for each point of the grid, a policy with that
many callers (one token each) spread over that many accounts (one sandbox key each), three gateway
processes sharing one redis-server in front of the sandbox (every account ${ACCOUNT_READ_PER_SEC} reads/s at the
gateway, more at the sandbox: every request takes a slot, none is throttled), and an open-loop load
from a separate process, each request from the next caller: first through the gateways, started
right before their phase and judged from their first request, then, once they are stopped, the same
rate straight to the sandbox (the baseline). After the last point's gateway phase the load stops and
the bench watches the idle accounts' schedule keys expire.

  --callers <list>       comma-separated caller counts (default ${SCALE_DEFAULTS.callers.join(',')})
  --accounts <list>      comma-separated account counts (default ${SCALE_DEFAULTS.accounts.join(',')})
  --grid <full|axes>     full: every pair; axes: each axis alone from the first of each list
                         (default ${SCALE_DEFAULTS.grid}: the full grid takes about 6.5 minutes)
  --phase-sec <n>        load per phase, baseline and gateways each; the gateways' phase lasts
                         longer where the rate needs it to reach every caller once
                         (default ${SCALE_DEFAULTS.phaseSec})
  --rate <n>             requests per second, open loop (default ${SCALE_DEFAULTS.ratePerSec}, at most ${ACCOUNT_READ_PER_SEC / 2})
  --idle-ttl-sec <n>     the gateways' SCHEDULE_IDLE_TTL_MS in seconds (default: the product's, ${PRODUCT_IDLE_TTL_SEC})
  --expiry-wait-sec <n>  watch the keys expire this long at most (default: idle TTL + ${EXPIRY_SLACK_SEC})
  --out <file>           JSON results (default ${SCALE_DEFAULTS.outFile})
  --chart <file>         SVG chart (default ${SCALE_DEFAULTS.chartFile})
  --keep-logs            keep the temporary directory with every process's log (kept anyway on failure)

Exit code 0 whatever the figures: it is a measurement, not a test.`;

export type ScaleOptionsResult = { ok: true; options: Readonly<ScaleOptions> } | { ok: false; problems: string[] };

type NumberKey = 'phaseSec' | 'ratePerSec' | 'idleTtlSec' | 'expiryWaitSec';

const NUMBER_FLAGS: Record<string, NumberFlag<NumberKey>> = {
  '--phase-sec': { key: 'phaseSec', min: 1, max: 600, integer: false },
  '--rate': { key: 'ratePerSec', min: 1, max: ACCOUNT_READ_PER_SEC / 2, integer: false },
  '--idle-ttl-sec': { key: 'idleTtlSec', min: 1, max: 3600, integer: true },
  '--expiry-wait-sec': { key: 'expiryWaitSec', min: 0, max: 3600, integer: false },
};
const TEXT_FLAGS = ['--callers', '--accounts', '--grid', '--out', '--chart'];
const LIST_LIMITS = { '--callers': 100_000, '--accounts': 1000 } as const;

export function parseScaleArgs(argv: readonly string[]): ScaleOptionsResult {
  const options: ScaleOptions = { ...SCALE_DEFAULTS };
  const problems: string[] = [];
  let expiryWaitGiven = false;
  const switches = {
    '--help': () => (options.help = true),
    '--keep-logs': () => (options.keepLogs = true),
  };
  readFlags(
    argv,
    { switches, numbers: NUMBER_FLAGS, texts: TEXT_FLAGS },
    (key, n) => {
      options[key] = n;
      if (key === 'expiryWaitSec') expiryWaitGiven = true;
    },
    (flag, value) => {
      if (flag === '--callers' || flag === '--accounts') {
        const list = parseCountList(value, LIST_LIMITS[flag]);
        if (typeof list === 'string') problems.push(`${flag}: ${list}`);
        else options[flag === '--callers' ? 'callers' : 'accounts'] = list;
      } else if (flag === '--grid') {
        if ((GRIDS as readonly string[]).includes(value)) options.grid = value as GridName;
        else problems.push(`--grid: must be one of ${GRIDS.join(', ')}`);
      } else if (flag === '--out') {
        options.outFile = value;
      } else {
        options.chartFile = value;
      }
    },
    problems,
  );
  if (!expiryWaitGiven) options.expiryWaitSec = (options.idleTtlSec ?? PRODUCT_IDLE_TTL_SEC) + EXPIRY_SLACK_SEC;
  return problems.length > 0 ? { ok: false, problems } : { ok: true, options: Object.freeze(options) };
}

/** Whole numbers from 1 to `max`, comma-separated, ascending without repeats; a problem as text. */
export function parseCountList(text: string, max: number): readonly number[] | string {
  const words = text.split(',').map((w) => w.trim());
  const counts = words.map(Number);
  if (words.some((w, i) => w === '' || !Number.isInteger(counts[i]) || counts[i]! < 1 || counts[i]! > max))
    return `must be whole numbers from 1 to ${max}, comma-separated`;
  if (counts.some((n, i) => i > 0 && n <= counts[i - 1]!)) return 'must be ascending, without repeats';
  return Object.freeze(counts);
}

export interface GridPoint {
  callers: number;
  accounts: number;
}

/**
 * The points in the order they run. The last one, whose idle keys are watched expiring, holds the most
 * callers: full, callers inner (each accounts row measured together); axes, the accounts axis first.
 */
export function gridPoints(options: Readonly<Pick<ScaleOptions, 'callers' | 'accounts' | 'grid'>>): GridPoint[] {
  const { callers, accounts } = options;
  if (options.grid === 'full') return accounts.flatMap((a) => callers.map((c) => ({ callers: c, accounts: a })));
  return [
    ...accounts.map((a) => ({ callers: callers[0]!, accounts: a })),
    ...callers.slice(1).map((c) => ({ callers: c, accounts: accounts[0]! })),
  ];
}

/** The gateways' phase: `--phase-sec`, or longer, so that the cycle through the callers reaches every one once. */
export function gatewayPhaseSec(options: Readonly<Pick<ScaleOptions, 'phaseSec' | 'ratePerSec'>>, callers: number) {
  return Math.max(options.phaseSec, Math.ceil(callers / options.ratePerSec));
}

/** Per point, on top of its two phases: three gateways starting (a 10,000-caller policy takes a while), settling. */
const PER_POINT_SLACK_SEC = 8;
/** The sandbox and Redis starting, the tokens minted. */
const RUN_SLACK_SEC = 5;

/** How long a run should take: the watchdog's estimate and the start-up message. */
export function expectedSec(options: Readonly<ScaleOptions>): number {
  const perPointSec = gridPoints(options).map(
    (point) => gatewayPhaseSec(options, point.callers) + options.phaseSec + PER_POINT_SLACK_SEC,
  );
  return perPointSec.reduce((a, b) => a + b, 0) + options.expiryWaitSec + RUN_SLACK_SEC;
}
