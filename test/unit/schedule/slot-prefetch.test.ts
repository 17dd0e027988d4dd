import { PAUSE_MS, REFUSED_BACKOFF_MS, SlotPrefetch, type ParkedFor } from '../../../src/schedule/slot-prefetch';
import type { GrantedReservation } from '../../../src/schedule';

const owner = {};
const parking: ParkedFor = { owner, fairness: '1|0|' };
const LANE = 'acct:read\u0000svc';

function slot(slotAtMs: number, toleranceMs = 26): GrantedReservation {
  return {
    kind: 'granted',
    waitMs: 0,
    slotAtMs,
    latestSendAtMs: slotAtMs + toleranceMs,
    deadlineAtMs: slotAtMs + 1,
    mode: 'shared',
    scheduleClass: 'read',
    idleCapacity: true,
    ticket: { scheduleKey: 'acct:read', source: 'shared', epoch: 'e1', shiftTotalMs: 0 },
  };
}

/** Fresh until halfway through its tolerance, as the schedule uses it. */
const halfway = (s: GrantedReservation) => (s.slotAtMs + s.latestSendAtMs) / 2;

/** A caller sending every 1 ms (depth 6 in a 13 ms reuse window): four slots parked in one call, at 1.1–1.4 ms. */
function fourParked(): SlotPrefetch {
  const p = new SlotPrefetch(100);
  p.wanted(LANE, parking, 0, false, 13, 8, 4);
  expect(p.wanted(LANE, parking, 1, false, 13, 8, 4)).toBe(4);
  for (const at of [1.1, 1.2, 1.3, 1.4]) p.park(LANE, parking, slot(at));
  return p;
}

/** A prefetch asked for and granted at `slotAtMs`. */
function parkOne(p: SlotPrefetch, nowMs: number, slotAtMs: number): void {
  expect(p.wanted(LANE, parking, nowMs, true, 13, 8)).toBe(1);
  p.park(LANE, parking, slot(slotAtMs));
}

