/** `npm run bench:fleet -- [flags]`: parsed once, every problem reported, the result frozen. */
import { readFlags, type NumberFlag } from '../flags';
import {
  defaultScenarios,
  REDIS_TOPOLOGIES,
  SCENARIOS,
  SCENARIO_TRAITS,
  type RedisTopologyName,
  type ScenarioName,
} from './scenarios';

export { SCENARIOS, type ScenarioName, type RedisTopologyName };

export interface FleetOptions {
  /** Load per phase (ours, then the baseline), judged from its first request. */
  durationSec: number;
  /** The first seconds of each phase, left out of utilization, shares and queue waits only. */
  warmupSec: number;
  /** How many times every chosen scenario runs; the report gives medians and spreads over them. */
  runs: number;
  /** How long Redis stays dead in the outage scenario. */
  outageSec: number;
  /** When Redis is killed, seconds after the phase starts. */
  outageAtSec: number;
  /** limits-auto: when the sandbox switches from `launch` to `current`, seconds after the phase starts. */
  switchAtSec: number;
  /** Concurrent caller loops, spread over the configured callers and the three gateways. */
  workers: number;
  /** The gateway's safety factor (policy `limits.default.safety`): fixed, or `auto` (adaptive, issue #15). */
  safety: number | 'auto';
  /** Callers' `maxWaitMs` (the deadline of every request). */
  maxWaitMs: number;
  scenarios: readonly ScenarioName[];
  /** The Redis topology the gateways (and the baseline) share. */
  redis: RedisTopologyName;
  /** Fixed-window phase of the sandbox; undefined: random per scenario run. */
  windowPhaseMs?: number;
  outFile: string;
  chartFile: string;
  /** Keep the temporary directory (policy, every process's log) after a successful run. */
  keepLogs: boolean;
  /** The gateways learn a fixed-window provider's phase (SCHEDULE_LEARN_WINDOW_PHASE=1; opt-in in the product). */
  learnWindowPhase: boolean;
  help: boolean;
}

export const FLEET_DEFAULTS: Readonly<FleetOptions> = Object.freeze({
  durationSec: 20,
  warmupSec: 3,
  runs: 3,
  outageSec: 6,
  outageAtSec: 6,
  switchAtSec: 8,
  workers: 60,
  // The policy's default: the bench judges what ships.
  safety: 0.95,
  maxWaitMs: 2000,
  scenarios: defaultScenarios('single'),
  redis: 'single',
  outFile: 'bench/results/fleet.json',
  chartFile: 'bench/results/fleet.svg',
  keepLogs: false,
  learnWindowPhase: false,
  help: false,
});

