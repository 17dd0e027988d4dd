/**
 * The run: one Redis for the whole bench (a redis-server, a Sentinel setup or a Cluster: `--redis`);
 * `--runs` passes over the chosen scenarios; per scenario a fresh sandbox and two phases with the
 * same callers — ours through three gateways started right before it, then the baseline through
 * three replicas started after the gateways stopped. Each phase is judged from its first request:
 * referee reset, then the load process starts.
 */
import { randomBytes, randomInt } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { mintToken } from '../../src/gateway/auth/mint-token';
import { keyLabel } from '../../src/sandbox/keys';
import type { ProfileSwitch, SandboxStats } from '../../src/sandbox';
import { adaptationFigures } from './adaptation';
import { adoptionSeen } from './adoption-probes';
import { sleep, type Child, type ChildGroup } from './children';
import { planCallers, planWorkers, type WorkerPlan } from './callers';
import { commandDelta, phaseFigures, type RoundTripSource } from './figures';
import {
  gatewayCounters,
  pollModes,
  scheduleMode,
  scrapeMetrics,
  MODE_POLL_INTERVAL_MS,
  type ModeChange,
} from './gateway-probes';
import { learnedGrid } from './learned-grid';
import { startLoadProcess } from './load-runner';
import { watchLoopDelay } from '../../src/shared/loop-delay';
import type { FleetOptions, ScenarioName } from './options';
import { BENCH_ACCOUNT, BENCH_AUDIENCE, BENCH_ISSUER, BENCH_KID } from './policy';
import { startBenchRedis, type BenchRedis } from './redis-server';
import { restartPlan, type RestartRecord } from './restart-plan';
import type {
  Contention,
  FleetRun,
  FleetRuns,
  LimitsSwitchRecord,
  OutageRecord,
  PhaseResult,
  ScenarioResult,
} from './results';
import { SCENARIO_TRAITS } from './scenarios';
import { PROVIDER_LIMITS, SANDBOX_OWNER_KEY, REPLICAS, startStack, type FleetStack, type ReplicaSet } from './stack';
import { checkTargets } from './targets';
import type { BuiltTrees } from '../supervised-run';

export interface RunEnvironment extends BuiltTrees {
  workDir: string;
  group: ChildGroup;
  log(line: string): void;
}

const SETTLE_MS = 500;
/** After Redis is back: the schedule's 1 s return guard, then queues and callers' Retry-After sleeps refill. */
const OUTAGE_RECOVERY_MS = 3000;
/** A restarted replica drains its queue (each request waits at most maxWaitMs) before SIGKILL. */
const RESTART_DRAIN_SLACK_MS = 3000;
/** How long a restarted gateway is watched for the shared schedule, at least (past the phase's end if need be). */
const SHARED_WAIT_MS = 5000;
/**
 * What rate-limiter-flexible's RateLimiterRedis script calls (lib/RateLimiterRedis.js,
 * incrTtlLuaScript): counted by `INFO commandstats`, but run inside the script, not sent.
 */
const BASELINE_SCRIPT_COMMANDS: ReadonlySet<string> = new Set(['set', 'incrby', 'pttl', 'expire']);
const TOKEN_LIFETIME_SEC = 3600;
/** limits-auto: the account's bounds, around both profiles (launch 30 + 5/s, current 2/s for all). */
const AUTO_BOUNDS = Object.freeze({ minPerSecond: 1, maxPerSecond: 30 });
/** limits-auto: the adoption line is logged at info; the other scenarios run the gateways at warn. */
const LIMITS_AUTO_LOG_LEVEL = 'info';

/** What every phase of every run shares. */
interface RunContext {
  options: Readonly<FleetOptions>;
  env: RunEnvironment;
  redis: BenchRedis;
  workers: WorkerPlan[];
  keyLabel: string;
  callers: ReturnType<typeof planCallers>;
  jwtSecret: string;
}

