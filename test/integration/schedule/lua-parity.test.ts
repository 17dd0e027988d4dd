/**
 * The Lua script is a port of calendar.ts. With the clock pinned (the script's test-only override),
 * the same operations must give the same answers from Redis and from memory.
 */
import { createRedisConnection, type RedisConnection } from '../../../src/redis';
import type { CalendarReply, CalendarReserveInput, ScheduleInfo } from '../../../src/schedule/calendar';
import { scheduleKeys } from '../../../src/schedule/keys';
import { MemoryScheduleStore } from '../../../src/schedule/memory-store';
import { RedisScheduleStore } from '../../../src/schedule/redis-store';
import { startRedisServer, type RedisServer } from '../../helpers/redis-server';

let server: RedisServer;
let connection: RedisConnection;

beforeAll(async () => {
  server = await startRedisServer();
  connection = createRedisConnection({ url: server.url, commandTimeoutMs: 1000 });
  await new Promise<void>((resolve) => {
    if (connection.status() === 'ready') resolve();
    else connection.onStatusChange((s) => s === 'ready' && resolve());
  });
});

afterAll(async () => {
  await connection.close();
  await server.stop();
});

function strip<T extends ScheduleInfo>(reply: T): Omit<T, 'epoch'> {
  const { epoch: _epoch, ...rest } = reply;
  return rest;
}

function expectSame(a: object, b: object, step: string): void {
  const ka = Object.keys(a).sort();
  expect([step, ka]).toEqual([step, Object.keys(b).sort()]);
  for (const k of ka) {
    const va = (a as Record<string, unknown>)[k];
    const vb = (b as Record<string, unknown>)[k];
    if (typeof va === 'number' && typeof vb === 'number') {
      if (Math.abs(va - vb) > 1e-6) throw new Error(`${step}: ${k} differs: redis ${va} vs memory ${vb}`);
    } else expect([step, k, va]).toEqual([step, k, vb]);
  }
}

test('random operation sequences give identical replies from the Lua script and calendar.ts', async () => {
  let now = 1_800_000_000_000;
  const clock = (): number => now;
  const redis = new RedisScheduleStore({ connection, keyPrefix: 'parity', idleTtlMs: 60_000, pinnedNow: clock });
  const memory = new MemoryScheduleStore({ now: clock, idleTtlMs: 60_000, epochPrefix: 'm' });
  const keys = scheduleKeys('parity', 'acct', 'read');
  let seed = 7;
  const rand = (): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  const callers = [
    { id: 'a', weight: 3, reservedShare: 0 },
    { id: 'b', weight: 1, reservedShare: 0 },
    { id: 'c', weight: 2, reservedShare: 0.2 },
  ];
  const counts = { granted: 0, idle: 0, deadline: 0, backlog: 0, paused: 0, refused: 0, anchored: 0 };
  for (let step = 0; step < 600; step += 1) {
    now += Math.floor(rand() * 60);
    const r = rand();
    const label = `step ${step}`;
    if (r < 0.9) {
      const c = callers[Math.floor(rand() * callers.length)]!;
      const input: CalendarReserveInput = {
        intervalMs: step < 400 ? 1000 / 28.5 : 1000 / 19, // the interval changes once, mid-run
        callerId: c.id,
        weight: c.weight,
        reservedShare: c.reservedShare,
        maxWaitMs: [0, 100, 500, 2000][Math.floor(rand() * 4)]!,
        maxQueued: c.id === 'a' ? 3 : 12,
        fairness: { activeWindowMs: 1000, forgetCallerMs: 5000, lookaheadMs: 70, maxReservedShareTotal: 0.5 },
        knownEpoch: '',
        lossGuardMs: 1000,
        idleTtlMs: 60_000,
      };
      // Steps 200–499 are anchored (a learnt fixed-window phase); the anchor moves at 300, and
      // replicas' anchors differ by fractions of a millisecond (within or beyond the slack) or by more now and then.
      if (step >= 200 && step < 500) {
        // From the step, not from rand(): the rest of the sequence stays the one the counts below were set for.
        const jitter = step % 37 === 0 ? 13 : (step % 9) * 0.1;
        input.anchorMs = 1_800_000_000_000 + (step < 300 ? 7.25 : 19.5) + jitter;
        input.anchorSlackMs = step % 2 === 0 ? 0.5 : 0;
        counts.anchored += 1;
      }
      if (rand() < 0.05) {
        // A replica that remembers another incarnation (lost state): both stores take the same branch.
        input.knownEpoch = 'gone';
        input.hintOffsetMs = Math.floor(rand() * 600) - 300;
      }
      const a: CalendarReply = await redis.reserve(keys, input);
      const b: CalendarReply = memory.reserveNow(keys, input);
      expectSame(strip(a), strip(b), label);
      if (a.kind === 'granted') {
        counts.granted += 1;
        if (a.idleCapacity) counts.idle += 1;
      } else counts[a.reason] += 1;
    } else if (r < 0.92) {
      const delay = Math.floor(rand() * 400);
      expectSame(strip(await redis.pause(keys, delay)), strip(memory.pauseNow(keys, delay)), label);
    } else if (r < 0.95) {
      // Upstream 429s, often two in one provider window (the second waits for its reset).
      const refusal = {
        resetKey: rand() < 0.2 ? '' : String(Math.floor(now / 1000) + 1),
        resetDelayMs: Math.floor(rand() * 1000),
      };
      const iv = step < 400 ? 1000 / 28.5 : 1000 / 19;
      expectSame(strip(await redis.refused(keys, iv, refusal)), strip(memory.refusedNow(keys, iv, refusal)), label);
      counts.refused += 1;
    } else if (r < 0.98) {
      const report = { remaining: Math.floor(rand() * 30), limit: 30, resetKey: String(Math.floor(now / 1000) + 1) };
      expectSame(strip(await redis.report(keys, report, 2)), strip(await memory.report(keys, report, 2)), label);
    } else {
      const offset = Math.floor(rand() * 300);
      expectSame(strip(await redis.seed(keys, offset, 100)), strip(memory.seedNow(keys, offset, 100)), label);
    }
  }
  // The sequence exercised every branch.
  expect(counts.granted).toBeGreaterThan(150);
  expect(counts.idle).toBeGreaterThan(0);
  expect(counts.deadline).toBeGreaterThan(0);
  expect(counts.backlog).toBeGreaterThan(0);
  expect(counts.paused).toBeGreaterThan(0);
  expect(counts.refused).toBeGreaterThan(5);
  expect(counts.anchored).toBeGreaterThan(200);
});
