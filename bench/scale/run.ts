/**
 * The run: one redis-server and one sandbox (a key per account, limits the gateways never reach)
 * for the whole bench; per grid point, Redis emptied, then an open-loop rate through three gateways
 * started right before their phase (judged from their first request), with the gateways' RSS and CPU
 * and Redis's memory, commands and keys read around it; once they are stopped, the same rate straight
 * to the sandbox (the baseline). After the last point's gateway phase the load stops, the gateways
 * stay up idle, and the schedule keys are watched until they expire.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { KEYS_ENV_VAR } from '../../src/sandbox/cli-args';
import { parseExposition } from '../prometheus-text';
import { sampleFromMetrics } from '../soak/sampler';
import { gatewayCounters, scrapeMetrics } from '../fleet/gateway-probes';
import { sleep, waitForLogLine, type Child, type ChildGroup } from '../fleet/children';
import { JWT_SECRET_ENV } from '../fleet/policy';
import { startBenchRedis, type BenchRedis } from '../fleet/redis-server';
import { startGatewayReplicas, startSandbox } from '../fleet/stack';
import type { BuiltTrees } from '../supervised-run';
import type { ScaleLoadResult } from './load';
import {
  SCALE_LOAD_API_KEYS_ENV,
  SCALE_LOAD_JWT_SECRET_ENV,
  SCALE_LOAD_SETTINGS_ENV,
  STARTED_PATTERN,
  type ScaleLoadProcessSettings,
} from './load-protocol';
import { ACCOUNT_READ_PER_SEC, gatewayPhaseSec, gridPoints, type GridPoint, type ScaleOptions } from './options';
import { activeAccounts, planScale, sandboxKeyList, scalePolicyYaml } from './policy';
import { keyAudit, redisSnapshot, SCHEDULE_KEY_MATCH, type KeyAudit } from './redis-probes';

export interface ScaleRunEnvironment extends BuiltTrees {
  workDir: string;
  group: ChildGroup;
  log(line: string): void;
}

/** One gateway replica around its phase. */
export interface ReplicaUsage {
  rssStartBytes: number;
  rssEndBytes: number;
  cpuStartSec: number;
  cpuEndSec: number;
  /** Redis commands this replica sent over the phase (its own count: round trips); null: not exported. */
  redisRoundTrips: number | null;
}

export interface PointMeasurement extends GridPoint {
  activeAccounts: number;
  baseline: ScaleLoadResult;
  gateway: ScaleLoadResult;
  replicas: ReplicaUsage[];
  /** `used_memory` and `used_memory_dataset` with nothing stored (after FLUSHALL, no gateway connected). */
  emptyUsedMemoryBytes: number;
  emptyDatasetBytes: number;
  /** Right after the gateway phase. */
  usedMemoryBytes: number;
  datasetBytes: number;
  /** `total_commands_processed` from the load's start to its end, over that time. */
  commandsProcessed: number;
  loadElapsedMs: number;
  keys: KeyAudit;
}

export interface ExpirySample {
  /** Seconds since the load of the last point ended. */
  atSec: number;
  dbsize: number;
  scheduleKeys: number;
  /** MEMORY USAGE of the schedule keys left. */
  scheduleBytes: number;
  usedMemoryOverEmptyBytes: number;
}

export interface ExpiryWatch {
  point: GridPoint;
  idleTtlMs: number;
  samples: ExpirySample[];
  /** When the last schedule key was gone; null: not within the wait. */
  scheduleKeysGoneAtSec: number | null;
}

export interface ScaleRun {
  points: PointMeasurement[];
  expiry: ExpiryWatch | null;
}

/** The sandbox's own limits per key: far above the gateways' (no 429 from the provider). */
const SANDBOX_READ_PER_SEC = ACCOUNT_READ_PER_SEC * 5;
/** A fixed upstream answer time without jitter: differences between points are the gateways'. */
const SANDBOX_LATENCY_MS = 20;
/** A read every caller's scope allows (catalog:read), answered 200 by the sandbox. */
const READ_PATH = '/api/v1/regions';
const MAX_IN_FLIGHT = 256;
const REQUEST_TIMEOUT_MS = 10_000;
const CALLER_MAX_WAIT_MS = 2000;
const LOAD_START_TIMEOUT_MS = 30_000;
const EXPIRY_POLL_MS = 1000;

