/**
 * `limits: auto` across replicas on a real Redis: the adopting replica's announcement carries the
 * limits, so the others switch on the message itself (replica B's reads of the shared hash are made
 * slow: B must switch long before any read could answer); and it goes out only once the new schedule
 * is paused, so a replica that switches on it finds no free slot in the provider's window.
 */
import { announcementText } from '../../../src/gateway/limits-announcement';
import { createMetrics } from '../../../src/gateway/observability/metrics';
import type { AccountLimits } from '../../../src/gateway/policy/types';
import { createProviderLimits, type ProviderLimits } from '../../../src/gateway/provider-limits';
import type { RedisConnection } from '../../../src/redis';
import { createRateSchedule, type RateSchedule, type ScheduleClass } from '../../../src/schedule';
import { granted } from '../../helpers/schedule-requests';
import { readyConnection, startRedisServer, type RedisServer } from '../../helpers/redis-server';

const AUTO: AccountLimits = {
  read: 30,
  write: 5,
  safety: 0.95,
  auto: { bounds: { minPerSecond: 1, maxPerSecond: 30 } },
};
const SHARED = { limit: 2, remaining: 1, family: 'shared' as const };
/** B's HMGET answers this late; B must switch well before (SWITCH_WITHIN_MS). */
const SLOW_READ_MS = 1500;
const SWITCH_WITHIN_MS = 600;
/** No periodic read of the hash during a test: only the announcement can switch a replica. */
const NO_REFRESH_MS = 60_000;

/** The adopter's pause commands reach Redis this late (a replica preempted between its commands, magnified). */
const SLOW_PAUSE_MS = 300;

let server: RedisServer;
const opened: RedisConnection[] = [];
const followers: ProviderLimits[] = [];
const schedules: RateSchedule[] = [];
let prefixes = 0;

beforeAll(async () => {
  server = await startRedisServer();
});

afterEach(async () => {
  for (const f of followers.splice(0)) f.close();
  await Promise.all(schedules.splice(0).map((schedule) => schedule.close()));
  await Promise.all(opened.splice(0).map((c) => c.close()));
});

afterAll(async () => {
  await server.stop();
});

async function connect(): Promise<RedisConnection> {
  const connection = await readyConnection(server.url, 2000);
  opened.push(connection);
  return connection;
}

/** The connection, except that every HMGET answers `delayMs` late. */
function withSlowReads(connection: RedisConnection, delayMs: number): RedisConnection {
  return {
    ...connection,
    command: async (name, ...args) => {
      if (name.toLowerCase() === 'hmget') await new Promise((r) => setTimeout(r, delayMs).unref());
      return connection.command(name, ...args);
    },
  };
}

/** The connection, except that the schedule script's `pause` runs `delayMs` late. */
function withSlowPauses(connection: RedisConnection, delayMs: number): RedisConnection {
  return {
    ...connection,
    runScript: async (script, keys, args) => {
      if (args[0] === 'pause') await new Promise((r) => setTimeout(r, delayMs));
      return connection.runScript(script, keys, args);
    },
  };
}

/** A gateway's pair on one Redis: the follower and the real shared schedule it retires and pauses. */
function scheduledReplica(name: string, redis: RedisConnection, scheduleRedis: RedisConnection, keyPrefix: string) {
  // Each needs the other, as in compose: the schedule asks the follower for the limits in force.
  const late: { limits?: ProviderLimits } = {};
  const schedule = createRateSchedule({
    redis: { connection: scheduleRedis, keyPrefix },
    limits: (id) => late.limits?.limitsFor(id),
    expectedReplicas: 2,
    now: Date.now,
    learnWindowPhase: false,
  });
  schedules.push(schedule);
  const limits = createProviderLimits({
    configured: (id) => (id === 'prod' ? AUTO : undefined),
    autoAccounts: () => ['prod'],
    schedule,
    redis,
    keyPrefix,
    replica: name,
    now: Date.now,
    logger: { info: () => undefined, warn: () => undefined },
    metrics: createMetrics(),
    refreshMs: NO_REFRESH_MS,
  });
  late.limits = limits;
  followers.push(limits);
  return { limits, schedule };
}

