/** Slot arithmetic of the calendar on an injected clock (no timers, no I/O). */
import {
  applyUpstreamCounts,
  newCalendarState,
  pauseUntil,
  raiseFloor,
  reserveSlot,
  type CalendarReserveInput,
  type CalendarState,
} from '../../../src/schedule/calendar';
import { indexSize, settleCallers, SETTLE_MAX_PER_RESERVATION } from '../../../src/schedule/caller-sums';
import { intervalMs } from '../../../src/schedule/intervals';
import { DEFAULT_FAIRNESS, maxInWindow, minGap, simulate } from './simulation';
import { seededRandom } from '../../helpers/seeded-random';

const T0 = 1_700_000_000_000;
const IV = intervalMs(30, 0.95); // 35.09 ms

function input(overrides: Partial<CalendarReserveInput> = {}): CalendarReserveInput {
  return {
    intervalMs: IV,
    callerId: 'a',
    weight: 1,
    reservedShare: 0,
    maxWaitMs: 10_000,
    maxQueued: 10_000,
    fairness: { ...DEFAULT_FAIRNESS, lookaheadMs: 2 * IV },
    knownEpoch: '',
    lossGuardMs: 1000,
    idleTtlMs: 60_000,
    ...overrides,
  };
}

function grantAt(state: CalendarState, now: number, overrides: Partial<CalendarReserveInput> = {}): number {
  const reply = reserveSlot(state, now, input(overrides));
  if (reply.kind !== 'granted') throw new Error(`expected a grant, got ${JSON.stringify(reply)}`);
  return now + reply.waitMs;
}

describe('calendar: rate', () => {
  test('an idle schedule grants at once; back-to-back requests are spaced by exactly one interval', () => {
    const state = newCalendarState('e');
    const slots = Array.from({ length: 100 }, () => grantAt(state, T0));
    expect(slots[0]).toBe(T0);
    for (let i = 1; i < slots.length; i += 1) expect(slots[i]! - slots[i - 1]!).toBeCloseTo(IV, 2);
    // 28.5/s: at most ceil(28.5) = 29 in any 1 s window, under the provider's 30.
    expect(maxInWindow(slots)).toBe(29);
  });

  test('the grid re-anchors after idleness, so a lone request never waits', () => {
    const state = newCalendarState('e');
    expect(grantAt(state, T0)).toBe(T0);
    expect(grantAt(state, T0 + 5 * IV + 3)).toBe(T0 + 5 * IV + 3);
  });

  test('within an interval of the last slot, the next grid slot is used (spacing is never below one interval)', () => {
    const state = newCalendarState('e');
    grantAt(state, T0);
    expect(grantAt(state, T0 + 10)).toBeCloseTo(T0 + IV, 2);
  });

  test('a changed interval continues after the last slot with the larger spacing', () => {
    const state = newCalendarState('e');
    const a = grantAt(state, T0);
    const b = grantAt(state, T0, { intervalMs: 100 });
    expect(b - a).toBeCloseTo(100, 2);
    expect(grantAt(state, T0, { intervalMs: 100 }) - b).toBeCloseTo(100, 2);
  });
});

describe('calendar: grid anchor (a learnt fixed-window phase)', () => {
  const FIXED_IV = 1000 / 30; // 100 % of 30/s: exactly 30 grid points in every 1 s window
  const ANCHOR = T0 + 12.5; // a window boundary at T0 + 10.5 ms, slots 2 ms after it
  /** How far (ms) a slot is from the grid anchor + k·interval. */
  const offGrid = (at: number, anchor: number): number =>
    Math.abs(at - (anchor + Math.round((at - anchor) / FIXED_IV) * FIXED_IV));

  test('an idle anchored schedule waits for the next grid point; every slot sits on anchor + k·interval', () => {
    const state = newCalendarState('e');
    const slots = Array.from({ length: 90 }, () => grantAt(state, T0 + 20, { intervalMs: FIXED_IV, anchorMs: ANCHOR }));
    expect(slots[0]).toBeCloseTo(ANCHOR + FIXED_IV, 3);
    for (const at of slots) expect(offGrid(at, ANCHOR)).toBeLessThan(1e-3);
    // Exactly 30 in each window [T0 + 10.5 + n·1000, …): the provider's limit, never more.
    const boundary = T0 + 10.5;
    for (let n = 1; n < 3; n += 1) {
      expect(slots.filter((at) => at >= boundary + n * 1000 && at < boundary + (n + 1) * 1000)).toHaveLength(30);
    }
  });

  test('a busy schedule off the anchor re-grids after its last slot, like an interval change', () => {
    const state = newCalendarState('e');
    const unanchored = [grantAt(state, T0), grantAt(state, T0)];
    expect(unanchored[1]! - unanchored[0]!).toBeCloseTo(IV, 3);
    const first = grantAt(state, T0, { intervalMs: FIXED_IV, anchorMs: ANCHOR });
    expect(first).toBeGreaterThanOrEqual(unanchored[1]! + IV);
    expect(first - unanchored[1]!).toBeLessThan(IV + FIXED_IV);
    expect(offGrid(first, ANCHOR)).toBeLessThan(1e-3);
    expect(grantAt(state, T0, { intervalMs: FIXED_IV, anchorMs: ANCHOR }) - first).toBeCloseTo(FIXED_IV, 3);
  });

  test('a grid up to the slack after the anchor is kept (replicas learn the phase apart); an earlier one re-grids', () => {
    const state = newCalendarState('e');
    const a = grantAt(state, T0 + 20, { intervalMs: FIXED_IV, anchorMs: ANCHOR + 3 });
    // Another replica's anchor 3 ms earlier, slack 5: the grid is 3 ms after it, kept.
    const b = grantAt(state, T0 + 20, { intervalMs: FIXED_IV, anchorMs: ANCHOR, anchorSlackMs: 5 });
    expect(b - a).toBeCloseTo(FIXED_IV, 3);
    // Slack 2: 3 ms after is too late for it; it re-grids on its own anchor.
    const c = grantAt(state, T0 + 20, { intervalMs: FIXED_IV, anchorMs: ANCHOR, anchorSlackMs: 2 });
    expect(offGrid(c, ANCHOR)).toBeLessThan(1e-3);
    expect(c - b).toBeGreaterThanOrEqual(FIXED_IV);
    // The first replica (anchor 3 ms later) never keeps a grid earlier than its anchor: the later anchor wins.
    const d = grantAt(state, T0 + 20, { intervalMs: FIXED_IV, anchorMs: ANCHOR + 3, anchorSlackMs: 5 });
    expect(offGrid(d, ANCHOR + 3)).toBeLessThan(1e-3);
    const e = grantAt(state, T0 + 20, { intervalMs: FIXED_IV, anchorMs: ANCHOR, anchorSlackMs: 5 });
    expect(e - d).toBeCloseTo(FIXED_IV, 3);
  });

  test('a pause that shifts the grid off the anchor is followed by slots back on it', () => {
    const state = newCalendarState('e');
    grantAt(state, T0 + 20, { intervalMs: FIXED_IV, anchorMs: ANCHOR });
    pauseUntil(state, T0 + 20, T0 + 20 + 105);
    const next = grantAt(state, T0 + 20, { intervalMs: FIXED_IV, anchorMs: ANCHOR });
    expect(offGrid(next, ANCHOR)).toBeLessThan(1e-3);
    expect(next).toBeGreaterThanOrEqual(T0 + 125);
  });
});

