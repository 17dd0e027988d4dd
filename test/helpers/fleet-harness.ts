/**
 * Integration harness for a fleet of gateways: the real sandbox on port 0 as the upstream (and the
 * judge), several real gateways (`startGateway`, public and admin ports 0) built from one test
 * policy, optionally sharing one rate schedule through a real `redis-server` (`redisUrl`), and a
 * closed-loop load driver that records every reply on the client side.
 *
 * Each fleet gets an account name of its own, so fleets of one test file may share a Redis server
 * without sharing a schedule. Tokens are HS256 (no key generation), minted once per caller.
 */
import type { ScheduleTuning } from '../../src/schedule/tuning';
import { randomBytes } from 'node:crypto';
import http, { type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import { mintToken } from '../../src/gateway/auth';
import { startGateway, type RunningGateway } from '../../src/gateway/compose';
import { createLogger } from '../../src/gateway/observability/logger';
import { parsePolicy, type Policy } from '../../src/gateway/policy';
import {
  keyLabel,
  startSandbox,
  type ClassStats,
  type RunningSandbox,
  type StartSandboxOptions,
  type StatsClass,
} from '../../src/sandbox';
import { AUDIENCE, HS_KID, ISSUER, OWNER_KEY } from './gateway-harness';
import { startRedisServer, type RedisServer } from './redis-server';
import type { RedisTopology } from '../../src/redis';
import { readAnswer } from './http-answer';
import { watchLoopDelay } from '../../src/shared/loop-delay';

export const READ_TARGET = '/api/v1/regions';
/** A write the sandbox counts (rate limit first) and then answers 404: no compute to create or clean up. */
export const WRITE_TARGET = '/api/v1/computes/999/reboot';

export interface FleetCaller {
  weight?: number;
  maxWaitMs?: number;
  maxQueued?: number;
  reservedShare?: number;
  requestsPerMinute?: number;
  /** Default every scope (`*`). */
  scopes?: string[];
  /** Issue #7 settings, as the policy writes them. */
  constraints?: object;
  ownership?: object;
  quotas?: object;
  shadow?: boolean;
}

/** A fixed factor, or adaptive (issue #15): `auto` or `{ min, max }`, as the policy writes it. */
export type FleetSafety = number | 'auto' | { min?: number; max?: number };

export type FleetLimits =
  | { read: number; write: number; safety?: FleetSafety }
  | { all: number; safety?: FleetSafety }
  /** `limits: auto` (issue #15), as the policy writes it. */
  | 'auto'
  | { auto: object; safety?: number };

/**
 * Safety factor for runs the sandbox judges. The sandbox, every gateway and every caller share one
 * event loop in one Jest worker, often on a busy 2-CPU machine: event-loop stalls of 50–90 ms are
 * common there and occasionally more than 111 ms, while the default 0.95 tolerates 52 ms of
 * slot-to-arrival spread and 0.9 tolerates 111 ms (docs/rate-schedule.md §1). 0.85 tolerates
 * 176 ms. The default itself is measured by `npm run bench:fleet`, in separate processes.
 */
export const TEST_SAFETY = 0.85;

export interface FleetOptions {
  /** Gateway instances. Default 3. */
  gateways?: number;
  /** Absent (and no `redis`): every gateway runs its own in-memory schedule (the embedded default). */
  redisUrl?: string;
  /** Any topology (Sentinel, Cluster: `redis-topology.ts`); wins over `redisUrl`. */
  redis?: RedisTopology;
  /** Default: the number of gateways. */
  expectedReplicas?: number;
  commandTimeoutMs?: number;
  /** The policy's limits for the fleet's account (the gateway's view of the provider). */
  limits: FleetLimits;
  /** Passed to `startSandbox` (profile, limits, window…). Lifecycle delays default to 0. */
  sandbox?: Omit<StartSandboxOptions, 'port' | 'host' | 'keys'>;
  /** Callers of the policy, all on the fleet's account with every scope. Default `{ worker: {} }`. */
  callers?: Record<string, FleetCaller>;
  protection?: { badTokens?: { maxFailures: number; windowSec: number; lockoutSec: number } };
  accountQuotas?: { liveComputes?: number };
  /** The account's name; default one of its own per fleet (`fleet<n>-<hex>`). */
  accountId?: string;
  /** The schedule's tuning (e.g. `learnWindowPhase`); absent: the defaults. */
  tuning?: ScheduleTuning;
}

export interface FleetReply {
  status: number;
  headers: IncomingHttpHeaders;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

export interface FleetRequest {
  /** Sends `Authorization: Bearer <token of caller>`. */
  caller?: string;
  /** Instead of a minted token (e.g. a bad one). */
  authorization?: string;
  headers?: Record<string, string>;
  body?: string;
  /** Admin port instead of the public one. */
  admin?: boolean;
}

export interface FleetGateway {
  index: number;
  gateway: RunningGateway;
  port: number;
  adminPort: number;
  logLines: string[];
}

export interface Fleet {
  sandbox: RunningSandbox;
  gateways: FleetGateway[];
  policy: Policy;
  accountId: string;
  /** The secret values the gateways hold (the account's key, the HS256 secret), for leak checks. */
  secrets: readonly string[];
  token(caller: string): string;
  request(gateway: number, method: string, target: string, options?: FleetRequest): Promise<FleetReply>;
  /** `GET /readyz` on the public port. */
  readyz(gateway: number): Promise<FleetReply>;
  /** Sum of a Prometheus metric's samples whose labels include `labels`, on one gateway's admin port. */
  metric(gateway: number, name: string, labels?: Record<string, string>): Promise<number>;
  /**
   * One read through every gateway and one write, all answered, before a measured run: the first
   * request of a test file runs cold code (module setup, JIT in Jest's VM), measured at ~100 ms
   * between its slot and its send, which eats most of the slot-to-arrival margin (TEST_SAFETY).
   * The schedule and the sandbox still count these requests: returns how many per class.
   */
  warmUp(caller?: string): Promise<{ read: number; write: number }>;
  /** What the sandbox saw for the account's key in one class (zeros before the first request). */
  upstream(cls: StatsClass): ClassStats;
  close(): Promise<void>;
}

let fleets = 0;

function policyDocument(options: FleetOptions, accountId: string, upstreamBaseUrl: string): object {
  const callers = options.callers ?? { worker: {} };
  return {
    listen: { host: '127.0.0.1', port: 0, adminPort: 0 },
    upstream: { baseUrl: upstreamBaseUrl, timeoutMs: 5000, maxSockets: 64 },
    accounts: {
      [accountId]: { apiKey: { env: 'KEY_MAIN' }, ...(options.accountQuotas ? { quotas: options.accountQuotas } : {}) },
    },
    limits: { [accountId]: options.limits },
    auth: {
      issuer: ISSUER,
      audience: AUDIENCE,
      maxTokenLifetimeSec: 3600,
      clockToleranceSec: 5,
      keys: [{ kid: HS_KID, algorithms: ['HS256'], secret: { env: 'JWT_HS_SECRET' } }],
    },
    ...(options.protection ? { protection: options.protection } : {}),
    callers: Object.fromEntries(
      Object.entries(callers).map(([name, caller]) => [name, { account: accountId, scopes: ['*'], ...caller }]),
    ),
  };
}

export async function startFleet(options: FleetOptions): Promise<Fleet> {
  fleets += 1;
  const accountId = options.accountId ?? `fleet${fleets}-${randomBytes(3).toString('hex')}`;
  const hmacSecret = randomBytes(32).toString('hex');
  const sandbox = await startSandbox({
    port: 0,
    createDelayMs: 0,
    transitionDelayMs: 0,
    ...options.sandbox,
    keys: [OWNER_KEY],
  });
  const env: Record<string, string> = { KEY_MAIN: OWNER_KEY.key, JWT_HS_SECRET: hmacSecret };
  // JSON is YAML: the policy goes through the same parser as a deployed one.
  const parsed = parsePolicy(
    JSON.stringify(policyDocument(options, accountId, sandbox.apiBaseUrl)),
    '/policy/fleet.yaml',
    {
      readEnv: (name) => (Object.hasOwn(env, name) ? env[name] : undefined),
      readFile: (file) => {
        throw Object.assign(new Error(`ENOENT: ${file}`), { code: 'ENOENT' });
      },
    },
  );
  if (!parsed.ok) {
    await sandbox.close();
    throw new Error(`fleet policy is invalid: ${parsed.errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`);
  }
  const policy = parsed.policy;
  const count = options.gateways ?? 3;
  const schedule = {
    expectedReplicas: options.expectedReplicas ?? count,
    ...(options.redisUrl ? { redisUrl: options.redisUrl } : {}),
    ...(options.redis ? { redis: options.redis } : {}),
    ...(options.commandTimeoutMs ? { commandTimeoutMs: options.commandTimeoutMs } : {}),
    ...(options.tuning ? { tuning: options.tuning } : {}),
  };

  const gateways: FleetGateway[] = [];
  const closeAll = async (): Promise<void> => {
    await Promise.all(gateways.map((g) => g.gateway.close()));
    await sandbox.close();
  };
  try {
    for (let index = 0; index < count; index += 1) {
      const logLines: string[] = [];
      const logger = createLogger({
        level: 'info',
        destination: { write: (line: string) => void logLines.push(line) },
      });
      const gateway = await startGateway({
        policy,
        logger,
        host: '127.0.0.1',
        port: 0,
        adminPort: 0,
        drainMs: 2000,
        schedule,
      });
      gateways.push({
        index,
        gateway,
        port: Number(new URL(gateway.url).port),
        adminPort: Number(new URL(gateway.adminUrl).port),
        logLines,
      });
    }
    // Until its Redis connection is up a gateway's schedule waits (`connecting`), but its protective
    // limits count in memory, per gateway (the insurance limiter): start measuring once all are up.
    if (options.redisUrl || options.redis)
      await waitUntil(() => gateways.every((g) => g.gateway.schedule.state().reason !== 'connecting'), 3000, 5);
  } catch (error) {
    await closeAll();
    throw error;
  }

  const tokens = new Map<string, string>();
  const token = (caller: string): string => {
    let t = tokens.get(caller);
    if (t === undefined) {
      t = mintToken({
        sub: caller,
        lifetimeSec: 600,
        signingKey: hmacSecret,
        alg: 'HS256',
        kid: HS_KID,
        issuer: ISSUER,
        audience: AUDIENCE,
        now: Date.now,
      });
      tokens.set(caller, t);
    }
    return t;
  };

  // Keep-alive, so a load run does not churn sockets; destroyed on close (no open handles).
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const request = (index: number, method: string, target: string, o: FleetRequest = {}): Promise<FleetReply> =>
    new Promise((resolve, reject) => {
      const g = gateways[index];
      if (!g) throw new Error(`no gateway ${index}`);
      const headers: OutgoingHttpHeaders = { ...o.headers };
      if (o.authorization !== undefined) headers.authorization = o.authorization;
      else if (o.caller !== undefined) headers.authorization = `Bearer ${token(o.caller)}`;
      if (o.body !== undefined) headers['content-length'] = Buffer.byteLength(o.body);
      const req = http.request(
        { host: '127.0.0.1', port: o.admin ? g.adminPort : g.port, method, path: target, headers, agent },
        (res) => readAnswer(res).then(resolve, reject),
      );
      req.on('error', reject);
      req.end(o.body);
    });

  const label = keyLabel(OWNER_KEY);
  let closing: Promise<void> | undefined;
  return {
    sandbox,
    gateways,
    policy,
    accountId,
    secrets: [OWNER_KEY.key, hmacSecret],
    token,
    request,
    readyz: (index) => request(index, 'GET', '/readyz'),
    async warmUp(caller = Object.keys(options.callers ?? { worker: {} })[0]!) {
      const replies = await Promise.all([
        ...gateways.map((g) => request(g.index, 'GET', READ_TARGET, { caller })),
        request(0, 'POST', WRITE_TARGET, { caller }),
      ]);
      const odd = replies.find((r) => r.headers['x-queue-wait-ms'] === undefined);
      if (odd) throw new Error(`warm-up request not forwarded: ${odd.status} ${JSON.stringify(odd.body)}`);
      return { read: gateways.length, write: 1 };
    },
    async metric(index, name, labels = {}) {
      const text = String((await request(index, 'GET', '/metrics', { admin: true })).body);
      return sumMetric(text, name, labels);
    },
    upstream: (cls) =>
      sandbox.referee.stats().keys[label]?.classes[cls] ?? {
        admitted: 0,
        rejected: 0,
        maxAdmittedInFixedWindow: 0,
        maxAdmittedInSlidingWindow: 0,
      },
    close() {
      closing ??= (async () => {
        await closeAll();
        agent.destroy();
      })();
      return closing;
    },
  };
}

/** Sum of the samples of `name` (no suffix) whose labels include every pair of `labels`. */
export function sumMetric(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const present = new Map<string, string>();
    for (const pair of (match[3] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      present.set(pair[1]!, pair[2]!);
    if (Object.entries(labels).every(([k, v]) => present.get(k) === v)) sum += Number(match[4]);
  }
  return sum;
}

// ---- load ---------------------------------------------------------------------------------------

export interface Load {
  caller: string;
  gateway: number;
  /** Concurrent closed-loop workers. */
  workers: number;
  /** Default `read` (GET READ_TARGET); `write` posts WRITE_TARGET. */
  kind?: 'read' | 'write';
  headers?: Record<string, string>;
}

export interface Sent {
  caller: string;
  gateway: number;
  kind: 'read' | 'write';
  status: number;
  /** The envelope's `code` of a non-2xx reply, if any. */
  code?: string;
  startMs: number;
  endMs: number;
  /** `x-queue-wait-ms`: set only when the gateway forwarded the request. */
  queueWaitMs?: number;
  retryAfter?: string;
  /** The provider's rate-limit headers relayed on a forwarded reply (either family): its window's count. */
  upstreamRemaining?: number;
  /** The provider's reset (Unix seconds): identifies the provider window the request was counted in. */
  upstreamReset?: number;
  /** A transport error instead of a reply. */
  error?: string;
}

export const forwarded = (s: Sent): boolean => s.queueWaitMs !== undefined;
/** Answered by the gateway itself with 429 (deadline, backlog, pause), not forwarded. */
export const gatewayRejected = (s: Sent): boolean => s.status === 429 && !forwarded(s);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Closed-loop workers until `untilMs` (each starts its next request when the previous one is
 * answered); after a gateway 429 a worker pauses `backoffMs`. Every reply is recorded.
 */
export async function drive(
  fleet: Fleet,
  loads: Load[],
  untilMs: number | (() => number),
  backoffMs = 20,
): Promise<Sent[]> {
  const sent: Sent[] = [];
  // A function: the end may move while the load runs (a test that waits for the fleet to settle).
  const endMs = typeof untilMs === 'number' ? () => untilMs : untilMs;
  const worker = async (load: Load): Promise<void> => {
    const kind = load.kind ?? 'read';
    while (Date.now() < endMs()) {
      const startMs = Date.now();
      const entry: Sent = { caller: load.caller, gateway: load.gateway, kind, status: 0, startMs, endMs: startMs };
      try {
        const reply = await fleet.request(
          load.gateway,
          kind === 'read' ? 'GET' : 'POST',
          kind === 'read' ? READ_TARGET : WRITE_TARGET,
          { caller: load.caller, headers: load.headers },
        );
        entry.status = reply.status;
        const wait = reply.headers['x-queue-wait-ms'];
        if (typeof wait === 'string') entry.queueWaitMs = Number(wait);
        const retryAfter = reply.headers['retry-after'];
        if (typeof retryAfter === 'string') entry.retryAfter = retryAfter;
        const remaining = reply.headers['x-ratelimit-remaining-second'] ?? reply.headers['x-ratelimit-remaining'];
        const reset = reply.headers['x-ratelimit-reset-second'] ?? reply.headers['x-ratelimit-reset'];
        if (typeof remaining === 'string') entry.upstreamRemaining = Number(remaining);
        if (typeof reset === 'string') entry.upstreamReset = Number(reset);
        if (
          reply.status >= 300 &&
          typeof reply.body === 'object' &&
          reply.body !== null &&
          typeof reply.body.code === 'string'
        )
          entry.code = reply.body.code;
      } catch (error) {
        entry.error = error instanceof Error ? error.message : String(error);
      }
      entry.endMs = Date.now();
      sent.push(entry);
      if (entry.error !== undefined || gatewayRejected(entry)) await sleep(backoffMs);
    }
  };
  await Promise.all(loads.flatMap((load) => Array.from({ length: load.workers }, () => worker(load))));
  return sent;
}

/**
 * Watches this process's event-loop delay (the gateways, the sandbox and the callers all run on
 * it): `stop()` returns the largest stall seen, in ms. A stall longer than the schedule's jitter
 * margin (176 ms at TEST_SAFETY) can make the sandbox see a burst no schedule could prevent.
 */
export function watchEventLoop(): { stop(): number } {
  const watch = watchLoopDelay();
  return { stop: () => watch.stop().maxMs };
}

export async function waitUntil(
  condition: () => Promise<boolean> | boolean,
  timeoutMs: number,
  stepMs = 20,
): Promise<number> {
  const started = Date.now();
  while (!(await condition())) {
    if (Date.now() - started > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(stepMs);
  }
  return Date.now() - started;
}

export const sleepUntil = (atMs: number): Promise<void> => sleep(Math.max(0, atMs - Date.now()));

/**
 * Waits (30 s at most) for a second in which this process's event loop was never held up more than
 * 50 ms. A neighbour test that takes both CPUs (the full suite runs two at once) stalled fleet tests
 * by 400-600 ms, which rightly changes what a schedule measures and how much of the limit it can
 * use; tests that judge use on a machine that is busy, not starved, start their load after this.
 */
export async function untilCalm(): Promise<void> {
  const giveUpAt = Date.now() + 30_000;
  while (Date.now() < giveUpAt) {
    const loop = watchEventLoop();
    await sleepUntil(Date.now() + 1000);
    if (loop.stop() <= 50) return;
  }
}

/** Counts by status (and `error`), for messages. */
export function statusCounts(sent: readonly Sent[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const s of sent) {
    const key =
      s.error !== undefined
        ? 'error'
        : `${s.status}${s.status === 429 ? (forwarded(s) ? '-upstream' : '-gateway') : ''}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

/**
 * The fleets and redis-servers one test file starts, all stopped after its tests: fleets first,
 * since their gateways hold connections to the servers.
 */
export function fleetsForFile(): { fleet(options: FleetOptions): Promise<Fleet>; redis(): Promise<RedisServer> } {
  const fleets: Fleet[] = [];
  const servers: RedisServer[] = [];
  afterAll(async () => {
    await Promise.all(fleets.map((f) => f.close()));
    await Promise.all(servers.map((s) => s.stop()));
  });
  return {
    async fleet(options) {
      const fleet = await startFleet(options);
      fleets.push(fleet);
      return fleet;
    },
    async redis() {
      const server = await startRedisServer();
      servers.push(server);
      return server;
    },
  };
}
