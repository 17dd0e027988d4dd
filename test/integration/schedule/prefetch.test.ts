/**
 * Slots reserved a request ahead (src/schedule/slot-prefetch.ts) on a real redis-server: a caller
 * sending back to back goes on parked slots without a round trip before each request, never more
 * than the calendar allows reaches the provider, and slow callers or sparse schedules never park.
 */
import type { RateSchedule, RateScheduleOptions, ReserveRequest } from '../../../src/schedule';
import { SCHEDULE_TUNING_DEFAULTS } from '../../../src/schedule/tuning';
import { maxInWindow, replicaFixture } from './replicas';

const fixture = replicaFixture(
  { limits: () => ({ read: 100_000, write: 100_000 }) },
  { prefix: 'pf', commandTimeoutMs: 500 },
);
const replicas = (count: number, overrides: Partial<RateScheduleOptions> = {}): RateSchedule[] =>
  fixture.replicas(count, overrides);

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** One caller's read on the account every test uses. */
const READ: ReserveRequest = { accountId: 'acct', operationClass: 'read', callerId: 'svc', weight: 1, maxWaitMs: 2000 };

interface Outcomes {
  sends: number[];
  refused: Record<string, number>;
}

/** `workers` closed loops on each replica until `untilMs`, each waiting `gapMs` (the upstream) after a send. */
async function loop(
  list: RateSchedule[],
  workers: number,
  untilMs: number,
  gapMs: number,
  request: Partial<ReserveRequest> = {},
): Promise<Outcomes> {
  const out: Outcomes = { sends: [], refused: {} };
  const worker = async (schedule: RateSchedule) => {
    while (Date.now() < untilMs) {
      const r = await schedule.reserve({ ...READ, ...request });
      if (r.kind === 'rejected') {
        out.refused[r.reason] = (out.refused[r.reason] ?? 0) + 1;
        await sleep(1);
        continue;
      }
      const outcome = await schedule.waitForSlot(r);
      if (outcome.kind !== 'ready') {
        out.refused[outcome.kind] = (out.refused[outcome.kind] ?? 0) + 1;
        continue;
      }
      out.sends.push(Date.now());
      if (gapMs > 0) await sleep(gapMs);
    }
  };
  await Promise.all(list.flatMap((s) => Array.from({ length: workers }, () => worker(s))));
  return out;
}

/** Script calls that reserve: `reserve` and `reserve-many` alike. */
function scriptCalls(s: RateSchedule): number {
  const { redisCommands } = s.stats();
  return redisCommands.reserve + redisCommands['reserve-many'];
}

/** Reservations sent to Redis, in `reserve` and `reserve-many` calls alike. */
function reservationsSent(s: RateSchedule): number {
  const { redisCommands, batchedReservations } = s.stats();
  return redisCommands.reserve + batchedReservations;
}

/**
 * Nothing refused, but a request stalled past its slot's send tolerance after taking it is held back
 * as late: a busy machine, on the request path (1 of 1,131 and 14 of 5,475 sends in loaded CI runs).
 * One in a hundred at most.
 */
function expectNothingRefusedButFewLate(out: Outcomes): void {
  const { late = 0, ...refusedOtherwise } = out.refused;
  expect(refusedOtherwise).toEqual({});
  expect(late).toBeLessThanOrEqual(out.sends.length * 0.01);
}

test('a caller sending back to back on a dense schedule goes on parked slots, one reservation per request, several per call', async () => {
  const [s] = replicas(1);
  const out = await loop([s!], 1, Date.now() + 1500, 1);
  const { prefetch } = s!.stats();
  console.log(
    `back to back, 1 in flight: ${out.sends.length} sends, ${JSON.stringify(prefetch)}, ${reservationsSent(s!)} reservations sent`,
  );
  expectNothingRefusedButFewLate(out);
  expect(out.sends.length).toBeGreaterThan(300);
  // All but a few requests (the first two: no parked slot yet). A stall longer than a slot stays fresh
  // (a busy machine) wastes the parked slot and the next request takes the round trip: a few in a
  // loaded test run, never the rule.
  expect(prefetch.wasted).toBeLessThanOrEqual(out.sends.length * 0.05);
  expect(prefetch.taken).toBeGreaterThan(out.sends.length * 0.9 - 2 * prefetch.wasted);
  // One slot each: no more reservations than requests and the slots still parked at the end (at most
  // the caller's queue bound).
  const queueBound = SCHEDULE_TUNING_DEFAULTS.maxQueuedPerCaller;
  expect(reservationsSent(s!)).toBeLessThanOrEqual(out.sends.length + prefetch.wasted + queueBound + 2);
  // Several parked in one call at this pace (a request every ~1.3 ms): fewer script calls than requests.
  const calls = scriptCalls(s!);
  console.log(`  ${calls} script calls for ${out.sends.length} requests`);
  expect(calls).toBeLessThan(out.sends.length);
});