describe("calendar: a re-grid keeps the old grid's free slots", () => {
  const LEARNING_IV = 1000 / 28.4; // the learning rate: slightly sparser than IV
  const FIXED_IV = 1000 / 30;
  /** Two callers of equal weight, no idle lookahead: a's queue takes every other slot, b's are free. */
  function queueWithHoles(): { state: CalendarState; queued: number[] } {
    const state = newCalendarState('e');
    const fairness = { ...DEFAULT_FAIRNESS, lookaheadMs: 0 };
    const queued = [grantAt(state, T0, { callerId: 'b', fairness, minKeptIntervalMs: IV })];
    for (let i = 0; i < 6; i += 1) queued.push(grantAt(state, T0, { callerId: 'a', fairness, minKeptIntervalMs: IV }));
    return { state, queued };
  }
  const grantOf = (state: CalendarState, overrides: Partial<CalendarReserveInput>) => {
    const reply = reserveSlot(
      state,
      T0,
      input({ callerId: 'c', fairness: { ...DEFAULT_FAIRNESS, lookaheadMs: 0 }, ...overrides }),
    );
    if (reply.kind !== 'granted') throw new Error(`expected a grant, got ${JSON.stringify(reply)}`);
    return { at: T0 + reply.waitMs, kept: reply.keptGridIntervalMs };
  };

  test('a new interval takes the free points before the old tail, on the old spacing, when that grid is sparse enough', () => {
    const { state, queued } = queueWithHoles();
    // b first, then a's six: a at 1, 2, 4, 6, 8, 10 intervals (its share is half), free at 3, 5, 7, 9.
    expect(queued.map((at) => (at - T0) / IV)).toEqual([0, 1, 2, 4, 6, 8, 10].map((k) => expect.closeTo(k, 3)));
    const tail = T0 + 10 * IV;
    const grants = Array.from({ length: 6 }, () =>
      grantOf(state, { callerId: 'b', intervalMs: LEARNING_IV, minKeptIntervalMs: IV }),
    );
    // The free points first, on the old spacing (which the reply gives), then the new grid after the tail.
    expect(grants.slice(0, 4).map((g) => (g.at - T0) / IV)).toEqual([3, 5, 7, 9].map((k) => expect.closeTo(k, 3)));
    expect(grants.slice(0, 4).every((g) => g.kept === IV)).toBe(true);
    expect(grants[4]!.at).toBeGreaterThanOrEqual(tail + LEARNING_IV - 1e-6);
    expect(grants.slice(4).every((g) => g.kept === undefined)).toBe(true);
    // No two slots closer than the old interval; never more than 29 (28.5/s) in any second.
    const all = [...queued, ...grants.map((g) => g.at)];
    expect(minGap(all)).toBeGreaterThan(IV - 1e-3);
    expect(maxInWindow(all)).toBeLessThanOrEqual(29);
  });

  test('in fallback, for an old grid denser than the safety and limit now ask, or an anchored one, a re-grid starts after the tail', () => {
    // No minimum (fallback); the safety lowered to 0.9; the limit lowered to 20/s: none keeps a 0.95 grid at 30/s.
    for (const overrides of [
      {},
      { minKeptIntervalMs: intervalMs(30, 0.9) },
      { minKeptIntervalMs: intervalMs(20, 0.95) },
    ]) {
      const { state, queued } = queueWithHoles();
      const g = grantOf(state, { intervalMs: LEARNING_IV, ...overrides });
      expect(g.at).toBeCloseTo(Math.max(...queued) + LEARNING_IV, 6);
      expect(g.kept).toBeUndefined();
    }
    // An anchored grid left because the phase moved: its points may sit across a boundary.
    const state = newCalendarState('e');
    const fairness = { ...DEFAULT_FAIRNESS, lookaheadMs: 0 };
    const anchored = { intervalMs: FIXED_IV, anchorMs: T0 + 2, minKeptIntervalMs: IV, fairness };
    const queued = [grantAt(state, T0, { ...anchored, callerId: 'b' })];
    for (let i = 0; i < 6; i += 1) queued.push(grantAt(state, T0, { ...anchored, callerId: 'a' }));
    const g = grantOf(state, { intervalMs: LEARNING_IV, minKeptIntervalMs: IV });
    expect(g.at).toBeGreaterThanOrEqual(Math.max(...queued) + LEARNING_IV - 1e-6);
    expect(g.kept).toBeUndefined();
  });

  test('the learning grid left at once for the fixed grid: the first grid keeps its free points, then the anchored grid after its tail', () => {
    const { state, queued } = queueWithHoles();
    const learning = grantOf(state, { intervalMs: LEARNING_IV, minKeptIntervalMs: IV });
    expect(learning.kept).toBe(IV);
    expect((learning.at - T0) / IV).toBeCloseTo(3, 3);
    const anchor = T0 + 7.5;
    const fixed = Array.from({ length: 8 }, () =>
      grantOf(state, { intervalMs: FIXED_IV, anchorMs: anchor, minKeptIntervalMs: IV }),
    );
    // The learning grid had no slot of its own yet: the first grid's free points (5, 7, 9) stay
    // grantable on its spacing (before, they were given up), then the anchored grid after the tail.
    expect(fixed.slice(0, 3).map((g) => (g.at - T0) / IV)).toEqual([5, 7, 9].map((k) => expect.closeTo(k, 3)));
    expect(fixed.slice(0, 3).every((g) => g.kept === IV)).toBe(true);
    const tail = Math.max(...queued, learning.at);
    expect(fixed[3]!.at).toBeGreaterThanOrEqual(tail + LEARNING_IV - 1e-6);
    for (const g of fixed.slice(3)) {
      expect(g.kept).toBeUndefined();
      expect(Math.abs(g.at - (anchor + Math.round((g.at - anchor) / FIXED_IV) * FIXED_IV))).toBeLessThan(1e-3);
    }
    const all = [...queued, learning.at, ...fixed.map((g) => g.at)];
    expect(minGap(all)).toBeGreaterThan(IV - 1e-3);
  });

  test('a kept grid a lowered safety makes too dense is not carried over an ownless grid', () => {
    const { state } = queueWithHoles();
    grantOf(state, { intervalMs: LEARNING_IV, minKeptIntervalMs: IV });
    // The safety fell to 0.9: the 0.95 grid no longer covers the delays measured; its holes go.
    const next = grantOf(state, { intervalMs: intervalMs(30, 0.9), minKeptIntervalMs: intervalMs(30, 0.9) });
    expect(next.kept).toBeUndefined();
    expect(state.previous).toBeUndefined();
  });

  test('a pause moves the kept free points with the queue; once the old tail is past, they are gone', () => {
    const { state, queued } = queueWithHoles();
    const first = grantOf(state, { callerId: 'b', intervalMs: LEARNING_IV, minKeptIntervalMs: IV });
    expect((first.at - T0) / IV).toBeCloseTo(3, 3);
    pauseUntil(state, T0, T0 + 100);
    const next = grantOf(state, { callerId: 'b', intervalMs: LEARNING_IV, minKeptIntervalMs: IV });
    expect(next.kept).toBe(IV);
    expect(next.at).toBeCloseTo(T0 + 5 * IV + 100, 6);
    // Past the old tail (moved by the pause too), the previous grid is forgotten.
    const tail = Math.max(...queued) + 100;
    const after = reserveSlot(
      state,
      tail + 1,
      input({ callerId: 'c', intervalMs: LEARNING_IV, minKeptIntervalMs: IV }),
    );
    expect(after.kind === 'granted' && after.keptGridIntervalMs).toBeFalsy();
    expect(state.previous).toBeUndefined();
  });
});