export async function runScale(options: Readonly<ScaleOptions>, env: ScaleRunEnvironment): Promise<ScaleRun> {
  const points = gridPoints(options);
  const accountKeys = Array.from({ length: Math.max(...options.accounts) }, () => randomBytes(16).toString('hex'));
  const jwtSecret = randomBytes(32).toString('hex');
  const redis = await startBenchRedis(env.group, env.workDir, 'single');
  const children: Child[] = [];
  try {
    const sandbox = await startSandbox(
      env.group,
      env.distDir,
      env.workDir,
      [
        '--profile',
        'launch',
        '--read-limit',
        String(SANDBOX_READ_PER_SEC),
        '--latency-ms',
        String(SANDBOX_LATENCY_MS),
        '--no-demo-keys',
      ],
      { [KEYS_ENV_VAR]: sandboxKeyList(accountKeys) },
    );
    children.push(sandbox.child);
    env.log(`${redis.description}; sandbox on ${sandbox.origin}; ${points.length} points`);
    const measured: PointMeasurement[] = [];
    let expiry: ExpiryWatch | null = null;
    for (const [i, point] of points.entries()) {
      const last = i === points.length - 1;
      const ctx = { options, env, redis, sandboxOrigin: sandbox.origin, accountKeys, jwtSecret, children };
      const { measurement, watch } = await runPoint(ctx, point, last);
      measured.push(measurement);
      if (watch) expiry = watch;
    }
    return { points: measured, expiry };
  } finally {
    await Promise.all(children.map((c) => c.stop()));
    await redis.stop();
  }
}

interface PointContext {
  options: Readonly<ScaleOptions>;
  env: ScaleRunEnvironment;
  redis: BenchRedis;
  sandboxOrigin: string;
  accountKeys: readonly string[];
  jwtSecret: string;
  children: Child[];
}

async function runPoint(
  ctx: PointContext,
  point: GridPoint,
  watchExpiry: boolean,
): Promise<{ measurement: PointMeasurement; watch?: ExpiryWatch }> {
  const { options, env, redis } = ctx;
  const tag = `${point.callers} callers × ${point.accounts} accounts`;
  const dir = path.join(env.workDir, `point-${point.callers}x${point.accounts}`);
  fs.mkdirSync(dir, { recursive: true });
  const plan = planScale(point.callers, point.accounts);
  await redis.flushAll();
  const empty = await redisSnapshot(redis);

  const policyFile = path.join(dir, 'policy.yaml');
  fs.writeFileSync(
    policyFile,
    scalePolicyYaml({
      upstreamBaseUrl: `${ctx.sandboxOrigin}/api/v1`,
      readPerSecond: ACCOUNT_READ_PER_SEC,
      writePerSecond: 10,
      maxWaitMs: CALLER_MAX_WAIT_MS,
      plan,
    }),
  );
  const gatewayEnv: Record<string, string> = {
    ...redis.env,
    [JWT_SECRET_ENV]: ctx.jwtSecret,
    ...Object.fromEntries(plan.accounts.map((a, i) => [a.keyEnv, ctx.accountKeys[i]!])),
    ...(options.idleTtlSec !== undefined ? { SCHEDULE_IDLE_TTL_MS: String(options.idleTtlSec * 1000) } : {}),
  };
  env.log(`${tag}: starting 3 gateways, then ${gatewayPhaseSec(options, point.callers)} s through them`);
  const gateways = await startGatewayReplicas(
    { group: env.group, workDir: dir, children: ctx.children },
    env.distDir,
    policyFile,
    gatewayEnv,
  );
  let measured: Omit<PointMeasurement, 'baseline'>;
  let watch: ExpiryWatch | undefined;
  try {
    const adminUrls = gateways.replicas.map((r) => r.adminUrl!);
    const before = await Promise.all(adminUrls.map(usage));
    const redisBefore = await redisSnapshot(redis);
    const gateway = await runLoadPhase(
      ctx,
      dir,
      'load-gateway',
      point,
      gateways.replicas.map((r) => r.url),
      'gateway',
    );
    const redisAfter = await redisSnapshot(redis);
    const after = await Promise.all(adminUrls.map(usage));
    const keys = await keyAudit(redis);
    measured = {
      ...point,
      activeAccounts: activeAccounts(plan),
      gateway,
      replicas: before.map((b, r) => ({
        rssStartBytes: b.rssBytes,
        rssEndBytes: after[r]!.rssBytes,
        cpuStartSec: b.cpuSeconds,
        cpuEndSec: after[r]!.cpuSeconds,
        redisRoundTrips:
          b.redisRoundTrips === null || after[r]!.redisRoundTrips === null
            ? null
            : after[r]!.redisRoundTrips - b.redisRoundTrips,
      })),
      emptyUsedMemoryBytes: empty.usedMemoryBytes,
      emptyDatasetBytes: empty.datasetBytes,
      usedMemoryBytes: redisAfter.usedMemoryBytes,
      datasetBytes: redisAfter.datasetBytes,
      commandsProcessed: redisAfter.commandsProcessed - redisBefore.commandsProcessed,
      loadElapsedMs: gateway.latency.elapsedMs,
      keys,
    };
    env.log(
      `${tag}: p50 ${gateway.latency.p50Ms.toFixed(1)} ms, ${keys.total} keys, ${keys.withoutExpiryCount} without expiry`,
    );
    if (watchExpiry) watch = await watchKeysExpire(ctx, point, empty.usedMemoryBytes);
  } finally {
    await gateways.stop();
  }
  // After the gateways, once they are gone: the first point's gateway phase, not its baseline, meets the
  // sandbox cold, so a cold start can only make the added latency look worse, never better.
  env.log(`${tag}: baseline, ${options.ratePerSec}/s for ${options.phaseSec} s straight to the sandbox`);
  const baseline = await runLoadPhase(ctx, dir, 'load-baseline', point, [ctx.sandboxOrigin], 'direct');
  return { measurement: { ...measured, baseline }, ...(watch ? { watch } : {}) };
}

