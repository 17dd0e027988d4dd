/** Drives several schedule instances ("replicas", each with its own Redis connection) with closed-loop callers. */
import {
  createRateSchedule,
  type RateSchedule,
  type RateScheduleOptions,
  type ScheduleMode,
} from '../../../src/schedule';
import { startRedisServer, type RedisServer } from '../../helpers/redis-server';

export interface Send {
  atMs: number;
  callerId: string;
  replica: number;
  mode: ScheduleMode;
  waitMs: number;
  /** The reserved slot (the ideal send time, before dispatch delay). */
  slotAtMs: number;
}

export interface DriveCaller {
  id: string;
  weight: number;
  workersPerReplica: number;
  maxWaitMs: number;
  reservedShare?: number;
}

export function startReplicas(count: number, options: RateScheduleOptions): RateSchedule[] {
  return Array.from({ length: count }, () => createRateSchedule(options));
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Runs every caller's workers on every replica until `untilMs`; returns the sends (after waitForSlot). */
export async function drive(
  replicas: RateSchedule[],
  callers: DriveCaller[],
  untilMs: number,
  accountId = 'acct',
): Promise<Send[]> {
  const sends: Send[] = [];
  const worker = async (schedule: RateSchedule, replica: number, caller: DriveCaller): Promise<void> => {
    while (Date.now() < untilMs) {
      const r = await schedule.reserve({
        accountId,
        operationClass: 'read',
        callerId: caller.id,
        weight: caller.weight,
        maxWaitMs: caller.maxWaitMs,
        ...(caller.reservedShare === undefined ? {} : { reservedShare: caller.reservedShare }),
      });
      if (r.kind === 'rejected') {
        await sleep(Math.min(r.retryAfterMs, Math.max(1, untilMs - Date.now())));
        continue;
      }
      const outcome = await schedule.waitForSlot(r);
      if (outcome.kind === 'ready')
        sends.push({
          atMs: Date.now(),
          callerId: caller.id,
          replica,
          mode: r.mode,
          waitMs: r.waitMs,
          slotAtMs: r.slotAtMs,
        });
    }
  };
  const workers: Promise<void>[] = [];
  replicas.forEach((schedule, replica) => {
    for (const caller of callers)
      for (let i = 0; i < caller.workersPerReplica; i += 1) workers.push(worker(schedule, replica, caller));
  });
  await Promise.all(workers);
  return sends;
}

/** The most times in any window [t, t + windowMs): covers fixed windows of every phase and sliding windows. */
export function maxInWindow(times: readonly number[], windowMs = 1000): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  let lo = 0;
  for (let hi = 0; hi < sorted.length; hi += 1) {
    while (sorted[hi]! - sorted[lo]! >= windowMs) lo += 1;
    best = Math.max(best, hi - lo + 1);
  }
  return best;
}

export async function waitFor(condition: () => boolean, timeoutMs: number, stepMs = 10): Promise<number> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(stepMs);
  }
  return Date.now() - started;
}

export async function whenAllShared(replicas: RateSchedule[], timeoutMs = 3000): Promise<void> {
  await waitFor(() => replicas.every((r) => r.state().mode === 'shared'), timeoutMs);
}

export interface ReplicaFixture {
  /** The file's redis-server (started before its first test). */
  readonly server: RedisServer;
  /** The key prefix of the latest `replicas` call. */
  prefix(): string;
  /** `count` schedules on the server under a fresh key prefix, closed after the test. */
  replicas(count: number, overrides?: Partial<RateScheduleOptions>): RateSchedule[];
}

/**
 * A redis-server for the test file and replicas on it: each `replicas` call gets a key prefix of
 * its own, `expectedReplicas` = count, and the `defaults` unless overridden.
 */
export function replicaFixture(
  defaults: Omit<RateScheduleOptions, 'redis' | 'expectedReplicas'>,
  redis: { prefix: string; commandTimeoutMs: number },
): ReplicaFixture {
  let server: RedisServer | undefined;
  const open: RateSchedule[] = [];
  let calls = 0;
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((s) => s.close()));
  });
  afterAll(async () => {
    await server?.stop();
  });
  const prefix = () => `${redis.prefix}${calls}`;
  return {
    get server() {
      if (server === undefined) throw new Error('the redis-server starts in beforeAll');
      return server;
    },
    prefix,
    replicas(count, overrides = {}) {
      calls += 1;
      const list = startReplicas(count, {
        redis: { url: this.server.url, commandTimeoutMs: redis.commandTimeoutMs, keyPrefix: prefix() },
        expectedReplicas: count,
        ...defaults,
        ...overrides,
      });
      open.push(...list);
      return list;
    },
  };
}