describe('calendar: a re-grid onto the fixed grid fills the window the old queue ends in', () => {
  const W = 1000;
  const LEAD = 62; // guard 2 ms, no bracket, old slots up to 60 ms late
  /** Grants of a saturated sliding-safe queue at `perSecond`, all asked at T0 by callers of `weights`. */
  function slidingQueue(
    perSecond: number,
    count: number,
    weights: number[] = [1],
  ): { state: CalendarState; old: number[] } {
    const state = newCalendarState('e');
    const fairness = { ...DEFAULT_FAIRNESS, lookaheadMs: 0 };
    const iv = 1000 / perSecond;
    const old = Array.from({ length: count }, (_, i) =>
      grantAt(state, T0, {
        intervalMs: iv,
        callerId: `w${i % weights.length}`,
        weight: weights[i % weights.length]!,
        fairness,
        minKeptIntervalMs: iv,
      }),
    );
    return { state, old };
  }
  /** A grant on the fixed grid; `old` when it took a kept free point of the old grid. */
  function fixedGrant(
    state: CalendarState,
    limit: number,
    anchorMs: number,
    minKeptIntervalMs: number,
    withWindow = true,
  ) {
    const reply = reserveSlot(
      state,
      T0,
      input({
        intervalMs: W / limit,
        anchorMs,
        minKeptIntervalMs,
        callerId: 'x',
        maxWaitMs: 60_000,
        // Every free point is idle capacity: the grid alone says where a grant goes, not x's share.
        fairness: { ...DEFAULT_FAIRNESS, lookaheadMs: 60_000 },
        ...(withWindow ? { anchorWindow: { windowMs: W, leadMs: LEAD } } : {}),
      }),
    );
    if (reply.kind !== 'granted') throw new Error(`expected a grant, got ${JSON.stringify(reply)}`);
    return { at: T0 + reply.waitMs, old: reply.keptGridIntervalMs !== undefined };
  }
  /**
   * The most a window with fixed-grid slots can hold at the provider: those, and every old slot from
   * LEAD before its first point (its boundary may lie that early, an old slot arrive that late).
   * Windows of old slots alone are the sliding-safe schedule's, bounded as it is (§1).
   */
  function mostInAWindow(anchorMs: number, oldSlots: number[], newSlots: number[]): number {
    let most = 0;
    for (let first = anchorMs - 2 * W; first < anchorMs + 10 * W; first += W) {
      const news = newSlots.filter((at) => at >= first - 1e-6 && at < first + W - 1e-6).length;
      if (news === 0) continue;
      const olds = oldSlots.filter((at) => at >= first - LEAD && at < first + W).length;
      most = Math.max(most, olds + news);
    }
    return most;
  }

  test('5/s: the first fixed slot is the first point after the old queue its window has room for, a whole old interval sooner', () => {
    // 4.75/s from T0 (every 210.5 ms); the provider's windows start at T0 + 1000k, the anchor 2 ms after.
    const { state, old } = slidingQueue(4.75, 8);
    expect(old[7]! - T0).toBeCloseTo(1473.7, 1);
    const anchor = T0 + 2;
    const first = fixedGrant(state, 5, anchor, 1000 / 4.75);
    // Window T0+1000…: old slots from T0 + 938 on are at 1052.6, 1263.2 and 1473.7 ms, three of five;
    // the fourth point, T0 + 1602, is the first after the queue and has room.
    expect(first.at - T0).toBeCloseTo(1602, 6);
    // Without the window, a whole old interval after the queue: T0 + 1802, one slot of that window unused.
    const without = slidingQueue(4.75, 8);
    expect(fixedGrant(without.state, 5, anchor, 1000 / 4.75, false).at - T0).toBeCloseTo(1802, 6);
  });

  test('5/s: a window the old queue filled is skipped, counting the old slots that may arrive late in the next', () => {
    // Ten old slots: five (1052.6 … 1894.7) in the window from T0 + 1000: the next window's first point.
    const { state } = slidingQueue(4.75, 10);
    expect(fixedGrant(state, 5, T0 + 2, 1000 / 4.75).at - T0).toBeCloseTo(2002, 6);
    // Windows 60 ms earlier (first points at T0 + 942 + 1000k): the five fill the window of T0 + 942, and
    // the old slot at 1894.7 is less than LEAD before the next one's first point, 1942: it may arrive
    // after that boundary, so it counts there, and that window gives four points from 2142.
    const earlier = slidingQueue(4.75, 10);
    const grants = Array.from({ length: 5 }, () => fixedGrant(earlier.state, 5, T0 + 942, 1000 / 4.75).at - T0);
    expect(grants[0]).toBeCloseTo(2142, 6);
    expect(grants.filter((at) => at < 2942)).toHaveLength(4);
  });

  test.each([1, 2, 3, 4, 5, 6, 7, 8])(
    'no window ever holds more than the limit, old slots and kept free points counted (seed %i)',
    (seed) => {
      const rand = seededRandom(seed);
      for (const limit of [5, 30]) {
        const safety = 0.9 + 0.09 * rand();
        const weights = [1, 1 + Math.floor(rand() * 3), 1 + Math.floor(rand() * 3)];
        const { state, old } = slidingQueue(limit * safety, 3 + Math.floor(rand() * 3 * limit), weights);
        const anchor = T0 + Math.floor(rand() * 1000);
        const minKept = 1000 / (limit * safety);
        // Half the time the learning grid comes first and is left at once, before a slot of its own.
        if (rand() < 0.5) {
          const learning = reserveSlot(
            state,
            T0,
            input({ intervalMs: minKept * 1.004, minKeptIntervalMs: minKept, callerId: 'x', maxWaitMs: 60_000 }),
          );
          if (learning.kind === 'granted') old.push(T0 + learning.waitMs);
        }
        const grants = Array.from({ length: 3 * limit }, () => fixedGrant(state, limit, anchor, minKept));
        const olds = [...old, ...grants.filter((g) => g.old).map((g) => g.at)];
        const news = grants.filter((g) => !g.old).map((g) => g.at);
        expect(mostInAWindow(anchor, olds, news)).toBeLessThanOrEqual(limit);
        // The new grid sits on the anchor.
        for (const at of news)
          expect(Math.abs(at - anchor - Math.round((at - anchor) / (W / limit)) * (W / limit))).toBeLessThan(1e-3);
      }
    },
  );
});