test('a request on a parked slot is answered before the call that parks the next ones is written', async () => {
  const [s] = replicas(1);
  let tookParked = 0;
  let refillsAfter = 0;
  for (let i = 0; i < 400 && refillsAfter < 20; i += 1) {
    const taken = s!.stats().prefetch.taken;
    const before = scriptCalls(s!);
    const reservation = await s!.reserve(READ);
    const atAnswer = scriptCalls(s!);
    if (reservation.kind === 'granted') await s!.waitForSlot(reservation);
    // The gateway forwards the request in the turn `reserve` answered in; the refill is written after it.
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (s!.stats().prefetch.taken > taken) {
      tookParked += 1;
      expect(atAnswer).toBe(before);
      if (scriptCalls(s!) > before) refillsAfter += 1;
    }
    await sleep(1);
  }
  expect(tookParked).toBeGreaterThanOrEqual(20);
  expect(refillsAfter).toBeGreaterThanOrEqual(20);
});

test("32 in flight on a dense schedule: parked slots do not count against the caller's queue bound", async () => {
  const [s] = replicas(1);
  const out = await loop([s!], 32, Date.now() + 1500, 1);
  const { prefetch } = s!.stats();
  console.log(`32 in flight: ${out.sends.length} sends, ${JSON.stringify(prefetch)}`);
  // No refusal for the queue bound (14 of 5,475 sends held back as late in one loaded CI run).
  expectNothingRefusedButFewLate(out);
  // Parked as deep as the queue bound, most requests find a slot waiting (22,232 of 25,920 here; with
  // a quarter of the bound parked, 7,604 of 22,962: two in three waited for a round trip). Judged
  // unless this process stalled past the time a parked slot stays fresh often enough to waste more
  // than 1 in 200 of them: each stall halves the depth by design (a starved CI run on a slow host:
  // 1,321 of 5,682 on parked slots, 117 wasted; quiet runs waste 0–32 of 15,000–25,000).
  const starved = prefetch.wasted > out.sends.length * 0.005;
  expect({ starved, onParkedSlots: starved || prefetch.taken > out.sends.length * 0.5 }).toEqual({
    starved,
    onParkedSlots: true,
  });
});

/** Three replicas on a 2,000/s schedule (1,900 after safety), `workers` loops each: sends, worst 1 s, prefetches. */
async function threeReplicasAt2000(workers: number, gapMs: number) {
  const list = replicas(3, { limits: () => ({ read: 2000, write: 2000 }) });
  const out = await loop(list, workers, Date.now() + 3000, gapMs);
  const stats = list.map((s) => s.stats().prefetch);
  const sum = (outcome: 'taken' | 'refused') => stats.reduce((n, p) => n + p[outcome], 0);
  const worst = maxInWindow(out.sends);
  console.log(
    `3 × ${workers} loops, gap ${gapMs} ms: ${out.sends.length} sends, worst 1 s ${worst}, ${JSON.stringify(stats)}`,
  );
  return { sends: out.sends.length, worst, taken: sum('taken'), refused: sum('refused') };
}

test('saturated by three replicas, parked slots included, the provider never gets more than its limit in any 1 s', async () => {
  const run = await threeReplicasAt2000(4, 0);
  expect(run.worst).toBeLessThanOrEqual(2000);
  // Its busiest second came near the limit (a mean over the 3 s would judge this machine's speed too:
  // 1,506/s in one loaded CI run whose busiest second had 1,727).
  expect(run.worst).toBeGreaterThan(1900 * 0.8);
  // A queue refuses prefetches (taking nothing) once the schedule is saturated.
  expect(run.refused).toBeGreaterThan(0);
});

test('near its limit, with parked slots taken, the provider never gets more than its limit in any 1 s', async () => {
  const run = await threeReplicasAt2000(1, 1);
  expect(run.worst).toBeLessThanOrEqual(2000);
  expect(run.taken).toBeGreaterThan(100);
});

test("a sparse schedule (the provider's launch limits) never parks a slot", async () => {
  const [s] = replicas(1, { limits: () => ({ read: 30, write: 5 }) });
  const out = await loop([s!], 2, Date.now() + 1000, 0);
  expect(out.sends.length).toBeGreaterThan(20);
  expect(s!.stats().prefetch).toEqual({ taken: 0, wasted: 0, refused: 0 });
  expect(reservationsSent(s!)).toBeGreaterThanOrEqual(out.sends.length);
});

test('a caller whose requests come further apart than a slot stays fresh parks nothing, so wastes nothing', async () => {
  const [s] = replicas(1);
  // 0.95: 26 ms of send tolerance, a parked slot is fresh for 13 ms.
  const out = await loop([s!], 1, Date.now() + 1000, 20);
  expect(out.sends.length).toBeGreaterThan(20);
  expect(s!.stats().prefetch).toEqual({ taken: 0, wasted: 0, refused: 0 });
});

test('prefetchMinRatePerSecond 0 turns it off: a round trip before every request', async () => {
  const [s] = replicas(1, { prefetchMinRatePerSecond: 0 });
  const out = await loop([s!], 1, Date.now() + 500, 1);
  expect(out.sends.length).toBeGreaterThan(100);
  expect(s!.stats().prefetch).toEqual({ taken: 0, wasted: 0, refused: 0 });
  expect(reservationsSent(s!)).toBe(out.sends.length);
});
