/**
 * The run: one redis-server for the whole run; per scenario a fresh sandbox, three gateways and
 * three baseline replicas; per scenario two phases with the same callers — ours through the
 * gateways, then the baseline — each after a referee reset, so their figures are separate.
 */
import { randomBytes, randomInt } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { mintToken } from '../../gateway/auth/mint-token';
import { keyLabel } from '../../sandbox/keys';
import { SCHEDULE_SCRIPT } from '../../schedule/redis-lua';
import { sleep, type ChildGroup } from './children';
import { planCallers, planWorkers, type CallerSpec } from './callers';
import { commandDelta, phaseFigures, scriptCommandNames, type PhaseFigures } from './figures';
import { pollModes, scrapeGateways, type GatewayCounters, type ModeChange } from './gateway-probes';
import { runLoad } from './load';
import type { FleetOptions, ScenarioName } from './options';
import { BENCH_AUDIENCE, BENCH_ISSUER, BENCH_KID } from './policy';
import { startBenchRedis, type BenchRedis } from './redis-server';
import { PROVIDER_LIMITS, REPLICAS, SANDBOX_OWNER_KEY, startStack } from './stack';
import { checkTargets, type TargetCheck } from './targets';

export interface OutageRecord {
  killedAtMs: number;
  restartedAtMs: number;
  modeChanges: ModeChange[];
  /** Per gateway: kill → first `fallback` seen on /readyz (100 ms polling). */
  fallbackAfterKillMs: Array<number | null>;
  /** Per gateway: restart (redis-server spawned again) → first `shared` seen. */
  sharedAfterRestartMs: Array<number | null>;
}

/** How busy the machine was: the judge and the gateways share its cores with everything else. */
export interface Contention {
  /** 1-minute load average at the end of the phase, and the number of cores. */
  loadAverage1m: number;
  cpuCount: number;
  /** The bench process's own event-loop delay during the phase (it sleeps most of the time). */
  benchLoopDelayP99Ms: number;
  benchLoopDelayMaxMs: number;
}

export interface PhaseResult {
  figures: PhaseFigures;
  contention: Contention;
  checks: TargetCheck[];
  gateways?: GatewayCounters;
  outage?: OutageRecord;
}

export interface ScenarioResult {
  name: ScenarioName;
  window: 'fixed' | 'sliding';
  windowPhaseMs: number;
  ours: PhaseResult;
  baseline: PhaseResult;
}

export interface FleetRun {
  callers: CallerSpec[];
  scenarios: ScenarioResult[];
}

export interface RunEnvironment {
  distDir: string;
  workDir: string;
  group: ChildGroup;
  log(line: string): void;
}

const SETTLE_MS = 500;
/** After Redis is back: the schedule's 1 s return guard, then queues and callers' Retry-After sleeps refill. */
const OUTAGE_RECOVERY_MS = 3000;
/** What rate-limiter-flexible's RateLimiterRedis script calls (lib/RateLimiterRedis.js, incrTtlLuaScript). */
const BASELINE_SCRIPT_COMMANDS = ['set', 'incrby', 'pttl', 'expire'];
/** Commands run inside scripts, in either phase: counted by Redis, but not round trips. */
const SCRIPT_COMMANDS: ReadonlySet<string> = new Set([...scriptCommandNames(SCHEDULE_SCRIPT.source), ...BASELINE_SCRIPT_COMMANDS]);
const TOKEN_LIFETIME_SEC = 3600;