describe('calendar: deadlines', () => {
  test('a request whose wait would pass its deadline is rejected and takes no slot', () => {
    const state = newCalendarState('e');
    for (let i = 0; i < 10; i += 1) grantAt(state, T0); // slots T0 … T0 + 9·IV
    const before = { entries: [...state.entries], last: state.last };
    const reply = reserveSlot(state, T0, input({ callerId: 'b', maxWaitMs: 5 * IV }));
    expect(reply).toMatchObject({ kind: 'rejected', reason: 'deadline' });
    expect(reply.kind === 'rejected' && reply.retryAfterMs).toBeCloseTo(10 * IV - 5 * IV, 2);
    expect(state.entries).toEqual(before.entries);
    expect(state.last).toBe(before.last);
    // The slot it did not take is the next one granted.
    expect(grantAt(state, T0, { callerId: 'b' })).toBeCloseTo(T0 + 10 * IV, 2);
  });

  test('maxWaitMs 0 is granted only when a slot is free now', () => {
    const state = newCalendarState('e');
    expect(grantAt(state, T0, { maxWaitMs: 0 })).toBe(T0);
    expect(reserveSlot(state, T0, input({ maxWaitMs: 0 }))).toMatchObject({ kind: 'rejected', reason: 'deadline' });
  });
});