function replica(name: string, redis: RedisConnection, keyPrefix: string) {
  const calls: string[] = [];
  const lines: string[] = [];
  const metrics = createMetrics();
  const limits = createProviderLimits({
    configured: (id) => (id === 'prod' ? AUTO : undefined),
    autoAccounts: () => ['prod'],
    schedule: {
      retire: (accountId: string, scheduleClass: ScheduleClass, pauseMs: number) => {
        calls.push(`retire ${scheduleClass} ${pauseMs}`);
        return Promise.resolve();
      },
      pause: (accountId: string, operationClass: string) => {
        calls.push(`pause ${operationClass}`);
        return Promise.resolve();
      },
    },
    redis,
    keyPrefix,
    replica: name,
    now: Date.now,
    logger: { info: (_obj, msg) => lines.push(msg), warn: (_obj, msg) => lines.push(msg) },
    metrics,
    refreshMs: NO_REFRESH_MS,
  });
  followers.push(limits);
  return { limits, calls, lines, metrics };
}

async function subscribers(channel: string, count: number): Promise<void> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const [, n] = (await server.command('PUBSUB', 'NUMSUB', channel)) as [string, number];
    if (n >= count) return;
    if (Date.now() > deadline) throw new Error(`${channel}: ${n} of ${count} subscribers`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function waitFor(check: () => boolean, timeoutMs: number): Promise<number> {
  const startedAt = Date.now();
  while (!check()) {
    if (Date.now() - startedAt > timeoutMs) break;
    await new Promise((r) => setTimeout(r, 5));
  }
  return Date.now() - startedAt;
}

const isShared = (limits: ProviderLimits) => {
  const now = limits.limitsFor('prod');
  return now !== undefined && 'all' in now && now.all === 2;
};

describe('limits: auto on a real Redis', () => {
  test('a replica switches on the announcement, without reading the shared hash first', async () => {
    const keyPrefix = `sgtest${(prefixes += 1)}`;
    const a = replica('a', await connect(), keyPrefix);
    const b = replica('b', withSlowReads(await connect(), SLOW_READ_MS), keyPrefix);
    const announced: string[] = [];
    await (await connect()).subscribe(`${keyPrefix}:limits`, (message) => announced.push(message));
    await subscribers(`${keyPrefix}:limits`, 3);

    a.limits.observe('prod', 'read', SHARED, 200);
    expect(isShared(a.limits)).toBe(true);
    const tookMs = await waitFor(() => isShared(b.limits), 2 * SLOW_READ_MS);

    expect(tookMs).toBeLessThan(SWITCH_WITHIN_MS);
    // B retired its old schedules (their waiters take new slots) and left the fleet-wide holds to A.
    expect(b.calls).toEqual(['retire read 0', 'retire write 0']);
    expect(b.lines).toEqual([]);
    expect((await b.metrics.limitsAdopted.get()).values.reduce((n, v) => n + v.value, 0)).toBe(0);
    // The script's announcement is the format `limits-announcement.ts` reads.
    expect(announced).toEqual([announcementText('prod', 1, { all: 2 })]);
    // The hash holds what was announced, for the replicas that start later.
    expect(await server.command('HMGET', `${keyPrefix}:limits:prod`, 'version', 'rates')).toEqual(['1', '{"all":2}']);
  });

  test("a bare account name (an older replica's announcement) still makes a replica read the hash", async () => {
    const keyPrefix = `sgtest${(prefixes += 1)}`;
    const b = replica('b', await connect(), keyPrefix);
    await subscribers(`${keyPrefix}:limits`, 1);
    await server.command('HSET', `${keyPrefix}:limits:prod`, 'version', '1', 'rates', '{"all":2}');

    await server.command('PUBLISH', `${keyPrefix}:limits`, 'prod');

    expect(await waitFor(() => isShared(b.limits), 1000)).toBeLessThan(1000);
    expect(b.calls).toEqual(['retire read 0', 'retire write 0']);
  });

  test('the new schedule is paused before the announcement: a replica that switches on it gets no slot in the window', async () => {
    const keyPrefix = `sgtest${(prefixes += 1)}`;
    const connectionA = await connect();
    const a = scheduledReplica('a', connectionA, withSlowPauses(connectionA, SLOW_PAUSE_MS), keyPrefix);
    const connectionB = await connect();
    const b = scheduledReplica('b', connectionB, connectionB, keyPrefix);
    await subscribers(`${keyPrefix}:limits`, 2);
    const read = { accountId: 'prod', operationClass: 'read' as const, callerId: 'svc', weight: 1, maxWaitMs: 5000 };
    for (const { schedule } of [a, b]) granted(await schedule.reserve(read));

    const adoptedAtMs = Date.now();
    a.limits.observe('prod', 'read', SHARED, 200);
    await waitFor(() => isShared(b.limits), 3000);
    const slot = granted(await b.schedule.reserve(read));

    // Under `all 2/s`, B's first slot on the new schedule waits out the provider's window.
    expect(slot.scheduleClass).toBe('all');
    expect(slot.slotAtMs - adoptedAtMs).toBeGreaterThanOrEqual(950);
  });
});