export async function runFleet(options: Readonly<FleetOptions>, env: RunEnvironment): Promise<FleetRuns> {
  const callers = planCallers(options.workers);
  const workers = planWorkers(callers, REPLICAS);
  const jwtSecret = randomBytes(32).toString('hex');
  const redis = await startBenchRedis(env.group, env.workDir, options.redis);
  env.log(
    `${redis.description}; ${workers.length} caller loops over ${callers.length} callers (weights ${callers.map((c) => c.weight).join(', ')})`,
  );
  const ctx: RunContext = {
    options,
    env,
    redis,
    workers,
    keyLabel: keyLabel({ key: SANDBOX_OWNER_KEY, team: 'team-a', role: 'owner' }),
    callers,
    jwtSecret,
  };
  const runs: FleetRun[] = [];
  try {
    for (let run = 1; run <= options.runs; run++) {
      const scenarios: ScenarioResult[] = [];
      for (const name of options.scenarios) scenarios.push(await runScenario(ctx, name, run));
      runs.push({ run, scenarios });
    }
  } finally {
    await redis.stop();
  }
  return { callers, runs };
}

async function runScenario(ctx: RunContext, name: ScenarioName, run: number): Promise<ScenarioResult> {
  const { options, env, redis } = ctx;
  const traits = SCENARIO_TRAITS[name];
  const windowPhaseMs = traits.window === 'fixed' ? (options.windowPhaseMs ?? randomInt(1000)) : 0;
  const dir = path.join(env.workDir, `run-${run}`, name);
  const tag = `run ${run}/${options.runs}, ${name}`;
  await redis.flushAll();
  env.log(`${tag}: sandbox window ${traits.window}${traits.window === 'fixed' ? ` (phase ${windowPhaseMs} ms)` : ''}`);
  const stack = await startStack(env.group, {
    distDir: env.distDir,
    benchDir: env.benchDir,
    workDir: dir,
    redis,
    window: traits.window,
    windowPhaseMs,
    safety: options.safety,
    maxWaitMs: options.maxWaitMs,
    callers: ctx.callers,
    jwtSecret: ctx.jwtSecret,
    ...(traits.switchesLimits ? { autoBounds: AUTO_BOUNDS, gatewayLogLevel: LIMITS_AUTO_LOG_LEVEL } : {}),
    ...(options.learnWindowPhase ? { learnWindowPhase: true, gatewayLogLevel: 'info' } : {}),
  });
  const hogs: Child[] = [];
  try {
    // Both phases starve alike: the hogs run from before the gateways start until the baseline ends.
    if (traits.hogsCpu) hogs.push(...startCpuHogs(env.group, dir));
    const ours = await runPhase(ctx, stack, name, 'ours', dir, tag);
    await sleep(SETTLE_MS);
    const baseline = await runPhase(ctx, stack, name, 'baseline', dir, tag);
    return { name, window: traits.window, windowPhaseMs, ours, baseline };
  } finally {
    await Promise.all(hogs.map((h) => h.stop()));
    await stack.stop();
  }
}

/** Fresh per phase: a long bench outlasts the policy's maximum token lifetime. */
function mintTokens(ctx: RunContext): Map<string, string> {
  return new Map(
    ctx.callers.map((c) => [
      c.id,
      mintToken({
        sub: c.id,
        lifetimeSec: TOKEN_LIFETIME_SEC,
        signingKey: ctx.jwtSecret,
        alg: 'HS256',
        kid: BENCH_KID,
        issuer: BENCH_ISSUER,
        audience: BENCH_AUDIENCE,
        now: Date.now,
      }),
    ]),
  );
}

/** One busy loop per core (at least two): every core stays busy with work that is not the bench's. */
function startCpuHogs(group: ChildGroup, dir: string): Child[] {
  return Array.from({ length: Math.max(2, os.cpus().length) }, (_, i) =>
    group.spawn(`cpu-hog-${i + 1}`, process.execPath, ['-e', 'for(;;){}'], {
      logFile: path.join(dir, `cpu-hog-${i + 1}.log`),
    }),
  );
}