describe('calendar: pause', () => {
  test('queued slots move together past the pause, keeping their spacing; new ones follow', () => {
    const state = newCalendarState('e');
    const queued = Array.from({ length: 5 }, () => grantAt(state, T0));
    const now = T0 + 1;
    const delta = pauseUntil(state, now, T0 + 2000);
    expect(delta).toBeCloseTo(T0 + 2000 - now, 2);
    expect(state.shiftTotalMs).toBeCloseTo(delta, 2);
    // T0 had passed (it is being sent); the four queued moved by delta.
    expect(state.entries).toEqual([queued[0], ...queued.slice(1).map((s) => s + delta)]);
    expect(state.entries[1]).toBeGreaterThanOrEqual(T0 + 2000);
    const next = grantAt(state, now);
    expect(next).toBeCloseTo(queued[4]! + delta + IV, 2);
    expect(minGap(state.entries)).toBeGreaterThanOrEqual(IV - 1e-3);
  });

  test('new reservations start at the pause end; one that cannot wait that long is rejected as paused', () => {
    const state = newCalendarState('e');
    pauseUntil(state, T0, T0 + 3000);
    expect(reserveSlot(state, T0, input({ maxWaitMs: 1000 }))).toMatchObject({
      kind: 'rejected',
      reason: 'paused',
      retryAfterMs: 2000,
    });
    expect(grantAt(state, T0)).toBe(T0 + 3000);
  });

  test('a shorter pause than the current one changes nothing; a longer one extends it', () => {
    const state = newCalendarState('e');
    expect(pauseUntil(state, T0, T0 + 1000)).toBe(1000);
    expect(pauseUntil(state, T0, T0 + 500)).toBe(0);
    expect(pauseUntil(state, T0, T0 + 1500)).toBe(500);
    expect(state.floor).toBe(T0 + 1500);
    expect(state.shiftTotalMs).toBe(1500);
  });
});

describe('calendar: upstream remaining', () => {
  test('remaining below expectation (beyond the tolerance) gives up the deficit in slots, once per provider window', () => {
    const state = newCalendarState('e');
    for (let i = 0; i < 10; i += 1) grantAt(state, T0 + i * IV); // 10 of ours within the last second
    const now = T0 + 10 * IV;
    // limit 30 − ours 10 = 20 expected; remaining 14; tolerance 2 → deficit 4 slots.
    expect(applyUpstreamCounts(state, now, { remaining: 14, limit: 30, resetKey: '1700000001' }, 2)).toBeCloseTo(
      4 * IV,
      2,
    );
    expect(state.floor).toBeCloseTo(now + 4 * IV, 2);
    // The same window again: already applied.
    expect(applyUpstreamCounts(state, now, { remaining: 14, limit: 30, resetKey: '1700000001' }, 2)).toBe(0);
    // Worse in the same window: only the increase.
    expect(applyUpstreamCounts(state, now, { remaining: 13, limit: 30, resetKey: '1700000001' }, 2)).toBeCloseTo(IV, 2);
  });

  test('remaining at or above expectation, or within the tolerance, changes nothing', () => {
    const state = newCalendarState('e');
    for (let i = 0; i < 10; i += 1) grantAt(state, T0 + i * IV);
    const now = T0 + 10 * IV;
    expect(applyUpstreamCounts(state, now, { remaining: 20, limit: 30, resetKey: 'k' }, 2)).toBe(0);
    expect(applyUpstreamCounts(state, now, { remaining: 18, limit: 30, resetKey: 'k2' }, 2)).toBe(0);
    expect(applyUpstreamCounts(state, now, { remaining: 0, limit: 30, resetKey: '' }, 2)).toBe(0);
    expect(state.floor).toBe(0);
  });

  test('our own full window (remaining 0 after our 5th write) is not a deficit', () => {
    const iv = intervalMs(5, 0.95);
    const state = newCalendarState('e');
    for (let i = 0; i < 5; i += 1) grantAt(state, T0 + i * iv, { intervalMs: iv });
    expect(applyUpstreamCounts(state, T0 + 4 * iv + 1, { remaining: 0, limit: 5, resetKey: 'k' }, 2)).toBe(0);
  });
});