export const FLEET_USAGE = `Usage: npm run bench:fleet -- [flags]

Three gateway processes sharing one redis-server, in front of the sandbox (launch profile:
30 reads/s + 5 writes/s per key, 20 ms + up to 10 ms latency), under saturating load from many
weighted callers (a separate load process); then the same load through a naive fixed-window
limiter (RateLimiterRedis, 30 and 5 per 1 s). The sandbox's referee judges every request from the
first one: the gateways start right before their phase, nothing runs unjudged. Everything
listens on 127.0.0.1. Scenarios (in this order):
  fixed     sandbox windows fixed, random phase
  sliding   exact sliding window
  outage    sliding; Redis killed mid-phase, restarted empty (--redis single only)
  starved   sliding; one busy-loop process per core for the whole scenario
  restart   sliding; replicas restarted one at a time (at 1/4, 2/4, 3/4 of the phase), same ports
  limits-auto  sliding; the account's limits are auto, the sandbox switches from launch to current
            (2 requests/s for all) at --switch-at-sec; judged: ≤ 1 upstream 429, adapted within 2 s
  failover  sliding; the Redis master killed mid-phase, a replica promoted (--redis sentinel|cluster)

  --duration-sec <n>     load per phase, ours and baseline each (default ${FLEET_DEFAULTS.durationSec})
  --warmup-sec <n>       first seconds of a phase left out of utilization, shares and queue waits
                         only; 429s and the most in any 1 s count from the first request
                         (default ${FLEET_DEFAULTS.warmupSec})
  --runs <n>             repeat every chosen scenario n times; medians and spreads are reported,
                         a target passes only if it passes in every run (default ${FLEET_DEFAULTS.runs})
  --outage-sec <n>       Redis dead for this long in the outage scenario (default ${FLEET_DEFAULTS.outageSec})
  --outage-at-sec <n>    seconds into the phase when Redis is killed (default ${FLEET_DEFAULTS.outageAtSec})
  --switch-at-sec <n>    seconds into the phase when limits-auto switches the sandbox's profile
                         (default ${FLEET_DEFAULTS.switchAtSec})
  --workers <n>          concurrent caller loops, at least 12 (default ${FLEET_DEFAULTS.workers})
  --safety <0..1|auto>   gateway safety factor (default ${FLEET_DEFAULTS.safety}, the policy's default);
                         auto: sized from the measured send delays (policy safety: auto)
  --max-wait-ms <n>      callers' deadline, policy maxWaitMs (default ${FLEET_DEFAULTS.maxWaitMs})
  --redis <topology>     single: one redis-server (default); sentinel: 1 master, 1 replica, 3 Sentinels;
                         cluster: 3 masters with one replica each
  --scenarios <list>     comma-separated subset of ${SCENARIOS.join(',')} (default: every one
                         that applies to the --redis topology)
  --outage-sec <n> and --outage-at-sec <n> also place the failover: the master is killed at
                         --outage-at-sec, capacity is not judged for --outage-sec + 3 s
  --window-phase-ms <n>  fixed-window phase 0-999 (default random per run)
  --out <file>           JSON results, every run and the summary (default ${FLEET_DEFAULTS.outFile})
  --chart <file>         SVG chart of the first run (default ${FLEET_DEFAULTS.chartFile})
  --keep-logs            keep the temporary directory with every process's log (kept anyway on failure)
  --learn-window-phase   the gateways learn a fixed-window provider's phase (SCHEDULE_LEARN_WINDOW_PHASE=1,
                         off by default in the product) and log their grid changes (LOG_LEVEL info)

Exit code 0 whatever the figures: it is a measurement, not a test.`;

export type FleetOptionsResult = { ok: true; options: Readonly<FleetOptions> } | { ok: false; problems: string[] };

type NumberKey =
  | 'durationSec'
  | 'warmupSec'
  | 'runs'
  | 'outageSec'
  | 'outageAtSec'
  | 'switchAtSec'
  | 'workers'
  | 'safety'
  | 'maxWaitMs'
  | 'windowPhaseMs';

const NUMBER_FLAGS: Record<string, NumberFlag<NumberKey>> = {
  '--duration-sec': { key: 'durationSec', min: 5, max: 600, integer: false },
  '--warmup-sec': { key: 'warmupSec', min: 0, max: 60, integer: false },
  '--runs': { key: 'runs', min: 1, max: 20, integer: true },
  '--outage-sec': { key: 'outageSec', min: 1, max: 120, integer: false },
  '--outage-at-sec': { key: 'outageAtSec', min: 1, max: 600, integer: false },
  '--switch-at-sec': { key: 'switchAtSec', min: 1, max: 600, integer: false },
  '--workers': { key: 'workers', min: 12, max: 600, integer: true },
  '--safety': { key: 'safety', min: 0.5, max: 1, integer: false },
  '--max-wait-ms': { key: 'maxWaitMs', min: 100, max: 60_000, integer: true },
  '--window-phase-ms': { key: 'windowPhaseMs', min: 0, max: 999, integer: true },
};
const TEXT_FLAGS = ['--scenarios', '--out', '--chart', '--redis'];

/** After the switch: the 2 s the fleet has to adapt, and one whole 1 s window to see that it did. */
const MIN_SEC_AFTER_SWITCH = 3;

