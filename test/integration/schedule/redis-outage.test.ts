/**
 * Redis killed mid-traffic (SIGKILL, no persistence) and restarted empty: replicas fall back to
 * local schedules at rate ÷ replicas, return to the shared schedule, and the sends of the whole run
 * never exceed the limit in any 1 s window (no double-booking across the transitions).
 */
import type { RateSchedule } from '../../../src/schedule';
import { startRedisServer, type RedisServer } from '../../helpers/redis-server';
import { drive, maxInWindow, startReplicas, waitFor } from './replicas';

let server: RedisServer;
let list: RateSchedule[] = [];

beforeAll(async () => {
  server = await startRedisServer();
});

afterAll(async () => {
  await Promise.all(list.map((s) => s.close()));
  await server.stop();
});

const sleepUntil = (atMs: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, atMs - Date.now())));

test('kill and restart Redis under load: fallback at the reduced rate, back to shared, never above the limit', async () => {
  const limit = 20;
  const modes: string[][] = [[], [], []];
  list = [0, 1, 2].map(
    (i) =>
      startReplicas(1, {
        redis: { url: server.url, commandTimeoutMs: 200, reconnectDelayMs: 50, keyPrefix: 'outage' },
        limits: () => ({ read: limit, write: 5 }),
        safety: 0.9,
        expectedReplicas: 3,
        fallback: { maxWaitMs: 400, transitionGuardMs: 800, probeIntervalMs: 100 },
        onStateChange: (state) => modes[i]!.push(state.mode),
      })[0]!,
  );
  const started = Date.now();
  const sending = drive(
    list,
    [
      { id: 'a', weight: 1, workersPerReplica: 3, maxWaitMs: 1000 },
      { id: 'b', weight: 3, workersPerReplica: 3, maxWaitMs: 1000 },
    ],
    started + 6000,
  );

  await sleepUntil(started + 1200);
  await server.kill();
  const killedAt = Date.now();
  const noticedMs = await waitFor(() => list.every((s) => s.state().mode === 'fallback'), 1000, 2);

  await sleepUntil(started + 3700);
  await server.restart();
  const restartedAt = Date.now();
  const returnedMs = await waitFor(() => list.every((s) => s.state().mode === 'shared'), 3000, 5);
  const sends = await sending;

  // The guarantee is about reserved slots; send times also carry this process's timer lateness,
  // which a stalled event loop on a loaded CI machine turns into bursts (measured by the fleet bench).
  const times = sends.map((s) => s.slotAtMs);
  const inRange = (from: number, to: number): number => times.filter((t) => t >= from && t < to).length;
  const fallbackRate = inRange(killedAt + 1000, restartedAt) / ((restartedAt - killedAt - 1000) / 1000);
  const sharedAfter = sends.filter((s) => s.mode === 'shared' && s.atMs > restartedAt).length;
  const worst = maxInWindow(times);
  const worstSends = maxInWindow(sends.map((s) => s.atMs));
  console.log(
    `outage: fallback noticed in ${noticedMs} ms, shared again ${returnedMs} ms after restart; ` +
      `rates/s: before ${(inRange(started + 500, killedAt) / ((killedAt - started - 500) / 1000)).toFixed(1)}, ` +
      `fallback ${fallbackRate.toFixed(1)}, after ${(inRange(restartedAt + 1500, started + 6000) / ((started + 6000 - restartedAt - 1500) / 1000)).toFixed(1)}; ` +
      `worst 1 s window ${worst} by slot, ${worstSends} by send time (limit ${limit}); sends ${sends.length}`,
  );
  expect(modes.every((m) => m.join(',') === 'fallback,shared')).toBe(true);
  expect(sends.some((s) => s.mode === 'fallback')).toBe(true);
  // 3 replicas × min(20 × 0.9 ÷ 3, floor(20 ÷ 3) × 0.9) = 16.2/s
  expect(fallbackRate).toBeGreaterThan(16.2 * 0.75);
  expect(fallbackRate).toBeLessThanOrEqual(18);
  expect(sharedAfter).toBeGreaterThan(10);
  expect(worst).toBeLessThanOrEqual(limit);
}, 15_000);

test('Redis unreachable at startup: reservations are served by the fallback, then the shared schedule takes over', async () => {
  const down = await startRedisServer();
  await down.kill();
  const schedule = startReplicas(1, {
    redis: { url: down.url, commandTimeoutMs: 200, connectTimeoutMs: 200, reconnectDelayMs: 50, keyPrefix: 'startup' },
    limits: () => ({ read: 20, write: 5, safety: 0.8 }),
    safety: 0.95,
    expectedReplicas: 2,
    fallback: { transitionGuardMs: 300, probeIntervalMs: 100 },
  })[0]!;
  list.push(schedule);
  expect(schedule.state()).toMatchObject({ mode: 'shared', reason: 'connecting' });
  const first = await schedule.reserve({
    accountId: 'acct',
    operationClass: 'read',
    callerId: 'a',
    weight: 1,
    maxWaitMs: 1000,
  });
  expect(first).toMatchObject({ kind: 'granted', mode: 'fallback' });
  const second = await schedule.reserve({
    accountId: 'acct',
    operationClass: 'read',
    callerId: 'a',
    weight: 1,
    maxWaitMs: 1000,
  });
  // Fallback rate (the account's safety, not the default): each replica's 10 per window spread over
  // 1000 ms + twice the send budget (250 ms at 0.8) = 6.67/s, slots 150 ms apart.
  expect(second.kind === 'granted' && second.waitMs).toBeGreaterThan(145);
  expect(second.kind === 'granted' && second.waitMs).toBeLessThanOrEqual(155);
  expect(schedule.state()).toMatchObject({ mode: 'fallback', reason: 'redis unreachable at startup' });
  await down.restart();
  await waitFor(() => schedule.state().mode === 'shared', 3000);
  const shared = await schedule.reserve({
    accountId: 'acct',
    operationClass: 'read',
    callerId: 'a',
    weight: 1,
    maxWaitMs: 1000,
  });
  expect(shared).toMatchObject({ kind: 'granted', mode: 'shared' });
  // After its own local slots and the transition guard.
  expect(shared.kind === 'granted' && shared.waitMs).toBeGreaterThan(250);
  await schedule.close();
  await down.stop();
});