describe('calendar: lost state and recovery floors', () => {
  test('a replica that saw another epoch finds the state fresh: no slot before its own tail nor the guard', () => {
    const state = newCalendarState('new');
    const slot = grantAt(state, T0, { knownEpoch: 'old', hintOffsetMs: 300 });
    expect(slot).toBe(T0 + 1000); // guard 1000 > hint 300 + IV
  });

  test('an old epoch whose tail is older than the idle TTL is a natural expiry: no guard', () => {
    const state = newCalendarState('new');
    expect(grantAt(state, T0, { knownEpoch: 'old', hintOffsetMs: -120_000 })).toBe(T0);
  });

  test('raiseFloor holds new slots back; it never lowers the floor', () => {
    const state = newCalendarState('e');
    raiseFloor(state, T0 + 700);
    raiseFloor(state, T0 + 100);
    expect(grantAt(state, T0)).toBe(T0 + 700);
  });
});

describe('calendar: fairness', () => {
  const durationMs = 20_000;
  const counted = (times: number[]): number => times.filter((t) => t >= 2000 && t < durationMs).length;

  test('under saturation two callers share 3:1 by weight (±10 %), and the schedule stays full and within its rate', () => {
    const r = simulate({
      intervalMs: IV,
      durationMs,
      callers: [
        { id: 'heavy', weight: 3, concurrency: 8, maxWaitMs: 2000 },
        { id: 'light', weight: 1, concurrency: 8, maxWaitMs: 2000 },
      ],
    });
    const a = counted(r.grants.get('heavy')!);
    const b = counted(r.grants.get('light')!);
    expect(a / b).toBeGreaterThan(3 * 0.9);
    expect(a / b).toBeLessThan(3 * 1.1);
    const all = [...r.grants.values()].flat();
    expect(a + b).toBeGreaterThanOrEqual(Math.floor(((durationMs - 2000) / IV) * 0.99));
    expect(maxInWindow(all)).toBeLessThanOrEqual(29);
    expect(minGap(all)).toBeGreaterThanOrEqual(IV - 1e-3);
  });

  test("weights hold whatever the callers' concurrency (a caller cannot win by flooding)", () => {
    const r = simulate({
      intervalMs: IV,
      durationMs,
      callers: [
        { id: 'heavy', weight: 3, concurrency: 3, maxWaitMs: 2000 },
        { id: 'flood', weight: 1, concurrency: 40, maxWaitMs: 2000 },
      ],
    });
    const ratio = counted(r.grants.get('heavy')!) / counted(r.grants.get('flood')!);
    expect(ratio).toBeGreaterThan(2.7);
    expect(ratio).toBeLessThan(3.3);
  });

  test('below saturation anyone may use idle capacity: an active but quiet caller costs the busy one nothing', () => {
    const r = simulate({
      intervalMs: IV,
      durationMs,
      callers: [
        { id: 'busy', weight: 1, concurrency: 10, maxWaitMs: 2000 },
        { id: 'quiet', weight: 3, concurrency: 1, maxWaitMs: 2000, thinkMs: 1000 },
      ],
    });
    const busy = counted(r.grants.get('busy')!);
    const quiet = counted(r.grants.get('quiet')!);
    const capacity = (durationMs - 2000) / IV;
    expect(busy + quiet).toBeGreaterThanOrEqual(Math.floor(capacity * 0.99));
    expect(busy).toBeGreaterThan(capacity * 0.9);
    expect(Math.max(...r.waits.get('quiet')!)).toBeLessThan(4 * IV * 2);
  });

  test('a single caller gets the whole rate', () => {
    const r = simulate({
      intervalMs: IV,
      durationMs,
      callers: [{ id: 'a', weight: 1, concurrency: 4, maxWaitMs: 1000 }],
    });
    expect(counted(r.grants.get('a')!)).toBeGreaterThanOrEqual(Math.floor(((durationMs - 2000) / IV) * 0.99));
  });

  test('reserved headroom: a priority caller returning after inactivity finds slots near now while another saturates', () => {
    const scenario = (reservedShare: number): number[] =>
      simulate({
        intervalMs: IV,
        durationMs: 40_000,
        callers: [
          { id: 'bulk', weight: 3, concurrency: 30, maxWaitMs: 2000 },
          { id: 'pager', weight: 1, reservedShare, concurrency: 1, maxWaitMs: 2000, thinkMs: 7000, startMs: 1000 },
        ],
      })
        .waits.get('pager')!
        .slice(1); // the first request makes the caller known
    const without = scenario(0);
    const withHeadroom = scenario(0.2);
    expect(Math.min(...without)).toBeGreaterThan(1000); // waits for bulk's whole backlog
    // Holes at density 0.2 beyond the idle-capacity lookahead: ≤ lookahead + interval ÷ share, plus one interval.
    expect(Math.max(...withHeadroom)).toBeLessThanOrEqual(2 * IV + IV / 0.2 + IV);
  });

  test("a caller's backlog is bounded: past maxQueued future slots it is rejected until one passes", () => {
    const state = newCalendarState('e');
    const slots = [1, 2, 3].map(() => grantAt(state, T0, { maxQueued: 3 }));
    const reply = reserveSlot(state, T0, input({ maxQueued: 3 }));
    // T0 itself is "now", not future: the backlog is the two after it… plus this third.
    expect(slots[0]).toBe(T0);
    expect(reply.kind).toBe('granted');
    const again = reserveSlot(state, T0, input({ maxQueued: 3 }));
    expect(again).toMatchObject({ kind: 'rejected', reason: 'backlog' });
    expect(again.kind === 'rejected' && again.retryAfterMs).toBeCloseTo(IV, 2);
    // Another caller is not affected.
    expect(reserveSlot(state, T0, input({ callerId: 'other', maxQueued: 3 })).kind).toBe('granted');
    // Once the earliest queued slot has passed, there is room again.
    expect(reserveSlot(state, T0 + IV, input({ maxQueued: 3 })).kind).toBe('granted');
  });
});