export async function runFleet(options: Readonly<FleetOptions>, env: RunEnvironment): Promise<FleetRun> {
  const callers = planCallers(options.workers);
  const workers = planWorkers(callers, REPLICAS);
  const jwtSecret = randomBytes(32).toString('hex');
  const tokens = new Map(callers.map((c) => [c.id, mintToken({ sub: c.id, lifetimeSec: TOKEN_LIFETIME_SEC, signingKey: jwtSecret, alg: 'HS256', kid: BENCH_KID, issuer: BENCH_ISSUER, audience: BENCH_AUDIENCE, now: Date.now })]));
  const label = keyLabel({ key: SANDBOX_OWNER_KEY, team: 'team-a', role: 'owner' });
  const redis = await startBenchRedis(env.group, env.workDir);
  env.log(`redis-server on ${redis.url}; ${workers.length} caller loops over ${callers.length} callers (weights ${callers.map((c) => c.weight).join(', ')})`);
  const scenarios: ScenarioResult[] = [];

  try {
    for (const name of options.scenarios) {
      const window = name === 'fixed' ? 'fixed' : 'sliding';
      const windowPhaseMs = window === 'fixed' ? (options.windowPhaseMs ?? randomInt(1000)) : 0;
      await redis.command('FLUSHALL');
      env.log(`${name}: sandbox window ${window}${window === 'fixed' ? ` (phase ${windowPhaseMs} ms)` : ''}; starting the sandbox, 3 gateways, 3 baseline replicas`);
      const stack = await startStack(env.group, {
        distDir: env.distDir,
        workDir: path.join(env.workDir, name),
        redis,
        window,
        windowPhaseMs,
        safety: options.safety,
        maxWaitMs: options.maxWaitMs,
        callers,
        jwtSecret,
      });
      try {
        const phase = async (which: 'ours' | 'baseline'): Promise<PhaseResult> => {
          const replicas = which === 'ours' ? stack.gateways : stack.baselines;
          env.log(`${name}: ${which}, ${options.durationSec} s${name === 'outage' ? `, Redis killed at ${options.outageAtSec} s for ${options.outageSec} s` : ''}`);
          const loadSettings = { targets: replicas.map((r) => r.url), workers, tokens, requestTimeoutMs: options.maxWaitMs + 5000 };
          if (options.prewarmSec > 0) {
            // Unjudged: JIT, keep-alive pools, the callers' schedule state. Requests still queued at
            // its end are cut (they take no slot); then the referee starts from zero.
            await runLoad({ ...loadSettings, durationMs: options.prewarmSec * 1000 });
            await sleep(SETTLE_MS);
          }
          await stack.refereeReset();
          const before = await redis.commandCalls();
          const loopDelay = monitorEventLoopDelay({ resolution: 10 });
          loopDelay.enable();
          const startedAtMs = Date.now();
          const poller = name === 'outage' && which === 'ours' ? pollModes(replicas.map((r) => r.adminUrl!), startedAtMs) : undefined;
          const outage = name === 'outage' ? runOutage(redis, options, startedAtMs) : undefined;
          const load = await runLoad({ ...loadSettings, durationMs: options.durationSec * 1000 });
          loopDelay.disable();
          const contention: Contention = {
            loadAverage1m: Math.round(os.loadavg()[0]! * 100) / 100,
            cpuCount: os.cpus().length,
            // The histogram includes the sampling resolution itself.
            benchLoopDelayP99Ms: Math.max(0, Math.round(loopDelay.percentile(99) / 1e6 - 10)),
            benchLoopDelayMaxMs: Math.max(0, Math.round(loopDelay.max / 1e6 - 10)),
          };
          const outageTimes = await outage;
          await sleep(SETTLE_MS);
          const stats = await stack.refereeStats();
          const after = await redis.commandCalls();
          const segments: Array<[Record<string, number>, Record<string, number>]> = outageTimes ? [[before, outageTimes.callsBeforeKill], [{}, after]] : [[before, after]];
          const figures = phaseFigures({
            stats,
            keyLabel: label,
            load,
            warmupMs: options.warmupSec * 1000,
            limits: PROVIDER_LIMITS,
            callers,
            commandDelta: commandDelta(segments),
            scriptCommands: SCRIPT_COMMANDS,
            ...(name === 'outage' ? { outageWindowMs: [options.outageAtSec * 1000, (options.outageAtSec + options.outageSec) * 1000 + OUTAGE_RECOVERY_MS] as const } : {}),
          });
          const result: PhaseResult = { figures, contention, checks: checkTargets(figures, name) };
          if (which === 'ours') result.gateways = await scrapeGateways(replicas.map((r) => r.adminUrl!));
          if (outageTimes && poller) result.outage = outageRecord(outageTimes, await poller.stop(), replicas.length);
          env.log(`${name}: ${which}: upstream 429s ${figures.upstream429}, reads ${figures.read.admittedPerSecond.toFixed(2)}/s, writes ${figures.write.admittedPerSecond.toFixed(2)}/s`);
          return result;
        };
        const ours = await phase('ours');
        await sleep(SETTLE_MS);
        const baseline = await phase('baseline');
        scenarios.push({ name, window, windowPhaseMs, ours, baseline });
      } finally {
        await stack.stop();
      }
    }
  } finally {
    await redis.stop();
  }
  return { callers, scenarios };
}

interface OutageTimes {
  killedAtMs: number;
  restartedAtMs: number;
  callsBeforeKill: Record<string, number>;
}

async function runOutage(redis: BenchRedis, options: Readonly<FleetOptions>, startedAtMs: number): Promise<OutageTimes> {
  await sleep(startedAtMs + options.outageAtSec * 1000 - Date.now());
  // INFO counters die with the process: read them just before the kill.
  const callsBeforeKill = await redis.commandCalls();
  const killedAtMs = Date.now() - startedAtMs;
  await redis.kill();
  await sleep(startedAtMs + (options.outageAtSec + options.outageSec) * 1000 - Date.now());
  const restartedAtMs = Date.now() - startedAtMs;
  await redis.restart();
  return { killedAtMs, restartedAtMs, callsBeforeKill };
}

function outageRecord(times: OutageTimes, changes: ModeChange[], gateways: number): OutageRecord {
  const firstAfter = (gateway: number, mode: string, fromMs: number): number | null => {
    const change = changes.find((c) => c.gateway === gateway && c.mode === mode && c.atMs >= fromMs);
    return change ? change.atMs - fromMs : null;
  };
  const ids = Array.from({ length: gateways }, (_, i) => i + 1);
  return {
    killedAtMs: times.killedAtMs,
    restartedAtMs: times.restartedAtMs,
    modeChanges: changes,
    fallbackAfterKillMs: ids.map((g) => firstAfter(g, 'fallback', times.killedAtMs)),
    sharedAfterRestartMs: ids.map((g) => firstAfter(g, 'shared', times.restartedAtMs)),
  };
}