async function runPhase(
  ctx: RunContext,
  stack: FleetStack,
  name: ScenarioName,
  which: 'ours' | 'baseline',
  dir: string,
  tag: string,
): Promise<PhaseResult> {
  const { options, env, redis } = ctx;
  const traits = SCENARIO_TRAITS[name];
  const durationMs = options.durationSec * 1000;
  // Before the replicas start: their start-up commands belong to the phase.
  const before = await redis.commandCalls();
  env.log(
    `${tag}: ${which}: starting ${REPLICAS} ${which === 'ours' ? 'gateways' : 'baseline replicas'}, then ${options.durationSec} s of load`,
  );
  const replicas = which === 'ours' ? await stack.startGateways() : await stack.startBaselines();
  try {
    await stack.refereeReset();
    const benchLoop = watchLoopDelay();
    const load = await startLoadProcess(env.group, env.benchDir, dir, `load-${which}`, {
      targets: replicas.replicas.map((r) => r.url),
      workers: ctx.workers,
      tokens: mintTokens(ctx),
      durationMs,
      requestTimeoutMs: options.maxWaitMs + 5000,
    });
    const { startedAtMs } = load;
    const adminUrls = replicas.replicas.flatMap((r) => (r.adminUrl ? [r.adminUrl] : []));
    const poller = traits.killsRedis && which === 'ours' ? pollModes(adminUrls, startedAtMs) : undefined;
    const outage = traits.killsRedis
      ? traits.failover
        ? runFailover(redis, options, startedAtMs)
        : runOutage(redis, options, startedAtMs)
      : undefined;
    // The referee reset put the sandbox back on launch: both phases see the same switch.
    const profileSwitch = traits.switchesLimits
      ? sleep(startedAtMs + options.switchAtSec * 1000 - Date.now()).then(() => stack.switchProfile('current'))
      : undefined;
    // A gateway's counters die with it: each one replaced mid-phase is scraped just before it stops.
    const metricTexts: Array<string | null> = [];
    const restarts = traits.restartsReplicas
      ? rollingRestart(
          replicas,
          startedAtMs,
          options,
          which === 'ours' ? async (url) => void metricTexts.push(await scrapeMetrics(url)) : undefined,
        )
      : undefined;
    const { load: loadResult, loopDelay } = await load.result;
    const benchDelay = benchLoop.stop();
    const outageTimes = await outage;
    const restartRecords = await restarts;
    const switched = await profileSwitch;
    const loadAverage1m = Math.round(os.loadavg()[0]! * 100) / 100;
    await sleep(SETTLE_MS);
    const stats = await stack.refereeStats(switched?.atMs);
    const contention: Contention = {
      loadAverage1m,
      cpuCount: os.cpus().length,
      benchLoopDelayP99Ms: benchDelay.p99Ms,
      benchLoopDelayMaxMs: benchDelay.maxMs,
      loadLoopDelayP99Ms: loopDelay.p99Ms,
      loadLoopDelayMaxMs: loopDelay.maxMs,
      sandboxLoopDelayP99Ms: stats.loopDelay?.p99Ms,
      sandboxLoopDelayMaxMs: stats.loopDelay?.maxMs,
    };
    const after = await redis.commandCalls();
    const finalScrapes = which === 'ours' ? await Promise.all(adminUrls.map(scrapeMetrics)) : [];
    const gateways = which === 'ours' ? gatewayCounters([...metricTexts, ...finalScrapes]) : undefined;
    // Read once, by what needs them: the limits switch's adoption lines and the learner's grid changes.
    const logTexts =
      which === 'ours' && (switched || options.learnWindowPhase) ? gatewayLogs(dir, REPLICAS) : undefined;
    const limitsSwitch = switched
      ? limitsSwitchRecord(ctx, switched, stats.decisions ?? [], {
          startedAtMs,
          durationMs,
          ...(logTexts ? { finalScrapes, logTexts } : {}),
        })
      : undefined;
    const segments: Array<[Record<string, number>, Record<string, number>]> = outageTimes
      ? [
          [before, outageTimes.callsBeforeKill],
          [{}, after],
        ]
      : [[before, after]];
    const roundTrips: RoundTripSource = gateways
      ? { source: 'gateway metric', counts: gateways.redisCommands }
      : { source: 'INFO commandstats', scriptCommands: BASELINE_SCRIPT_COMMANDS };
    const figures = phaseFigures({
      stats,
      keyLabel: ctx.keyLabel,
      load: loadResult,
      warmupMs: options.warmupSec * 1000,
      limits: PROVIDER_LIMITS,
      callers: ctx.callers,
      commandDelta: commandDelta(segments),
      roundTrips,
      ...(traits.killsRedis
        ? {
            outageWindowMs: [
              options.outageAtSec * 1000,
              (options.outageAtSec + options.outageSec) * 1000 + OUTAGE_RECOVERY_MS,
            ] as const,
          }
        : {}),
    });
    const result: PhaseResult = { figures, contention, checks: checkTargets(figures, name, limitsSwitch) };
    if (limitsSwitch) result.limitsSwitch = limitsSwitch;
    if (gateways) result.gateways = gateways;
    if (outageTimes && poller) result.outage = outageRecord(outageTimes, await poller.stop(), REPLICAS);
    if (restartRecords) result.restarts = restartRecords;
    if (logTexts && options.learnWindowPhase) {
      const grid = (kind: 'read' | 'write') =>
        learnedGrid(logTexts, kind, figures[kind], loadResult.startedAtMs, loadResult.endedAtMs);
      result.learnedGrid = { read: grid('read'), write: grid('write') };
    }
    env.log(
      `${tag}: ${which}: upstream 429s ${figures.upstream429}, reads ${figures.read.admittedPerSecond.toFixed(2)}/s, writes ${figures.write.admittedPerSecond.toFixed(2)}/s`,
    );
    return result;
  } finally {
    // Stopped before the next phase: no idle replica sends Redis commands or takes CPU during it.
    await replicas.stop();
  }
}

