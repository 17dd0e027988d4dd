/**
 * One overhead run: start the server threads, check that all the targets answer alike, then
 * measure them in rounds, each target's time in slices taken in turn with the order rotated, and
 * close everything whatever happens.
 */
import http from 'node:http';
import { startRedisServer, type RedisServer } from '../test/helpers/redis-server';
import { API_BASE_PATH } from '../src/catalog/catalog';
import type { PhaseSummary } from './latency-stats';
import { fetchOnce, runLoad } from './load-client';
import type { OverheadOptions } from './overhead-options';
import { addSlice, emptyTotals, perThread, phaseOf, type SliceTotals } from './overhead-slices';
import { BENCH_SANDBOX_KEY } from './overhead-targets';
import { mainThreadUtilization, startServerThread, type ServerThread } from './server-worker-handle';
import { processCpuNs, threadCpuSample, type ThreadCpuSample } from './thread-cpu';

/**
 * `gateway` runs with tracing off (the default) and its rate schedule in memory; `gateway-redis` is the
 * same gateway with the schedule in Redis (as replicas run it); `gateway-traced` the in-memory one with
 * tracing on. `gateway-redis-no-prefetch` is `gateway-redis` without slots reserved a request ahead:
 * every request waits for its reservation's round trip. `passthrough-redis` is the passthrough plus one
 * no-op Redis script call per request: what a Redis round trip alone costs here, the floor under that.
 */
export const TARGET_NAMES = [
  'direct',
  'passthrough',
  'passthrough-redis',
  'gateway',
  'gateway-redis',
  'gateway-redis-no-prefetch',
  'gateway-traced',
] as const;
export type TargetName = (typeof TARGET_NAMES)[number];
/** The targets that call Redis: their redis-server's CPU is part of what they cost this machine. */
export const REDIS_TARGETS: readonly TargetName[] = ['passthrough-redis', 'gateway-redis', 'gateway-redis-no-prefetch'];

/** A read every caller may make, answered from reference data: the cost measured is the path, not the work. */
export const BENCH_PATH = `${API_BASE_PATH}/computes/specifications`;
export const REQUEST_TIMEOUT_MS = 10_000;

export interface PhaseMeasurement extends PhaseSummary {
  round: number;
  /** Place in that round's order (of its first slice), 0-based. */
  position: number;
  errorReasons: string[];
  /** Event-loop utilisation (0–1) of each thread during the measured phase. */
  utilization: { client: number; upstream: number; front: number };
  /** CPU time per answered request, in microseconds (NaN where the OS does not report thread CPU time). */
  cpuUsPerRequest: ThreadFigures;
  /** Share of the phase each thread was ready to run but waiting for a core: contention on this machine. */
  waitingForCpu: ThreadFigures;
  /**
   * CPU time of the Redis-schedule targets' redis-server per answered request, in microseconds (near 0 for
   * the others: it idles); it shares the cores with the threads above (NaN where the OS does not report it).
   */
  redisCpuUsPerRequest: number;
  /** Script calls (EVALSHA) the Redis targets made per answered request (0 for the others). */
  redisCallsPerRequest: number;
}

export interface ThreadFigures {
  client: number;
  upstream: number;
  front: number;
}

export type TargetMeasurements = Record<TargetName, PhaseMeasurement[]>;

/** Every round of every target at one concurrency. */
export interface LoadMeasurements {
  concurrency: number;
  measurements: TargetMeasurements;
}

export interface OverheadRun {
  startedAt: Date;
  /** One per concurrency, ascending. */
  loads: LoadMeasurements[];
}

interface Target {
  name: TargetName;
  /** The server thread of the proxy under test (its CPU is the `front` figure). */
  host: ServerThread;
  origin: string;
  headers: Record<string, string>;
  agent: http.Agent;
}

export function roundOrder(round: number): TargetName[] {
  const shift = round % TARGET_NAMES.length;
  return [...TARGET_NAMES.slice(shift), ...TARGET_NAMES.slice(0, shift)];
}