describe('SlotPrefetch', () => {
  it("parks nothing on a caller's first request, then one slot when the next comes within the reuse window", () => {
    const p = new SlotPrefetch(100);
    expect(p.wanted(LANE, parking, 0, false, 13, 8)).toBe(0);
    expect(p.wanted(LANE, parking, 20, false, 13, 8)).toBe(0); // 20 ms later: too far apart
    expect(p.wanted(LANE, parking, 25, false, 13, 8)).toBe(1); // 5 ms later
    expect(p.outstanding(LANE)).toBe(1);
    p.park(LANE, parking, slot(25.2));
    expect(p.outstanding(LANE)).toBe(1);
    expect(p.parkedCount()).toBe(1);
  });

  it('hands out the oldest fresh slot, drops stale ones as wasted, and keeps one past the deadline', () => {
    const p = new SlotPrefetch(100);
    p.wanted(LANE, parking, 0, false, 13, 8);
    parkOne(p, 1, 1);
    parkOne(p, 2, 30);
    parkOne(p, 3, 2); // out of order: parked in slot order
    // At 15: the slot at 1 is past halfway (14), the one at 2 is fresh until 15.
    expect(p.take(LANE, parking, 15, 15, halfway)?.slotAtMs).toBe(2);
    expect(p.counts).toEqual({ taken: 1, wasted: 1, refused: 0 });
    // The one at 30 is beyond a deadline of 20: not taken, still parked.
    expect(p.take(LANE, parking, 16, 20, halfway)).toBeUndefined();
    expect(p.take(LANE, parking, 16, 40, halfway)?.slotAtMs).toBe(30);
    expect(p.counts.taken).toBe(2);
  });

  it('never hands a slot to another owner or other fairness inputs, and counts the replaced lane as wasted', () => {
    const p = new SlotPrefetch(100);
    p.wanted(LANE, parking, 0, false, 13, 8);
    parkOne(p, 1, 1);
    expect(p.take(LANE, { owner: {}, fairness: parking.fairness }, 2, 2, halfway)).toBeUndefined();
    expect(p.take(LANE, { owner, fairness: '2|0|' }, 2, 2, halfway)).toBeUndefined();
    // A request with the new inputs starts the lane over.
    expect(p.wanted(LANE, { owner, fairness: '2|0|' }, 2, false, 13, 8)).toBe(0);
    expect(p.counts.wasted).toBe(1);
    // A slot granted for the old inputs arrives after the change: wasted, not parked.
    p.park(LANE, parking, slot(3));
    expect(p.counts.wasted).toBe(2);
    expect(p.parkedCount()).toBe(0);
  });

  it('parks at most maxParked (slots and prefetches on their way together)', () => {
    const p = new SlotPrefetch(100);
    p.wanted(LANE, parking, 0, false, 13, 2);
    expect(p.wanted(LANE, parking, 1, true, 13, 2)).toBe(1);
    expect(p.wanted(LANE, parking, 1, true, 13, 2)).toBe(1);
    expect(p.wanted(LANE, parking, 1, true, 13, 2)).toBe(0);
    p.settle(LANE, 'failed', 2);
    expect(p.outstanding(LANE)).toBe(1);
    expect(p.wanted(LANE, parking, 2, true, 13, 2)).toBe(1);
  });

  it('asks nothing for a while after a refusal (the schedule had a queue)', () => {
    const p = new SlotPrefetch(100);
    p.wanted(LANE, parking, 0, false, 13, 8);
    expect(p.wanted(LANE, parking, 1, false, 13, 8)).toBe(1);
    p.settle(LANE, 'refused', 1);
    expect(p.counts.refused).toBe(1);
    expect(p.wanted(LANE, parking, 2, true, 13, 8)).toBe(0);
    expect(p.wanted(LANE, parking, 1 + REFUSED_BACKOFF_MS - 1, true, 13, 8)).toBe(0);
    expect(p.wanted(LANE, parking, 1 + REFUSED_BACKOFF_MS, true, 13, 8)).toBe(1);
  });

  it('counts a slot granted after the shared schedule was left as wasted, and clear() drops every parked slot', () => {
    const p = new SlotPrefetch(100);
    p.wanted(LANE, parking, 0, false, 13, 8);
    parkOne(p, 1, 1);
    expect(p.wanted(LANE, parking, 2, true, 13, 8)).toBe(1);
    p.settle(LANE, 'dropped', 3);
    expect(p.counts.wasted).toBe(1);
    p.clear();
    expect(p.counts.wasted).toBe(2);
    expect(p.parkedCount()).toBe(0);
    expect(p.take(LANE, parking, 3, 3, halfway)).toBeUndefined();
  });

  it('keeps at most maxLanes callers, dropping the least recently seen', () => {
    const p = new SlotPrefetch(2);
    const lane = (i: number) => `acct:read\u0000svc${i}`;
    for (const i of [1, 2]) p.wanted(lane(i), parking, 0, false, 13, 8);
    expect(p.wanted(lane(1), parking, 1, false, 13, 8)).toBe(1);
    p.park(lane(1), parking, slot(1));
    p.wanted(lane(3), parking, 2, false, 13, 8); // evicts svc2, seen least recently
    expect(p.outstanding(lane(1))).toBe(1);
    expect(p.wanted(lane(2), parking, 3, false, 13, 8)).toBe(0); // new again: its first request
    expect(p.outstanding(lane(1))).toBe(0); // svc1 was evicted now, its parked slot wasted
    expect(p.counts.wasted).toBe(1);
  });

  it('parks a batch in one call, sent while one is still parked for the next request', () => {
    const p = new SlotPrefetch(100);
    p.wanted(LANE, parking, 0, false, 13, 8, 4);
    // A request every 1 ms: 6 taken in half the 13 ms window, so up to 6 held; batches of 4.
    expect(p.wanted(LANE, parking, 1, false, 13, 8, 4)).toBe(4);
    for (const at of [1.1, 1.2, 1.3, 1.4]) p.park(LANE, parking, slot(at));
    const takeAt = (at: number) => expect(p.take(LANE, parking, at, at + 1, halfway)).toBeDefined();
    takeAt(2);
    expect(p.wanted(LANE, parking, 2, true, 13, 8, 4)).toBe(0); // 3 held
    takeAt(3);
    expect(p.wanted(LANE, parking, 3, true, 13, 8, 4)).toBe(4); // 2 held: the next batch
    expect(p.outstanding(LANE)).toBe(6);
    takeAt(4);
    expect(p.wanted(LANE, parking, 4, true, 13, 8, 4)).toBe(0);
    expect(p.counts.taken).toBe(3);
    // The batch's call failed: all four settled at once, nothing counted as wasted.
    p.settle(LANE, 'failed', 5, 4);
    expect(p.outstanding(LANE)).toBe(1);
    expect(p.counts.wasted).toBe(0);
  });

  it('parks no deeper than the caller takes while the slots are fresh, nor beyond maxParked', () => {
    const p = new SlotPrefetch(100);
    p.wanted(LANE, parking, 0, false, 13, 8, 4);
    // A request every 3 ms: 2 in half the window, so one at a time.
    expect(p.wanted(LANE, parking, 3, false, 13, 8, 4)).toBe(1);
    expect(p.wanted(LANE, parking, 6, false, 13, 8, 4)).toBe(1);
    expect(p.wanted(LANE, parking, 9, false, 13, 8, 4)).toBe(0);
    // Requests together (32 in flight): maxParked bounds it, a batch cut to leave one.
    const q = new SlotPrefetch(100);
    q.wanted(LANE, parking, 0, false, 13, 2, 4);
    expect(q.wanted(LANE, parking, 0, true, 13, 2, 4)).toBe(1);
    expect(q.wanted(LANE, parking, 0, true, 13, 2, 4)).toBe(1);
    expect(q.wanted(LANE, parking, 0, true, 13, 2, 4)).toBe(0);
  });

  it('after parked slots went stale in a stall, holds half as deep, and deeper again after as many fresh takes', () => {
    const p = fourParked();
    // A 20 ms stall: all four past their freshness (halfway, 14.1–14.4).
    expect(p.take(LANE, parking, 21, 22, halfway)).toBeUndefined();
    expect(p.counts.wasted).toBe(4);
    expect(p.wanted(LANE, parking, 21, false, 13, 8, 4)).toBe(0); // 20 ms after the last request
    // Depth 3 now (half of 6): two in a call, the next when one is left.
    expect(p.wanted(LANE, parking, 22, false, 13, 8, 4)).toBe(2);
    p.park(LANE, parking, slot(22.1));
    p.park(LANE, parking, slot(22.2));
    let now = 22;
    const takeOne = () => {
      now += 1;
      expect(p.take(LANE, parking, now, now + 1, halfway)).toBeDefined();
      return p.wanted(LANE, parking, now, true, 13, 8, 4);
    };
    expect(takeOne()).toBe(2);
    p.park(LANE, parking, slot(now + 0.1));
    p.park(LANE, parking, slot(now + 0.2));
    // The third fresh take since the stall: depth 4, three in a call once one is left.
    expect(takeOne()).toBe(0);
    expect(takeOne()).toBe(3);
  });

  it('two stalls before the caller asks again halve its depth twice', () => {
    const p = fourParked();
    expect(p.take(LANE, parking, 21, 22, halfway)).toBeUndefined(); // depth 3
    expect(p.wanted(LANE, parking, 21, false, 13, 8, 4)).toBe(0); // too long a gap to ask
    p.park(LANE, parking, slot(21.1)); // a prefetch still on its way when the stall came
    expect(p.take(LANE, parking, 41, 42, halfway)).toBeUndefined(); // depth 1
    expect(p.wanted(LANE, parking, 41, false, 13, 8, 4)).toBe(0);
    expect(p.wanted(LANE, parking, 42, false, 13, 8, 4)).toBe(1);
    expect(p.wanted(LANE, parking, 43, false, 13, 8, 4)).toBe(0);
  });

  it('slots gone stale while their caller paused (a second or more) are not a stall: it batches again at once', () => {
    const p = fourParked();
    const back = 1 + PAUSE_MS;
    expect(p.take(LANE, parking, back, back + 1, halfway)).toBeUndefined();
    expect(p.counts.wasted).toBe(4);
    expect(p.wanted(LANE, parking, back, false, 13, 8, 4)).toBe(0); // the gap since the last request
    expect(p.wanted(LANE, parking, back + 1, false, 13, 8, 4)).toBe(4);
  });
});