describe('calendar: cost per request', () => {
  // The calendar keeps a second of past slots for feedback: at high rates, thousands. A reservation and a
  // feedback count must find their place by binary search (as Redis's sorted set does), not walk them all.
  const HIGH_IV = intervalMs(100_000, 0.95); // 10.5 µs

  /** µs per reserve + feedback, with a calendar holding about `rate` past slots (one second's worth). */
  function costWithPastSlots(rate: number): number {
    const state = newCalendarState('cost');
    const step = 1000 / rate;
    let now = T0;
    const highInput = input({ intervalMs: HIGH_IV, maxQueued: 1_000_000 });
    const feedback = (at: number) =>
      applyUpstreamCounts(state, at, { remaining: 100_000, limit: 100_000, resetKey: 'w' }, 0);
    for (let i = 0; i < rate * 1.2; i += 1) {
      now += step;
      reserveSlot(state, now, highInput);
      feedback(now);
    }
    expect(state.entries.length).toBeGreaterThan(rate * 0.9);
    const calls = 2000;
    const started = performance.now();
    for (let i = 0; i < calls; i += 1) {
      now += step;
      reserveSlot(state, now, highInput);
      feedback(now);
    }
    return ((performance.now() - started) * 1000) / calls;
  }

  test('does not grow with the number of past slots', () => {
    costWithPastSlots(40_000); // warm up the JIT on both paths
    const few = Math.min(costWithPastSlots(500), costWithPastSlots(500));
    const many = Math.min(costWithPastSlots(40_000), costWithPastSlots(40_000));
    // Walking the list, 80 × the slots cost ~80 × the time (µs: ~2 vs ~200); searching it, about the same.
    expect(many / few).toBeLessThan(8);
  });
});