export async function runOverhead(
  options: Readonly<OverheadOptions>,
  progress: (line: string) => void,
): Promise<OverheadRun> {
  const startedAt = new Date();
  const threads: ServerThread[] = [];
  const agents: http.Agent[] = [];
  let redis: RedisServer | undefined;
  try {
    const upstream = await startServerThread({ role: 'upstream' });
    threads.push(upstream);
    redis = await startRedisServer();
    const redisUrl = redis.url;
    const redisPid = Number(/^process_id:(\d+)/m.exec(String(await redis.command('INFO', 'server')))?.[1]);
    const startFront = async (serves: 'plain' | 'traced' | 'redis') => {
      const thread = await startServerThread({
        role: 'front',
        serves,
        upstreamOrigin: requireUrl(upstream.ready.urls.sandbox, 'sandbox'),
        upstreamApiBaseUrl: requireUrl(upstream.ready.apiBaseUrl, 'sandbox API'),
        algorithm: options.algorithm,
        logMode: options.gatewayLog,
        otlpTracesUrl: requireUrl(upstream.ready.otlpTracesUrl, 'OTLP receiver'),
        ...(serves === 'redis' ? { redisUrl } : {}),
      });
      threads.push(thread);
      return thread;
    };
    const front = await startFront('plain');
    const tracedFront = await startFront('traced');
    const redisFront = await startFront('redis');
    const maxConcurrency = Math.max(...options.concurrencies);

    const target = (
      name: TargetName,
      host: ServerThread,
      origin: string | undefined,
      headers: Record<string, string>,
    ): Target => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: maxConcurrency });
      agents.push(agent);
      const withAccept = { accept: 'application/json', ...headers };
      return { name, host, origin: requireUrl(origin, name), headers: withAccept, agent };
    };
    const bearer = (thread: ServerThread) => ({
      authorization: `Bearer ${requireUrl(thread.ready.gatewayToken, 'gateway token')}`,
    });
    const targets: Record<TargetName, Target> = {
      direct: target('direct', front, upstream.ready.urls.sandbox, { authorization: `Bearer ${BENCH_SANDBOX_KEY}` }),
      passthrough: target('passthrough', front, front.ready.urls.passthrough, {}),
      'passthrough-redis': target('passthrough-redis', redisFront, redisFront.ready.urls['passthrough-redis'], {}),
      gateway: target('gateway', front, front.ready.urls.gateway, bearer(front)),
      'gateway-redis': target('gateway-redis', redisFront, redisFront.ready.urls['gateway-redis'], bearer(redisFront)),
      'gateway-redis-no-prefetch': target(
        'gateway-redis-no-prefetch',
        redisFront,
        redisFront.ready.urls['gateway-redis-no-prefetch'],
        {
          authorization: `Bearer ${requireUrl(redisFront.ready.gatewayTokens?.['gateway-redis-no-prefetch'], 'token')}`,
        },
      ),
      'gateway-traced': target(
        'gateway-traced',
        tracedFront,
        tracedFront.ready.urls['gateway-traced'],
        bearer(tracedFront),
      ),
    };
    await checkTargetsAgree(Object.values(targets));

    if (options.initialWarmupSec > 0) {
      for (const concurrency of options.concurrencies)
        for (const name of TARGET_NAMES) await load(targets[name], options, concurrency, options.initialWarmupSec);
      progress(`warmed up each target for ${options.initialWarmupSec} s at each concurrency`);
    }
    const loads: LoadMeasurements[] = options.concurrencies.map((concurrency) => ({
      concurrency,
      measurements: Object.fromEntries(TARGET_NAMES.map((name) => [name, []])) as unknown as TargetMeasurements,
    }));
    for (let round = 0; round < options.rounds; round++) {
      for (const { concurrency, measurements } of loads) {
        // Each target's measured time is cut into slices taken in turn: the machine's speed drifts by
        // tens of percent within seconds here (the same target's CPU per request ranged 227–436 µs in
        // one run), and targets measured one after another for seconds compared different machines.
        const slices = new Map<TargetName, SliceTotals>(TARGET_NAMES.map((name) => [name, emptyTotals()]));
        const sliceSec = options.durationSec / options.slices;
        for (let slice = 0; slice < options.slices; slice++) {
          for (const name of roundOrder(round + slice)) {
            addSlice(
              slices.get(name)!,
              await measureSlice(targets[name], options, concurrency, sliceSec, {
                upstream,
                front: targets[name].host,
                redis: { server: redis, pid: redisPid },
              }),
            );
          }
        }
        for (const name of TARGET_NAMES) {
          const measured = phaseOf(slices.get(name)!);
          measurements[name].push({ ...measured, round, position: roundOrder(round).indexOf(name) });
          progress(
            `round ${round + 1}/${options.rounds} ×${String(concurrency).padEnd(3)} ${name.padEnd(25)} ` +
              `${measured.requestsPerSecond.toFixed(0).padStart(6)} req/s  mean ${measured.meanMs.toFixed(2)} ms  ` +
              `p50 ${measured.p50Ms.toFixed(2)} ms  p99 ${measured.p99Ms.toFixed(2)} ms  errors ${measured.errorCount}`,
          );
        }
      }
    }
    return { startedAt, loads };
  } finally {
    for (const agent of agents) agent.destroy();
    for (const thread of threads.reverse()) await thread.close();
    await redis?.stop();
  }
}

