/**
 * The schedule's default clock and what it is for: at high limits slots are microseconds apart, and a
 * request whose slot is a few µs ahead is released within a turn of the loop — not at the next whole
 * millisecond (a 1 ms timer), as it was on `Date.now()`. Real timers and the real clock: the point is
 * what Node's timers do.
 */
import { createRateSchedule, preciseNow, type GrantedReservation } from '../../../src/schedule';

describe('preciseNow', () => {
  test('reads the millisecond Date.now() reads, with its fraction', () => {
    const fractions = new Set<number>();
    let previous = preciseNow();
    for (let i = 0; i < 5_000; i += 1) {
      const before = Date.now();
      const reading = preciseNow();
      const after = Date.now();
      // Never ahead of the wall clock's millisecond, never behind the one read before it.
      expect(Math.floor(reading)).toBeGreaterThanOrEqual(before);
      expect(Math.floor(reading)).toBeLessThanOrEqual(after);
      expect(reading).toBeGreaterThanOrEqual(previous - 1);
      fractions.add(reading % 1);
      previous = reading;
    }
    expect(fractions.size).toBeGreaterThan(50);
  });
});

describe('a slot less than a millisecond ahead', () => {
  const HIGH = { read: 100_000, write: 100_000 };

  test('is waited for within a turn of the loop, never released early', async () => {
    const schedule = createRateSchedule({ limits: () => HIGH, expectedReplicas: 1 });
    const reserve = async () => {
      const r = await schedule.reserve({
        accountId: 'a',
        operationClass: 'read',
        callerId: 'c',
        weight: 1,
        maxWaitMs: 2000,
      });
      expect(r.kind).toBe('granted');
      return r as GrantedReservation;
    };
    try {
      const waits: number[] = [];
      for (let i = 0; i < 200; i += 1) {
        // Two requests in the same instant: the second's slot is one interval (10.5 µs) after the first's.
        await reserve();
        const second = await reserve();
        const startedAt = preciseNow();
        const outcome = await schedule.waitForSlot(second);
        const releasedAt = preciseNow();
        expect(outcome.kind).toBe('ready');
        expect(releasedAt).toBeGreaterThanOrEqual(second.slotAtMs);
        waits.push(releasedAt - startedAt);
        // Idle again before the next pair.
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
      const mean = waits.reduce((sum, w) => sum + w, 0) / waits.length;
      // On whole milliseconds and 1 ms timers every second request waited for the next tick: ≥ 1 ms.
      expect(mean).toBeLessThan(0.3);
      expect(waits.filter((w) => w >= 1).length).toBeLessThan(20);
    } finally {
      await schedule.close();
    }
  });
});