describe('calendar: callers stop counting and are forgotten (running sums)', () => {
  const A = 5000;
  const F = 60_000;
  const fairness = { activeWindowMs: A, forgetCallerMs: F, lookaheadMs: 2 * IV, maxReservedShareTotal: 0.5 };
  const at = (state: CalendarState, now: number, callerId: string, more: Partial<CalendarReserveInput> = {}) =>
    reserveSlot(state, now, input({ callerId, fairness, ...more }));

  /** The definitions, evaluated over every caller: what the stored sums must equal. */
  function bruteForce(state: CalendarState, now: number) {
    let sumWeights = 0;
    let sumReserved = 0;
    let overdue = 0;
    for (const c of state.callers.values()) {
      const activeUntil = Math.max(c.seenAt + A, c.tat, ...c.pending);
      if (now <= activeUntil) sumWeights += c.weight;
      if (now > Math.max(c.seenAt + F, activeUntil)) overdue += 1; // should have been forgotten
      sumReserved += c.reservedShare;
    }
    return { sumWeights, sumReserved, overdue };
  }

  test('a caller idle for longer than activeWindowMs stops counting in the weights, not before', () => {
    const state = newCalendarState('e');
    at(state, T0, 'a', { weight: 3 });
    at(state, T0, 'b', { weight: 1 });
    expect(state.sumWeights).toBe(4);
    // `a`'s virtual time and slot are within the window, so the window decides.
    at(state, T0 + A, 'b', { weight: 1 });
    expect(state.sumWeights).toBe(4);
    at(state, T0 + A + 1, 'b', { weight: 1 });
    expect(state.sumWeights).toBe(1);
    expect([...state.countedIds]).toEqual(['b']);
    expect(state.callers.has('a')).toBe(true); // still known: its reserved headroom lasts forgetCallerMs
    // Back: it counts again at once.
    at(state, T0 + A + 2, 'a', { weight: 3 });
    expect(state.sumWeights).toBe(4);
  });

  test('a caller holding future slots keeps counting past activeWindowMs, until its last slot', () => {
    const state = newCalendarState('e');
    // 200 slots queued by `a` alone: its last one is ~7 s out, past the 5 s window.
    let lastSlot = 0;
    for (let i = 0; i < 200; i += 1) lastSlot = T0 + (at(state, T0, 'a') as { waitMs: number }).waitMs;
    expect(lastSlot).toBeGreaterThan(T0 + A);
    at(state, lastSlot, 'b', { maxWaitMs: 100_000 });
    expect(state.countedIds.has('a')).toBe(true);
    at(state, lastSlot + 1 + IV, 'b', { maxWaitMs: 100_000 });
    expect(state.countedIds.has('a')).toBe(false);
  });

  test('a caller unseen for longer than forgetCallerMs is forgotten, its reserved share with it', () => {
    const state = newCalendarState('e');
    at(state, T0, 'vip', { reservedShare: 0.2 });
    at(state, T0, 'b');
    expect(state.sumReserved).toBeCloseTo(0.2, 12);
    at(state, T0 + F, 'b');
    expect(state.callers.has('vip')).toBe(true);
    expect(state.sumReserved).toBeCloseTo(0.2, 12);
    at(state, T0 + F + 1, 'b');
    expect(state.callers.has('vip')).toBe(false);
    expect(state.sumReserved).toBe(0);
    expect(state.callers.size).toBe(1);
  });

  test('changed weights and reserved shares change the sums by the difference', () => {
    const state = newCalendarState('e');
    at(state, T0, 'a', { weight: 1, reservedShare: 0.1 });
    at(state, T0, 'b', { weight: 2 });
    expect([state.sumWeights, state.sumReserved]).toEqual([3, 0.1]);
    at(state, T0 + 10, 'a', { weight: 5, reservedShare: 0.3 });
    expect(state.sumWeights).toBe(7);
    expect(state.sumReserved).toBeCloseTo(0.3, 12);
    // Then it goes idle: its current weight, not the first one, leaves the sum.
    at(state, T0 + A + 20, 'b', { weight: 2 });
    expect(state.sumWeights).toBe(2);
  });

  test('a pause moves the callers with queued slots: they keep counting until their moved last slot', () => {
    const state = newCalendarState('e');
    let lastSlot = 0;
    for (let i = 0; i < 150; i += 1) lastSlot = T0 + (at(state, T0, 'a') as { waitMs: number }).waitMs;
    expect(lastSlot).toBeGreaterThan(T0 + A);
    const shifted = pauseUntil(state, T0 + 1, T0 + 3000);
    expect(shifted).toBeGreaterThan(2000);
    at(state, lastSlot + 1 + IV, 'b', { maxWaitMs: 100_000 });
    expect(state.countedIds.has('a')).toBe(true); // without the move it would have stopped counting here
    at(state, lastSlot + shifted + 1 + IV, 'b', { maxWaitMs: 100_000 });
    expect(state.countedIds.has('a')).toBe(false);
  });

  test('thousands of callers coming and going: the stored sums always equal the sums over every caller', () => {
    const state = newCalendarState('e');
    let now = T0;
    let seed = 11;
    const rand = (): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    for (let i = 0; i < 20_000; i += 1) {
      now += rand() < 0.001 ? 20_000 : Math.floor(rand() * 15);
      const id = `c${Math.floor(rand() * rand() * 5000)}`; // a few busy callers, many occasional ones
      const weight = 1 + (id.length % 3);
      at(state, now, id, { weight, reservedShare: id.endsWith('7') ? 0.01 : 0, maxWaitMs: 2000, maxQueued: 8 });
      if (rand() < 0.002) pauseUntil(state, now, now + 500);
      if (i % 500 === 0) {
        // After a quiet spell more than the per-reservation limit may be due: settle them all first.
        for (let k = 0; k < 40; k += 1) settleCallers(state, now, F);
        const expected = bruteForce(state, now);
        expect(state.sumWeights).toBeCloseTo(expected.sumWeights, 9);
        expect(state.sumReserved).toBeCloseTo(expected.sumReserved, 9);
        expect(expected.overdue).toBe(0);
      }
    }
    expect(state.callers.size).toBeGreaterThan(1000);
    // Superseded index entries leave as their time passes: the index stays near the callers' count.
    expect(indexSize(state)).toBeLessThan(3 * state.callers.size + 1000);
  });

  test('after a quiet spell, each reservation settles at most a bounded number of callers; the rest still count', () => {
    const state = newCalendarState('e');
    const fast = { intervalMs: 0.01, maxWaitMs: 2000 };
    for (let i = 0; i < 1000; i += 1) at(state, T0 + i, `c${i}`, { ...fast, reservedShare: 0.0001 });
    expect(state.sumWeights).toBe(1000);
    let now = T0 + 1000 + A + 10; // every one of them is past its active window
    const left: number[] = [];
    for (let r = 0; r < 5; r += 1) {
      at(state, (now += 1), 'z', fast);
      left.push(state.countedIds.size - 1);
    }
    const step = SETTLE_MAX_PER_RESERVATION;
    expect(left).toEqual([1000 - step, 1000 - 2 * step, 1000 - 3 * step, 0, 0]);
    expect(state.sumWeights).toBe(1);
    // Forgetting drains the same way, and the reserved shares leave with the forgotten.
    now += F;
    at(state, (now += 1), 'z', fast);
    expect(state.callers.size).toBe(1001 - step);
    for (let r = 0; r < 4; r += 1) at(state, (now += 1), 'z', fast);
    expect([...state.callers.keys()]).toEqual(['z']);
    expect(state.sumReserved).toBeCloseTo(0, 12); // float residue of 1,000 additions and subtractions
  });

  /** µs per reservation with `callers` distinct callers known to the schedule (all seen in the last minute). */
  function costWithCallers(callers: number): number {
    const state = newCalendarState('cost');
    let now = T0;
    const fast = { intervalMs: 0.01, fairness, maxWaitMs: 2000 };
    for (let i = 0; i < callers; i += 1) {
      now += 0.5;
      at(state, now, `c${i}`, fast);
    }
    const calls = 3000;
    const started = performance.now();
    for (let i = 0; i < calls; i += 1) {
      now += 0.5;
      at(state, now, `c${(i * 7919) % callers}`, fast);
    }
    return ((performance.now() - started) * 1000) / calls;
  }

  test('the cost of a reservation does not grow with the callers the schedule knows', () => {
    costWithCallers(10_000); // warm up the JIT
    const few = Math.min(costWithCallers(10), costWithCallers(10));
    const many = Math.min(costWithCallers(10_000), costWithCallers(10_000));
    // A walk over every caller costs ~1000 × the time at 10,000 callers; the index, about the same.
    expect(many / few).toBeLessThan(8);
  });
});