/** One slice of one target: an unrecorded warm-up (the target's connections and the proxy's), then the load. */
async function measureSlice(
  target: Target,
  options: Readonly<OverheadOptions>,
  concurrency: number,
  durationSec: number,
  threads: { upstream: ServerThread; front: ServerThread; redis: { server: RedisServer; pid: number } },
): Promise<SliceTotals> {
  if (options.warmupSec > 0) await load(target, options, concurrency, options.warmupSec);

  // Read outside the CPU samples: the reading is work for redis-server too.
  const callsRead = REDIS_TARGETS.includes(target.name) ? () => scriptCalls(threads.redis.server) : async () => 0;
  const callsBefore = await callsRead();
  const redisCpuBefore = processCpuNs(threads.redis.pid);
  const cpuBefore = await cpuSamples(threads);
  const eluBefore = {
    client: mainThreadUtilization(),
    upstream: threads.upstream.eventLoopUtilization(),
    front: threads.front.eventLoopUtilization(),
  };
  const result = await load(target, options, concurrency, durationSec);
  const elu = {
    client: mainThreadUtilization(eluBefore.client),
    upstream: threads.upstream.eventLoopUtilization(eluBefore.upstream),
    front: threads.front.eventLoopUtilization(eluBefore.front),
  };
  const cpuAfter = await cpuSamples(threads);
  const redisCpuAfter = processCpuNs(threads.redis.pid);
  const callsAfter = await callsRead();
  // Where the OS does not report thread CPU time, NaN: it stays NaN through the sums.
  const delta = (figure: keyof ThreadCpuSample): ThreadFigures =>
    perThread((thread) => {
      const [before, after] = [cpuBefore[thread], cpuAfter[thread]];
      return before && after ? after[figure] - before[figure] : Number.NaN;
    });
  return {
    latenciesMs: result.latenciesMs,
    errorCount: result.errorCount,
    errorReasons: result.errorReasons,
    elapsedMs: result.elapsedMs,
    activeMs: perThread((thread) => elu[thread].active),
    idleMs: perThread((thread) => elu[thread].idle),
    cpuNs: delta('cpuNs'),
    waitNs: delta('waitNs'),
    redisCpuNs:
      redisCpuBefore !== undefined && redisCpuAfter !== undefined ? redisCpuAfter - redisCpuBefore : Number.NaN,
    redisCalls: callsAfter - callsBefore,
  };
}

async function scriptCalls(redis: RedisServer): Promise<number> {
  return (await redis.commandCalls()).evalsha ?? 0;
}

async function cpuSamples(threads: {
  upstream: ServerThread;
  front: ServerThread;
}): Promise<Record<keyof ThreadFigures, ThreadCpuSample | undefined>> {
  const [upstream, front] = await Promise.all([threads.upstream.cpuSample(), threads.front.cpuSample()]);
  return { client: threadCpuSample(), upstream, front };
}

function load(target: Target, options: Readonly<OverheadOptions>, concurrency: number, durationSec: number) {
  return runLoad({
    origin: target.origin,
    path: BENCH_PATH,
    headers: target.headers,
    agent: target.agent,
    concurrency,
    durationMs: durationSec * 1000,
    maxRequests: options.maxRequestsPerPhase,
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
    expectedStatus: 200,
  });
}

/** Before timing anything: every target must answer 200 with the same body, or the comparison is void. */
async function checkTargetsAgree(targets: readonly Target[]): Promise<void> {
  const answers = await Promise.all(
    targets.map(async (t) => ({
      name: t.name,
      ...(await fetchOnce(`${t.origin}${BENCH_PATH}`, t.headers, REQUEST_TIMEOUT_MS)),
    })),
  );
  const bad = answers.filter((a) => a.status !== 200);
  if (bad.length > 0)
    throw new Error(
      `targets did not answer 200: ${bad.map((a) => `${a.name} ${a.status} ${a.body.slice(0, 200)}`).join('; ')}`,
    );
  // The envelope's requestId and timestamp differ per request by design; everything else must match.
  const bodies = new Set(
    answers.map((a) =>
      JSON.stringify({ ...(JSON.parse(a.body) as object), requestId: undefined, timestamp: undefined }),
    ),
  );
  if (bodies.size !== 1)
    throw new Error(
      `targets answered with different bodies: ${answers.map((a) => `${a.name}: ${a.body.slice(0, 120)}`).join(' | ')}`,
    );
}

function requireUrl(value: string | undefined, what: string): string {
  if (value === undefined) throw new Error(`server thread did not report the ${what}`);
  return value;
}