/** Each gateway's log (first incarnation: the limits-auto scenario restarts none). */
function gatewayLogs(dir: string, replicas: number): string[] {
  return Array.from({ length: replicas }, (_, i) => {
    try {
      return fs.readFileSync(path.join(dir, `gateway-${i + 1}.log`), 'utf8');
    } catch {
      return '';
    }
  });
}

function limitsSwitchRecord(
  ctx: RunContext,
  switched: ProfileSwitch,
  decisions: NonNullable<SandboxStats['decisions']>,
  phase: { startedAtMs: number; durationMs: number; finalScrapes?: Array<string | null>; logTexts?: string[] },
): LimitsSwitchRecord {
  const limitsPerSecond = Object.fromEntries(
    Object.entries(switched.limitsPerSecond).filter((e): e is [string, number] => e[1] !== undefined),
  );
  // `current` has one counter (`all`): reads and writes together, against its one limit.
  const newLimit = Object.values(limitsPerSecond).reduce((a, b) => a + b, 0);
  const adaptation = adaptationFigures(
    decisions.filter((d) => d.key === ctx.keyLabel),
    switched.atMs,
    phase.startedAtMs + phase.durationMs,
    newLimit,
  );
  const record: LimitsSwitchRecord = {
    switchAtMs: switched.atMs - phase.startedAtMs,
    profile: switched.profile,
    limitsPerSecond,
    adaptation,
  };
  if (phase.finalScrapes && phase.logTexts)
    record.adoption = adoptionSeen(phase.finalScrapes, phase.logTexts, BENCH_ACCOUNT, limitsPerSecond, switched.atMs);
  return record;
}

interface OutageTimes {
  kind: 'restart' | 'failover';
  killedAtMs: number;
  /** Restart: redis-server spawned again; failover: the topology names a promoted replica. */
  restartedAtMs: number;
  callsBeforeKill: Record<string, number>;
}

/** The failover scenario: the master killed at --outage-at-sec; the topology promotes a replica by itself. */
async function runFailover(
  redis: BenchRedis,
  options: Readonly<FleetOptions>,
  startedAtMs: number,
): Promise<OutageTimes> {
  await sleep(startedAtMs + options.outageAtSec * 1000 - Date.now());
  const callsBeforeKill = await redis.commandCalls();
  const killedAtMs = Date.now() - startedAtMs;
  const { rejoined } = await redis.failOver(BENCH_ACCOUNT);
  const restartedAtMs = Date.now() - startedAtMs;
  // The old master back as a replica before the phase ends, so the next phase can fail over too.
  await rejoined;
  return { kind: 'failover', killedAtMs, restartedAtMs, callsBeforeKill };
}

