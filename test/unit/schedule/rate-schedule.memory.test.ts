/** The factory without Redis (`memory` mode): reservations, waiting, pauses, feedback — on fake timers. */
import { createRateSchedule, type RateSchedule } from '../../../src/schedule';
import { granted, requestsWaitingAtMost } from '../../helpers/schedule-requests';

const T0 = 1_800_000_000_000;
const READ_IV = 1000 / (30 * 0.95);

describe('createRateSchedule without Redis', () => {
  let schedule: RateSchedule;
  const request = requestsWaitingAtMost(2000);

  beforeEach(() => {
    jest.useFakeTimers({ now: T0 });
    schedule = createRateSchedule({
      limits: (id) => (id === 'prod' ? { read: 30, write: 5 } : id === 'later' ? { all: 2 } : undefined),
      safety: 0.95,
      expectedReplicas: 3,
      now: () => Date.now(),
    });
  });

  afterEach(async () => {
    await schedule.close();
    jest.useRealTimers();
  });

  test('runs in memory mode and spaces reservations by the interval', async () => {
    expect(schedule.state()).toEqual({ mode: 'memory', sinceMs: T0 });
    const waits = [];
    for (let i = 0; i < 5; i += 1) waits.push(granted(await schedule.reserve(request())).waitMs);
    waits.forEach((w, i) => expect(w).toBeCloseTo(i * READ_IV, 3));
    const writes = [
      granted(await schedule.reserve(request({ operationClass: 'write' }))).waitMs,
      granted(await schedule.reserve(request({ operationClass: 'write' }))).waitMs,
    ];
    expect(writes[0]).toBe(0); // its own schedule
    expect(writes[1]).toBeCloseTo(1000 / 4.75, 3);
    expect(schedule.stats()).toMatchObject({
      mode: 'memory',
      granted: { memory: 7, shared: 0, fallback: 0 },
      redisCommands: { total: 0 },
    });
  });

  test('a one-class account puts reads and writes on one schedule', async () => {
    const a = granted(await schedule.reserve(request({ accountId: 'later', operationClass: 'read' })));
    const b = granted(await schedule.reserve(request({ accountId: 'later', operationClass: 'write' })));
    expect(a.scheduleClass).toBe('all');
    expect(b.scheduleClass).toBe('all');
    expect(b.waitMs - a.waitMs).toBeCloseTo(1000 / 1.9, 3);
  });

  test('a wait past the deadline is a rejection value with a whole-ms retryAfterMs', async () => {
    for (let i = 0; i < 10; i += 1) await schedule.reserve(request());
    const r = await schedule.reserve(request({ maxWaitMs: 100 }));
    expect(r).toMatchObject({ kind: 'rejected', reason: 'deadline', mode: 'memory', scheduleClass: 'read' });
    expect(r.kind === 'rejected' && Number.isInteger(r.retryAfterMs) && r.retryAfterMs >= 1).toBe(true);
    expect(schedule.stats().rejected.deadline).toBe(1);
  });

  test('waitForSlot releases at the slot and reports the dispatch delay', async () => {
    granted(await schedule.reserve(request()));
    const second = granted(await schedule.reserve(request()));
    let outcome: unknown;
    void schedule.waitForSlot(second).then((o) => (outcome = o));
    await jest.advanceTimersByTimeAsync(Math.floor(READ_IV) - 1);
    expect(outcome).toBeUndefined();
    await jest.advanceTimersByTimeAsync(2);
    expect(outcome).toMatchObject({ kind: 'ready' });
    expect(schedule.stats().dispatch.count).toBe(1);
  });

  test('a pause learnt while waiting moves the slot; past the deadline the wait expires', async () => {
    granted(await schedule.reserve(request()));
    const keeps = granted(await schedule.reserve(request({ maxWaitMs: 5000 })));
    const loses = granted(await schedule.reserve(request({ maxWaitMs: 200 })));
    const outcomes: Record<string, { kind: string; waitedMs?: number }> = {};
    void schedule.waitForSlot(keeps).then((o) => (outcomes.keeps = o));
    void schedule.waitForSlot(loses).then((o) => (outcomes.loses = o));
    await schedule.pause('prod', 'read', T0 + 1000);
    await jest.advanceTimersByTimeAsync(0);
    expect(outcomes.loses).toMatchObject({ kind: 'expired' });
    await jest.advanceTimersByTimeAsync(990);
    expect(outcomes.keeps).toBeUndefined();
    await jest.advanceTimersByTimeAsync(100);
    expect(outcomes.keeps).toMatchObject({ kind: 'ready' });
    expect(outcomes.keeps!.waitedMs).toBeGreaterThanOrEqual(1000);
    // The send tolerance the forwarder checks moved with the slot (it held back every moved request before).
    const ready = outcomes.keeps as unknown as { sendByMs: number; releasedAtMs: number };
    expect(ready.sendByMs).toBeGreaterThan(ready.releasedAtMs);
    expect(ready.sendByMs - keeps.latestSendAtMs).toBeGreaterThanOrEqual(1000 - keeps.waitMs - 1);
    // New reservations queue after the moved ones.
    expect(granted(await schedule.reserve(request())).waitMs).toBeGreaterThan(0);
  });

  test("observe: a 429 within the headers' one-second resolution gives up one slot, and refusals add up", async () => {
    await schedule.observe(
      'prod',
      'read',
      { pauseUntilMs: T0 + 1000, resetAtMs: T0 + 1000, remaining: 0, limit: 30 },
      { status: 429 },
    );
    expect(granted(await schedule.reserve(request())).waitMs).toBeCloseTo(READ_IV, 3);
    // Two more refusals (e.g. answered together): two more slots, not one.
    await schedule.observe('prod', 'read', {}, { status: 429 });
    await schedule.observe('prod', 'read', {}, { status: 429 });
    expect(granted(await schedule.reserve(request())).waitMs).toBeCloseTo(4 * READ_IV, 3);
    // The other class is not touched.
    expect(granted(await schedule.reserve(request({ operationClass: 'write' }))).waitMs).toBe(0);
  });

  test('observe: a second 429 in the same provider window waits for the reset it announced', async () => {
    const refusal = { pauseUntilMs: T0 + 1000, resetAtMs: T0 + 1000, remaining: 0, limit: 30 };
    await schedule.observe('prod', 'read', refusal, { status: 429 });
    expect(granted(await schedule.reserve(request())).waitMs).toBeCloseTo(READ_IV, 3);
    await schedule.observe('prod', 'read', refusal, { status: 429 });
    // The queued slot moves to the reset; new ones follow it.
    expect(granted(await schedule.reserve(request())).waitMs).toBeCloseTo(1000 + READ_IV, 3);
    // The next window's first refusal costs one slot again.
    await schedule.observe('prod', 'read', { ...refusal, resetAtMs: T0 + 2000 }, { status: 429 });
    expect(granted(await schedule.reserve(request())).waitMs).toBeCloseTo(1000 + 3 * READ_IV, 3);
  });

  test('observe: what a 429 asks beyond one second is honoured as a pause', async () => {
    await schedule.observe('prod', 'read', { pauseUntilMs: T0 + 30_000 }, { status: 429 });
    expect(granted(await schedule.reserve(request({ maxWaitMs: 60_000 }))).waitMs).toBeCloseTo(29_000 + READ_IV, 3);
  });

  test('observe: remaining below expectation slows the schedule', async () => {
    expect(granted(await schedule.reserve(request({ operationClass: 'write' }))).waitMs).toBe(0);
    await schedule.observe('prod', 'write', { limit: 5, remaining: 0, resetAtMs: T0 + 1000 }, { status: 200 });
    // One write of ours in the last second, yet none remain: 5 − 1 − 0 − tolerance 2 = 2 slots given up,
    // so the next slot comes two intervals after now instead of one.
    expect(granted(await schedule.reserve(request({ operationClass: 'write' }))).waitMs).toBeCloseTo(
      2 * (1000 / 4.75),
      3,
    );
  });

  test('a wake-up later than the send tolerance is not released: the slot is late, and counted', async () => {
    const first = granted(await schedule.reserve(request()));
    expect(first.latestSendAtMs - first.slotAtMs).toBeCloseTo(500 / 19, 3);
    // The process was busy past the slot's tolerance before the wait even began.
    jest.setSystemTime(T0 + 30);
    await expect(schedule.waitForSlot(first)).resolves.toMatchObject({ kind: 'late', lateMs: 30 });
    const second = granted(await schedule.reserve(request()));
    jest.setSystemTime(second.slotAtMs + 20);
    await expect(schedule.waitForSlot(second)).resolves.toMatchObject({ kind: 'ready', lateMs: 20 });
    expect(schedule.stats()).toMatchObject({ lateWakeups: 1, dispatch: { count: 2 } });
  });

  /**
   * A schedule at safety 0.95 whose queue has free slots (two callers of equal weight: a's queue takes
   * every other slot, b's are free), then `test` with the account's safety changed to `then`.
   */
  async function withHolesThenSafety(
    then: number,
    options: { sendToleranceMs?: number },
    test: (s: RateSchedule) => Promise<void>,
  ): Promise<void> {
    let safety = 0.95;
    const custom = createRateSchedule({
      limits: () => ({ read: 30, write: 5, safety }),
      expectedReplicas: 1,
      now: () => Date.now(),
      fairness: { idleLookaheadSlots: 0 },
      ...options,
    });
    try {
      await custom.reserve(request({ callerId: 'b' }));
      for (let i = 0; i < 6; i += 1) await custom.reserve(request({ callerId: 'a' }));
      safety = then;
      await test(custom);
    } finally {
      await custom.close();
    }
  }

  test("a free slot kept from the grid before a re-grid is sent within that grid's own budget", async () => {
    // The account's safety rises from 0.95 to 0.98 (a reload, or the fleet's adaptive safety): the old,
    // sparser grid's free slots are still granted. The operator set a 40 ms release tolerance; a kept
    // slot gets at most its own grid's (half of 30 × 35.09 − 1000 ms: 26.3 ms), new slots the 40 ms.
    await withHolesThenSafety(0.98, { sendToleranceMs: 40 }, async (custom) => {
      const kept = granted(await custom.reserve(request({ callerId: 'b' })));
      const oldIv = 1000 / (30 * 0.95);
      expect(kept.waitMs).toBeCloseTo(3 * oldIv, 3);
      expect(kept.latestSendAtMs - kept.slotAtMs).toBeCloseTo((30 * oldIv - 1000) / 2, 3);
      // After the old tail, the new grid's slots have the configured tolerance.
      let next = kept;
      while (next.waitMs < 10 * oldIv) next = granted(await custom.reserve(request({ callerId: 'b' })));
      expect(next.latestSendAtMs - next.slotAtMs).toBeCloseTo(40, 3);
    });
  });

  test('a lowered safety keeps none of the old grid: its budget no longer covers the delays', async () => {
    await withHolesThenSafety(0.9, {}, async (custom) => {
      const next = granted(await custom.reserve(request({ callerId: 'b' })));
      // After the old tail (10 intervals of 0.95), one interval of 0.9 on.
      expect(next.waitMs).toBeCloseTo(10 * (1000 / 28.5) + 1000 / 27, 3);
    });
  });

  test('an abort signal ends the wait', async () => {
    granted(await schedule.reserve(request()));
    const r = granted(await schedule.reserve(request()));
    const controller = new AbortController();
    const pending = schedule.waitForSlot(r, { signal: controller.signal });
    controller.abort();
    await expect(pending).resolves.toEqual({ kind: 'aborted' });
  });

  test('programming errors throw: unknown account, invalid request', async () => {
    await expect(schedule.reserve(request({ accountId: 'nope' }))).rejects.toThrow(/no limits/);
    await expect(schedule.reserve(request({ weight: 0 }))).rejects.toThrow(RangeError);
    await expect(schedule.reserve(request({ maxWaitMs: -1 }))).rejects.toThrow(RangeError);
    await expect(schedule.reserve(request({ reservedShare: 1 }))).rejects.toThrow(RangeError);
    await expect(schedule.reserve(request({ callerId: '' }))).rejects.toThrow(RangeError);
  });

  test('an adaptive safety starts at 0.95, is reported, and moves with the measured release delays', async () => {
    const changes: [string, string, number][] = [];
    const adaptive = createRateSchedule({
      limits: () => ({ all: 100, adaptiveSafety: { min: 0.9, max: 0.995 } }),
      expectedReplicas: 1,
      now: () => Date.now(),
      onSafetyChange: (account, cls, safety) => changes.push([account, cls, safety]),
    });
    const first = granted(await adaptive.reserve(request()));
    expect(changes).toEqual([['prod', 'all', 0.95]]);
    expect(adaptive.queues()[0]!.safety).toBe(0.95);
    // 60 releases about 1 ms late, a little wire delay each.
    let last = first;
    for (let i = 0; i < 60; i += 1) {
      const r = i === 0 ? first : granted(await adaptive.reserve(request()));
      const waiting = adaptive.waitForSlot(r);
      await jest.advanceTimersByTimeAsync(r.waitMs + 1);
      expect((await waiting).kind).toBe('ready');
      adaptive.recordWireDelay('prod', 'read', 0.5);
      last = r;
    }
    // Evaluated on the next reservations: the raise is held 5 s, then the safety goes up (0.995 at most).
    await jest.advanceTimersByTimeAsync(1000);
    await adaptive.reserve(request());
    await jest.advanceTimersByTimeAsync(6000);
    const after = granted(await adaptive.reserve(request()));
    expect(changes.at(-1)![2]).toBeGreaterThan(0.95);
    expect(changes.at(-1)![2]).toBeLessThanOrEqual(0.995);
    expect(after.latestSendAtMs - after.slotAtMs).toBeLessThan(last.latestSendAtMs - last.slotAtMs);
    await adaptive.close();
  });
});