/** `--safety auto` (or `--safety=auto`), the one word the numeric flag takes, is taken out before numbers are read. */
function withoutSafetyAuto(argv: readonly string[]): { argv: readonly string[]; found: boolean } {
  const at = argv.findIndex((arg, i) => arg === '--safety=auto' || (arg === '--safety' && argv[i + 1] === 'auto'));
  if (at < 0) return { argv, found: false };
  const width = argv[at] === '--safety=auto' ? 1 : 2;
  return { argv: [...argv.slice(0, at), ...argv.slice(at + width)], found: true };
}

export function parseFleetArgs(argv: readonly string[]): FleetOptionsResult {
  const options: FleetOptions = { ...FLEET_DEFAULTS };
  const problems: string[] = [];
  const safetyAuto = withoutSafetyAuto(argv);
  if (safetyAuto.found) options.safety = 'auto';
  let scenariosGiven = false;
  const switches = {
    '--help': () => (options.help = true),
    '--keep-logs': () => (options.keepLogs = true),
    '--learn-window-phase': () => (options.learnWindowPhase = true),
  };
  readFlags(
    safetyAuto.argv,
    { switches, numbers: NUMBER_FLAGS, texts: TEXT_FLAGS },
    (key, n) => (options[key] = n),
    (flag, value) => {
      if (flag === '--scenarios') {
        const names = value.split(',').map((name) => name.trim());
        const unknown = names.filter((n) => !(SCENARIOS as readonly string[]).includes(n));
        if (unknown.length > 0)
          problems.push(`--scenarios: unknown ${unknown.join(', ')}; choose from ${SCENARIOS.join(', ')}`);
        else options.scenarios = SCENARIOS.filter((name) => names.includes(name));
        scenariosGiven = true;
      } else if (flag === '--redis') {
        if ((REDIS_TOPOLOGIES as readonly string[]).includes(value)) options.redis = value as RedisTopologyName;
        else problems.push(`--redis: must be one of ${REDIS_TOPOLOGIES.join(', ')}`);
      } else if (flag === '--out') {
        options.outFile = value;
      } else {
        options.chartFile = value;
      }
    },
    problems,
  );
  if (!scenariosGiven) options.scenarios = defaultScenarios(options.redis);
  for (const name of options.scenarios)
    if (!SCENARIO_TRAITS[name].topologies.includes(options.redis))
      problems.push(
        `--scenarios: ${name} needs --redis ${SCENARIO_TRAITS[name].topologies.join(' or ')}, not ${options.redis}`,
      );
  if (options.warmupSec >= options.durationSec) problems.push('--warmup-sec: must be shorter than --duration-sec');
  if (
    options.scenarios.some((name) => SCENARIO_TRAITS[name].killsRedis) &&
    options.outageAtSec + options.outageSec >= options.durationSec
  ) {
    problems.push('--outage-at-sec + --outage-sec: must end before --duration-sec');
  }
  if (
    options.scenarios.some((name) => SCENARIO_TRAITS[name].switchesLimits) &&
    options.switchAtSec + MIN_SEC_AFTER_SWITCH > options.durationSec
  ) {
    problems.push(
      `--switch-at-sec: must leave at least ${MIN_SEC_AFTER_SWITCH} s of --duration-sec after the switch (2 s to adapt, one window to see it)`,
    );
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, options: Object.freeze(options) };
}

/**
 * Per scenario, on top of its two phases of load: the sandbox, each phase's replicas and load
 * process starting, settling and stopping (a draining gateway may take up to maxWaitMs).
 */
const PER_SCENARIO_SLACK_SEC = 10;

/** How long a run should take: the watchdog's estimate and the start-up message. */
export function expectedSec(options: Readonly<Pick<FleetOptions, 'runs' | 'scenarios' | 'durationSec'>>): number {
  return options.runs * options.scenarios.length * (2 * options.durationSec + PER_SCENARIO_SLACK_SEC);
}