/** One replica's RSS, CPU and Redis round trips so far, from its /metrics. */
async function usage(
  adminUrl: string,
): Promise<{ rssBytes: number; cpuSeconds: number; redisRoundTrips: number | null }> {
  const text = await scrapeMetrics(adminUrl);
  if (text === null) throw new Error(`${adminUrl}/metrics did not answer`);
  const sample = sampleFromMetrics(parseExposition(text), 0);
  return {
    rssBytes: sample.rssBytes,
    cpuSeconds: sample.cpuSeconds,
    redisRoundTrips: gatewayCounters([text]).redisCommands?.total ?? null,
  };
}

/** The load stopped, the gateways idle: Redis polled until no schedule key is left, or the wait is over. */
async function watchKeysExpire(ctx: PointContext, point: GridPoint, emptyBytes: number): Promise<ExpiryWatch> {
  const { options, env, redis } = ctx;
  const startedMs = performance.now();
  const samples: ExpirySample[] = [];
  let goneAtSec: number | null = null;
  env.log(`idle: watching the schedule keys expire (at most ${options.expiryWaitSec} s)`);
  for (;;) {
    const atSec = Math.round(performance.now() - startedMs) / 1000;
    const scheduleKeys = await keyAudit(redis, SCHEDULE_KEY_MATCH);
    const snapshot = await redisSnapshot(redis);
    samples.push({
      atSec,
      dbsize: snapshot.dbsize,
      scheduleKeys: scheduleKeys.total,
      scheduleBytes: scheduleKeys.scheduleBytes,
      usedMemoryOverEmptyBytes: snapshot.usedMemoryBytes - emptyBytes,
    });
    if (scheduleKeys.total === 0 && goneAtSec === null) goneAtSec = atSec;
    // One more sample after the keys are gone: Redis frees their memory as it deletes them.
    else if (goneAtSec !== null || atSec >= options.expiryWaitSec) break;
    await sleep(EXPIRY_POLL_MS);
  }
  return {
    point,
    idleTtlMs: (options.idleTtlSec ?? 60) * 1000,
    samples,
    scheduleKeysGoneAtSec: goneAtSec,
  };
}

async function runLoadPhase(
  ctx: PointContext,
  dir: string,
  name: string,
  point: GridPoint,
  targets: readonly string[],
  mode: 'gateway' | 'direct',
): Promise<ScaleLoadResult> {
  const durationSec = mode === 'gateway' ? gatewayPhaseSec(ctx.options, point.callers) : ctx.options.phaseSec;
  const settings: ScaleLoadProcessSettings = {
    targets,
    path: READ_PATH,
    ratePerSec: ctx.options.ratePerSec,
    durationMs: durationSec * 1000,
    maxInFlight: MAX_IN_FLIGHT,
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
    callers: point.callers,
    accounts: point.accounts,
    mode,
    resultFile: path.join(dir, `${name}.result.json`),
  };
  const settingsFile = path.join(dir, `${name}.settings.json`);
  fs.writeFileSync(settingsFile, JSON.stringify(settings));
  const secrets: Record<string, string> =
    mode === 'direct'
      ? { [SCALE_LOAD_API_KEYS_ENV]: ctx.accountKeys.slice(0, point.accounts).join(',') }
      : { [SCALE_LOAD_JWT_SECRET_ENV]: ctx.jwtSecret };
  const child = ctx.env.group.spawn(name, process.execPath, [path.join(ctx.env.benchDir, 'scale/load-process.js')], {
    logFile: path.join(dir, `${name}.log`),
    env: { [SCALE_LOAD_SETTINGS_ENV]: settingsFile, ...secrets },
  });
  const exited = child.exitCode();
  await waitForLogLine(child, STARTED_PATTERN, LOAD_START_TIMEOUT_MS);
  const code = await exited;
  if (code !== 0) throw new Error(`${name} exited with ${code ?? 'a signal'} (see ${child.logFile})`);
  return JSON.parse(fs.readFileSync(settings.resultFile, 'utf8')) as ScaleLoadResult;
}
