/**
 * An idle account costs Redis nothing: after every operation of the schedule's script each of its
 * keys (state hash, calendar, caller index) carries an expiry (the idle TTL past the furthest slot
 * or pause), and once the account is idle that long they are gone and Redis's dataset gives back
 * what they held — with a thousand callers' fairness state in the hash and the index, as
 * `npm run bench:scale` drives it at scale. (Not "back to the empty value": the script cache and the
 * Lua VM's heap stay, and are not the account's.)
 */
import { createRedisConnection, type RedisConnection } from '../../../src/redis';
import type { CalendarReserveInput } from '../../../src/schedule/calendar';
import { scheduleKeys, type ScheduleKeys } from '../../../src/schedule/keys';
import { RedisScheduleStore } from '../../../src/schedule/redis-store';
import { startRedisServer, type RedisServer } from '../../helpers/redis-server';

const IDLE_TTL_MS = 1000;
const PAUSE_MS = 400;

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

const reserveInput = (callerId: string, maxWaitMs = 2000): CalendarReserveInput => ({
  intervalMs: 1,
  callerId,
  weight: 1,
  reservedShare: 0,
  maxWaitMs,
  maxQueued: 32,
  fairness: { activeWindowMs: 1000, forgetCallerMs: 60_000, lookaheadMs: 70, maxReservedShareTotal: 0.5 },
  knownEpoch: '',
  lossGuardMs: 1000,
  idleTtlMs: IDLE_TTL_MS,
});

/** Keys and values alone: not the script cache, the Lua VM or the clients' buffers. */
const datasetBytes = async () =>
  Number(/^used_memory_dataset:(\d+)/m.exec(String(await server.command('INFO', 'memory')))![1]);

/** Each key's PTTL (state, calendar, caller index): any that exists expires within the idle TTL past `horizonMs`. */
async function expectExpiring(keys: ScheduleKeys, horizonMs: number, step: string): Promise<void> {
  for (const key of [keys.state, keys.calendar, keys.callers]) {
    const ttlMs = Number(await server.command('PTTL', key));
    if (ttlMs === -2) continue; // not created by this operation
    expect([step, key, ttlMs > 0 && ttlMs <= IDLE_TTL_MS + horizonMs]).toEqual([step, key, true]);
  }
}

test('every operation leaves every key expiring; an idle schedule is gone after its TTL, its memory given back', async () => {
  await server.command('FLUSHALL');
  const store = new RedisScheduleStore({ connection, keyPrefix: 'idle', idleTtlMs: IDLE_TTL_MS });
  const keys = scheduleKeys('idle', 'acct', 'read');

  // A fresh schedule whose first operation is not a reservation: the state hash alone, expiring.
  await store.seed(keys, 0, 100);
  await expectExpiring(keys, 100, 'seed');
  for (let i = 0; i < 1000; i++) {
    const reply = await store.reserve(keys, reserveInput(`caller-${i}`));
    expect(reply.kind).toBe('granted');
  }
  await expectExpiring(keys, 2000, 'reserve × 1000 callers');
  expect(Number(await server.command('HLEN', keys.state))).toBeGreaterThan(1000);
  expect(Number(await server.command('ZCARD', keys.callers))).toBe(1000);
  await store.report(keys, { remaining: 0, limit: 30, resetKey: 'w1' }, 2);
  await expectExpiring(keys, 2000, 'report');
  await store.refused(keys, 1, { resetKey: 'w2', resetDelayMs: 100 });
  await expectExpiring(keys, 2000, 'refused');
  await store.pause(keys, PAUSE_MS);
  await expectExpiring(keys, 2000 + PAUSE_MS, 'pause');
  // A rejection saves the state too (the caller's last-seen time).
  const rejected = await store.reserve(keys, reserveInput('caller-0', 0));
  expect(rejected.kind).toBe('rejected');
  await expectExpiring(keys, 2000 + PAUSE_MS, 'rejected reserve');
  let keyBytes = 0;
  for (const key of [keys.state, keys.calendar, keys.callers])
    keyBytes += Number(await server.command('MEMORY', 'USAGE', key, 'SAMPLES', '0'));
  expect(keyBytes).toBeGreaterThan(50_000);
  const busyBytes = await datasetBytes();

  // Idle: past the TTL, the furthest slot and the pause, every key is gone (Redis's active expiry
  // cycle deletes them without anyone reading them).
  const deadline = Date.now() + IDLE_TTL_MS + 2000 + PAUSE_MS + 3000;
  while (Number(await server.command('DBSIZE')) > 0 && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 100));
  expect(Number(await server.command('DBSIZE'))).toBe(0);
  // Most of it: MEMORY USAGE rounds up to allocator size classes, and the Lua heap moves the dataset by
  // tens of KB.
  expect(busyBytes - (await datasetBytes())).toBeGreaterThan(keyBytes * 0.5);
}, 20_000);