async function runOutage(
  redis: BenchRedis,
  options: Readonly<FleetOptions>,
  startedAtMs: number,
): Promise<OutageTimes> {
  await sleep(startedAtMs + options.outageAtSec * 1000 - Date.now());
  // INFO counters die with the process: read them just before the kill.
  const callsBeforeKill = await redis.commandCalls();
  const killedAtMs = Date.now() - startedAtMs;
  await redis.kill();
  await sleep(startedAtMs + (options.outageAtSec + options.outageSec) * 1000 - Date.now());
  const restartedAtMs = Date.now() - startedAtMs;
  await redis.restart();
  return { kind: 'restart', killedAtMs, restartedAtMs, callsBeforeKill };
}

/**
 * The restart scenario: each replica in turn gets SIGTERM (it drains its queue), and once it is gone
 * a new process takes its ports, so the load's targets stay valid; the load keeps going throughout
 * (its requests to the replica that is down fail to connect, and are retried after a short pause).
 * `beforeStop` scrapes a gateway's counters while it still answers; what it sends while draining is
 * not counted.
 */
async function rollingRestart(
  set: ReplicaSet,
  startedAtMs: number,
  options: Readonly<FleetOptions>,
  beforeStop?: (adminUrl: string) => Promise<void>,
): Promise<RestartRecord[]> {
  const durationMs = options.durationSec * 1000;
  const sinceStart = () => Date.now() - startedAtMs;
  const records: RestartRecord[] = [];
  for (const { replica, atMs } of restartPlan(durationMs, set.replicas.length)) {
    await sleep(startedAtMs + atMs - Date.now());
    // A restart that overran delays the next; none begins after the load has ended.
    if (sinceStart() >= durationMs) break;
    const { adminUrl } = set.replicas[replica]!;
    if (adminUrl && beforeStop) await beforeStop(adminUrl);
    const stoppedAtMs = sinceStart();
    await set.stopReplica(replica, options.maxWaitMs + RESTART_DRAIN_SLACK_MS);
    const exitedAtMs = sinceStart();
    await set.startReplica(replica);
    const listeningAtMs = sinceStart();
    // Recorded, not waited for by the load: the new gateway serves (locally) until it is shared.
    const sharedAtMs = adminUrl
      ? await firstShared(adminUrl, Math.max(startedAtMs + durationMs, Date.now() + SHARED_WAIT_MS), sinceStart)
      : undefined;
    records.push({
      replica: replica + 1,
      plannedAtMs: atMs,
      stoppedAtMs,
      exitedAtMs,
      listeningAtMs,
      ...(sharedAtMs !== undefined ? { sharedAtMs } : {}),
    });
  }
  return records;
}

async function firstShared(adminUrl: string, deadlineMs: number, sinceStart: () => number): Promise<number | null> {
  while (Date.now() < deadlineMs) {
    try {
      if ((await scheduleMode(adminUrl)) === 'shared') return sinceStart();
    } catch {
      // not answering yet
    }
    await sleep(MODE_POLL_INTERVAL_MS);
  }
  return null;
}

function outageRecord(times: OutageTimes, changes: ModeChange[], gateways: number): OutageRecord {
  const firstAfter = (gateway: number, mode: string, fromMs: number): number | null => {
    const change = changes.find((c) => c.gateway === gateway && c.mode === mode && c.atMs >= fromMs);
    return change ? change.atMs - fromMs : null;
  };
  const ids = Array.from({ length: gateways }, (_, i) => i + 1);
  return {
    kind: times.kind,
    killedAtMs: times.killedAtMs,
    restartedAtMs: times.restartedAtMs,
    modeChanges: changes,
    fallbackAfterKillMs: ids.map((g) => firstAfter(g, 'fallback', times.killedAtMs)),
    sharedAfterRestartMs: ids.map((g) => firstAfter(g, 'shared', times.restartedAtMs)),
  };
}
