/**
 * The shared rate schedule end to end, through real gateways (`startGateway`) in front of the real
 * sandbox, which judges what reaches it (its limits set to the policy's, sliding windows):
 *
 * - three gateways sharing one schedule in a real Redis: no upstream 429, never above the limit in
 *   any 1 s span, the admitted rate close to limit × safety;
 * - the embedded default (no Redis URL): the same schedule in memory;
 * - deadlines: 429 with Retry-After, not forwarded, no slot taken; `x-max-wait-ms`, `x-queue-wait-ms`;
 * - fairness between two callers at weight 3:1 through two gateways;
 * - protective limits: a caller's requests per minute, the lockout of a source after bad tokens.
 *
 * One Redis server for the file; every fleet has an account (so a schedule) of its own.
 */
import type { RedisServer } from '../../helpers/redis-server';
import {
  drive,
  forwarded,
  gatewayRejected,
  READ_TARGET,
  fleetsForFile,
  statusCounts,
  TEST_SAFETY,
  waitUntil,
  watchEventLoop,
  type Fleet,
  type FleetReply,
} from '../../helpers/fleet-harness';

const started = fleetsForFile();
const fleetOf = started.fleet;
let redis: RedisServer;

beforeAll(async () => {
  redis = await started.redis();
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Admitted per second between the first and the last forwarded reply. */
function rate(times: number[]): number {
  const sorted = [...times].sort((a, b) => a - b);
  return (sorted.length - 1) / ((sorted[sorted.length - 1]! - sorted[0]!) / 1000);
}

/** A 429 the gateway answered itself, in the envelope, before forwarding. */
function expectTooMany(reply: FleetReply): void {
  expect(reply.status).toBe(429);
  expect(reply.headers['retry-after']).toMatch(/^[1-9][0-9]*$/);
  expect(reply.headers['x-queue-wait-ms']).toBeUndefined();
  expect(reply.body).toMatchObject({
    success: false,
    code: 'TOO_MANY_REQUESTS',
    requestId: reply.headers['x-request-id'],
  });
}

describe('three gateways, one shared schedule', () => {
  test('zero upstream 429s, never above the limit in any 1 s span, near-full use', async () => {
    const limits = { read: 10, write: 3, safety: TEST_SAFETY };
    const fleet = await fleetOf({
      gateways: 3,
      redisUrl: redis.url,
      expectedReplicas: 3,
      limits,
      sandbox: { limits: { readPerSecond: 10, writePerSecond: 3 }, window: 'sliding' },
      callers: { worker: { maxWaitMs: 3000 } },
    });
    for (let g = 0; g < 3; g += 1)
      expect((await fleet.readyz(g)).body).toMatchObject({ status: 'ready', checks: { schedule: 'shared' } });
    await fleet.warmUp();

    const loop = watchEventLoop();
    const started = Date.now();
    const sent = await drive(
      fleet,
      [0, 1, 2].flatMap((gateway) => [
        { caller: 'worker', gateway, workers: 2, kind: 'read' as const },
        { caller: 'worker', gateway, workers: 1, kind: 'write' as const },
      ]),
      started + 2500,
    );
    const stallMs = loop.stop();

    const reads = fleet.upstream('read');
    const writes = fleet.upstream('write');
    const readRate = rate(sent.filter((s) => s.kind === 'read' && forwarded(s)).map((s) => s.endMs));
    const writeRate = rate(sent.filter((s) => s.kind === 'write' && forwarded(s)).map((s) => s.endMs));
    const stats = fleet.gateways.map((g) => g.gateway.schedule.stats());
    console.log(
      `3 gateways, shared: replies ${JSON.stringify(statusCounts(sent))}; upstream read ${JSON.stringify(reads)}, write ${JSON.stringify(writes)}; ` +
        `rates read ${readRate.toFixed(2)}/s (schedule ${limits.read * TEST_SAFETY}), write ${writeRate.toFixed(2)}/s (schedule ${limits.write * TEST_SAFETY}); ` +
        `Redis commands per grant: ${(['reserve', 'report', 'total'] as const).map((k) => `${k} ${(stats.reduce((a, s) => a + s.redisCommands[k], 0) / stats.reduce((a, s) => a + s.granted.shared, 0)).toFixed(2)}`).join(', ')}; ` +
        `dispatch late max ${Math.max(...stats.map((s) => s.dispatch.maxLateMs)).toFixed(1)} ms; event-loop stall max ${stallMs} ms` +
        sent
          .filter((s) => s.status === 429)
          .map((s) => `; 429 ${s.kind} sent +${s.startMs - started}, queued ${s.queueWaitMs} ms`)
          .join(''),
    );

    expect(sent.filter((s) => s.error !== undefined || s.status >= 500)).toEqual([]);
    expect(sent.filter(gatewayRejected)).toEqual([]);
    expect(reads.rejected).toBe(0);
    expect(writes.rejected).toBe(0);
    expect(reads.maxAdmittedInSlidingWindow).toBeLessThanOrEqual(limits.read);
    expect(writes.maxAdmittedInSlidingWindow).toBeLessThanOrEqual(limits.write);
    // Near-full use: the admitted rate is the schedule's, limit × safety.
    expect(readRate).toBeGreaterThan(limits.read * TEST_SAFETY * 0.94);
    expect(readRate).toBeLessThanOrEqual(limits.read);
    expect(writeRate).toBeGreaterThan(limits.write * TEST_SAFETY * 0.9);
    expect(writeRate).toBeLessThanOrEqual(limits.write);
    expect(stats.every((s) => s.mode === 'shared' && s.granted.fallback === 0)).toBe(true);
    expect(new Set(sent.filter(forwarded).map((s) => s.gateway)).size).toBe(3);
  }, 15_000);
});

describe('memory mode (no Redis URL)', () => {
  test('/readyz says memory, and a burst through one gateway causes no upstream 429', async () => {
    const fleet = await fleetOf({
      gateways: 1,
      limits: { read: 10, write: 3, safety: TEST_SAFETY },
      sandbox: { limits: { readPerSecond: 10, writePerSecond: 3 }, window: 'sliding' },
      callers: { worker: { maxWaitMs: 3000 } },
    });
    const ready = await fleet.readyz(0);
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({ status: 'ready', checks: { schedule: 'memory' } });
    expect(await fleet.metric(0, 'strettch_gateway_schedule_mode', { mode: 'memory' })).toBe(1);

    await fleet.warmUp();
    await sleep(150); // idle again: the burst starts on a fresh grid
    const loop = watchEventLoop();
    const pending = Promise.all(
      Array.from({ length: 16 }, () => fleet.request(0, 'GET', READ_TARGET, { caller: 'worker' })),
    );
    await sleep(400); // mid-burst: most of the 16 hold future slots
    const waitingMidBurst = await fleet.metric(0, 'strettch_gateway_schedule_waiting_requests', { class: 'read' });
    const burst = await pending;
    const stallMs = loop.stop();
    // The saturation gauge: requests waiting for their slot, back to zero once all are sent.
    expect(waitingMidBurst).toBeGreaterThanOrEqual(8);
    expect(await fleet.metric(0, 'strettch_gateway_schedule_waiting_requests', { class: 'read' })).toBe(0);
    const waits = burst.map((r) => Number(r.headers['x-queue-wait-ms'])).sort((a, b) => a - b);
    const reads = fleet.upstream('read');
    console.log(
      `memory mode, burst of 16: statuses ${[...new Set(burst.map((r) => r.status))].join(',')}, queue waits ${waits[0]}…${waits[15]} ms; upstream ${JSON.stringify(reads)}; event-loop stall max ${stallMs} ms`,
    );
    expect(burst.map((r) => r.status)).toEqual(Array(16).fill(200));
    expect(reads).toMatchObject({ admitted: 16 + 1, rejected: 0 }); // and the warm-up read
    expect(reads.maxAdmittedInSlidingWindow).toBeLessThanOrEqual(10);
    // 16 slots at 8.5/s: the last is 15 intervals (1765 ms) after the first (its wait counts from
    // its own reservation, a little after the burst's first).
    expect(waits[15]).toBeGreaterThan(1765 - 120);
    expect(waits[15]).toBeLessThan(1765 + 60);
    expect(fleet.gateways[0]!.gateway.schedule.stats()).toMatchObject({ mode: 'memory', redisCommands: { total: 0 } });
  }, 10_000);
});

describe('deadlines', () => {
  let fleet: Fleet;
  /** 5 reads/s at the default 0.95: one slot every 210.5 ms. */
  const T = 1000 / (5 * 0.95);
  const granted = (): number => fleet.gateways.reduce((sum, g) => sum + g.gateway.schedule.stats().granted.shared, 0);

  beforeAll(async () => {
    // The earlier fleets of this file used the same Redis and account: on a busy machine their last
    // reservations can still lie ahead, and this describe starts from an idle schedule.
    await redis.command('FLUSHALL');
    fleet = await fleetOf({
      gateways: 2,
      redisUrl: redis.url,
      limits: { read: 5, write: 3 },
      sandbox: { limits: { readPerSecond: 5, writePerSecond: 3 }, window: 'sliding' },
      callers: { patient: { maxWaitMs: 5000 }, hasty: { maxWaitMs: 100 } },
    });
  });

  test('an idle schedule forwards at once, even with x-max-wait-ms: 0, and reports x-queue-wait-ms', async () => {
    const reply = await fleet.request(0, 'GET', READ_TARGET, { caller: 'patient', headers: { 'x-max-wait-ms': '0' } });
    expect(reply.status).toBe(200);
    expect(reply.headers['x-queue-wait-ms']).toMatch(/^[0-9]+$/);
    expect(Number(reply.headers['x-queue-wait-ms'])).toBeLessThan(20);
    expect(fleet.upstream('read').admitted).toBe(1);
  });

  test('past the deadline: 429 with Retry-After, not forwarded, no slot taken (the next request is not delayed)', async () => {
    await sleep(T + 50); // the schedule is idle again
    fleet.sandbox.referee.reset();
    const before = granted();
    // A queue of four on gateway 0: slots at t0, t0 + T, t0 + 2T, t0 + 3T.
    const queued = Array.from({ length: 4 }, () => {
      const startMs = Date.now();
      return fleet.request(0, 'GET', READ_TARGET, { caller: 'patient' }).then((reply) => ({ reply, startMs }));
    });
    await waitUntil(() => granted() >= before + 4, 2000, 2);

    // Through the other gateway: no wait allowed, a deadline shorter than the queue, and a header
    // that may not lengthen the caller's own 100 ms.
    const zero = await fleet.request(1, 'GET', READ_TARGET, { caller: 'patient', headers: { 'x-max-wait-ms': '0' } });
    const short = await fleet.request(1, 'GET', READ_TARGET, {
      caller: 'patient',
      headers: { 'x-max-wait-ms': '150' },
    });
    const hasty = await fleet.request(1, 'GET', READ_TARGET, { caller: 'hasty', headers: { 'x-max-wait-ms': '5000' } });
    for (const reply of [zero, short, hasty]) expectTooMany(reply);
    expect(fleet.gateways[1]!.gateway.schedule.stats().rejected.deadline).toBe(3);

    const nextStart = Date.now();
    const next = await fleet.request(1, 'GET', READ_TARGET, { caller: 'patient' });
    const queue = await Promise.all(queued);
    expect([...queue.map((q) => q.reply.status), next.status]).toEqual([200, 200, 200, 200, 200]);
    // Slot ≈ when the request was sent + how long it queued.
    const slots = queue.map((q) => q.startMs + Number(q.reply.headers['x-queue-wait-ms'])).sort((a, b) => a - b);
    const nextSlot = nextStart + Number(next.headers['x-queue-wait-ms']);
    console.log(
      `deadlines: queue slots at +${slots.map((s) => s - slots[0]!).join(', +')} ms, the next at +${nextSlot - slots[0]!} ms (T = ${T.toFixed(1)} ms)`,
    );
    // The fifth slot, right after the queue; had the rejections taken slots, it would be 3T later.
    expect(nextSlot - slots[3]!).toBeGreaterThan(T - 40);
    expect(nextSlot - slots[3]!).toBeLessThan(T + 60);
    // The upstream saw the five forwarded requests only.
    expect(fleet.upstream('read')).toMatchObject({ admitted: 5, rejected: 0 });
    expect(
      await fleet.metric(1, 'strettch_gateway_schedule_rejections_total', { class: 'read', reason: 'deadline' }),
    ).toBe(3);
  });

  test.each([['abc'], ['-1'], ['1.5'], [''], ['1234567'], ['10, 20'], ['0x10']])(
    'x-max-wait-ms %j is refused with 400, not forwarded',
    async (value) => {
      fleet.sandbox.referee.reset();
      const reply = await fleet.request(0, 'GET', READ_TARGET, {
        caller: 'patient',
        headers: { 'x-max-wait-ms': value },
      });
      expect(reply.status).toBe(400);
      expect(reply.body).toMatchObject({ success: false, code: 'BAD_REQUEST' });
      expect(reply.headers['x-queue-wait-ms']).toBeUndefined();
      expect(fleet.sandbox.referee.stats().lastRequest).toBeNull();
    },
  );
});

describe('fairness', () => {
  test('weights 3:1 under saturation through two gateways: admitted ratio within ±15 % of 3', async () => {
    // The sandbox cannot tell the callers apart (one account key): shares are counted on the
    // client side from 200s; the sandbox still judges the total.
    const fleet = await fleetOf({
      gateways: 2,
      redisUrl: redis.url,
      limits: { read: 40, write: 5, safety: TEST_SAFETY },
      sandbox: { limits: { readPerSecond: 40 }, window: 'sliding' },
      callers: { heavy: { weight: 3, maxWaitMs: 2000 }, light: { weight: 1, maxWaitMs: 2000 } },
    });
    await fleet.warmUp('heavy');
    const loop = watchEventLoop();
    const started = Date.now();
    const until = started + 3000;
    const sent = await drive(
      fleet,
      [0, 1].flatMap((gateway) => [
        { caller: 'heavy', gateway, workers: 4 },
        { caller: 'light', gateway, workers: 4 },
      ]),
      until,
    );
    const stallMs = loop.stop();
    // Both callers are active from the first request on; count the steady part.
    const counted = (caller: string): number =>
      sent.filter(
        (s) => s.caller === caller && forwarded(s) && s.status === 200 && s.endMs >= started + 500 && s.endMs < until,
      ).length;
    const ratio = counted('heavy') / counted('light');
    const reads = fleet.upstream('read');
    console.log(
      `fairness 3:1 at ${40 * TEST_SAFETY}/s through 2 gateways: heavy ${counted('heavy')}, light ${counted('light')}, ratio ${ratio.toFixed(3)}; ` +
        `replies ${JSON.stringify(statusCounts(sent))}; upstream ${JSON.stringify(reads)}; event-loop stall max ${stallMs} ms`,
    );

    expect(ratio).toBeGreaterThan(3 * 0.85);
    expect(ratio).toBeLessThan(3 * 1.15);
    // Saturated: together they used the schedule (34/s) over the counted 2.5 s.
    expect(counted('heavy') + counted('light')).toBeGreaterThan(40 * TEST_SAFETY * 2.5 * 0.9);
    expect(reads.rejected).toBe(0);
    expect(reads.maxAdmittedInSlidingWindow).toBeLessThanOrEqual(40);
    expect(sent.filter((s) => s.error !== undefined || s.status >= 500 || gatewayRejected(s))).toEqual([]);
  }, 15_000);
});

describe('protective limits (shared by the gateways through Redis)', () => {
  test('requestsPerMinute: 5 → the 6th request in the minute gets 429; other callers are not affected', async () => {
    const fleet = await fleetOf({
      gateways: 2,
      redisUrl: redis.url,
      limits: { read: 30, write: 5 },
      callers: { metered: { requestsPerMinute: 5 }, free: {} },
    });
    for (let i = 0; i < 5; i += 1)
      expect((await fleet.request(i % 2, 'GET', READ_TARGET, { caller: 'metered' })).status).toBe(200);
    const sixth = await fleet.request(1, 'GET', READ_TARGET, { caller: 'metered' });
    expectTooMany(sixth);
    expect(Number(sixth.headers['retry-after'])).toBeGreaterThan(50);
    expectTooMany(await fleet.request(0, 'GET', READ_TARGET, { caller: 'metered' }));
    expect((await fleet.request(0, 'GET', READ_TARGET, { caller: 'free' })).status).toBe(200);
    // Five of `metered` and one of `free` reached the upstream.
    expect(fleet.upstream('read').admitted).toBe(6);
    expect(await fleet.metric(1, 'strettch_gateway_rejections_total', { reason: 'TOO_MANY_REQUESTS' })).toBe(1);
  });

  test('bad-token lockout: after 3 bad tokens from 127.0.0.1 even a good token gets 429 on every gateway until the lockout ends', async () => {
    // The only fleet of the file with a lockout: the others never look at the source.
    const fleet = await fleetOf({
      gateways: 2,
      redisUrl: redis.url,
      limits: { read: 30, write: 5 },
      callers: { worker: {} },
      protection: { badTokens: { maxFailures: 3, windowSec: 10, lockoutSec: 1 } },
    });
    expect((await fleet.request(0, 'GET', READ_TARGET, { caller: 'worker' })).status).toBe(200);
    // Two bad tokens: not yet locked out.
    for (const g of [0, 1])
      expect((await fleet.request(g, 'GET', READ_TARGET, { authorization: 'Bearer not-a-jwt' })).status).toBe(401);
    expect((await fleet.request(1, 'GET', READ_TARGET, { caller: 'worker' })).status).toBe(200);
    // The third (a good token, tampered): locked out.
    expect(
      (await fleet.request(0, 'GET', READ_TARGET, { authorization: `Bearer ${fleet.token('worker')}x` })).status,
    ).toBe(401);
    const lockedAt = Date.now();
    for (const g of [0, 1]) expectTooMany(await fleet.request(g, 'GET', READ_TARGET, { caller: 'worker' }));
    // Without credentials too: the source is checked first.
    expectTooMany(await fleet.request(1, 'GET', READ_TARGET));
    expect(fleet.upstream('read').admitted).toBe(2);

    await sleep(Math.max(0, lockedAt + 1100 - Date.now()));
    for (const g of [0, 1]) expect((await fleet.request(g, 'GET', READ_TARGET, { caller: 'worker' })).status).toBe(200);
    expect(fleet.upstream('read').admitted).toBe(4);
  });
});
