/**
 * Slots reserved a request ahead, so that a caller sending back to back on a dense schedule does
 * not wait for a Redis round trip before each request (docs/rate-schedule.md §3c); on a schedule
 * dense enough, several in one call, so that most requests cause no call at all.
 *
 * A parked slot is an ordinary reservation, taken in the shared calendar with a short deadline (so
 * it is refused, and takes nothing, when the schedule has a queue). The next request of the same
 * caller on this replica takes it while it is fresh, and goes through `waitForSlot` like any other:
 * a slot used late is held to its send tolerance there and at the wire, so the provider sees no
 * more than the calendar allows. A slot nobody takes in time is capacity lost, never a request too
 * many; hence only for dense schedules (where one slot is a small fraction of the rate) and only
 * for a caller whose requests come closer together than a slot stays fresh.
 */
import type { GrantedReservation } from './types';

/** How many of its slots a parked reservation was taken for; taken again with other ones it may not be used. */
export interface ParkedFor {
  /** The schedule's runtime: a new one (another account's limits) never sees an old one's slots. */
  readonly owner: object;
  /** The caller's fairness inputs (weight, reserved share, queue bound) when it was taken. */
  readonly fairness: string;
}

interface Lane extends ParkedFor {
  /** Oldest first. */
  readonly slots: GrantedReservation[];
  /** Prefetches on their way to the store. */
  pending: number;
  lastRequestAtMs: number;
  /** When the store last refused a prefetch (the schedule had a queue). */
  refusedAtMs?: number;
  /** The depth the last request asked for. */
  depth: number;
  /** At most this deep: halved when parked slots go stale in a stall, one more after as many fresh takes. */
  depthCap: number;
  /** Parked slots taken fresh since the cap last moved. */
  freshTaken: number;
}

export interface PrefetchCounts {
  /** Requests that went on a parked slot: no round trip before them. */
  taken: number;
  /** Parked slots that passed unused (capacity lost, no request sent on them). */
  wasted: number;
  /** Prefetches the store refused (the schedule had a queue): nothing taken. */
  refused: number;
}

/** Parked slots at most per caller and schedule on this replica. */
export const MAX_PARKED_PER_CALLER = 32;
/**
 * After a refusal (a queue: the schedule is saturated) no prefetch for this long: under saturation
 * each would be refused again, work for Redis and nothing parked.
 */
export const REFUSED_BACKOFF_MS = 50;
/**
 * Slots that went stale while their caller was away this long or longer are not a stall of the caller
 * or its machine: it paused, and its depth is left as it was.
 */
export const PAUSE_MS = 1000;

export class SlotPrefetch {
  private readonly lanes = new Map<string, Lane>();
  readonly counts: PrefetchCounts = { taken: 0, wasted: 0, refused: 0 };

  constructor(private readonly maxLanes: number) {}

  /**
   * The oldest parked slot this request can go on at `nowMs`: one that `usableUntilMs` says is still
   * fresh, and not after the request's own deadline. Slots past use are dropped (wasted).
   */
  take(
    key: string,
    parkedFor: ParkedFor,
    nowMs: number,
    deadlineAtMs: number,
    usableUntilMs: (slot: GrantedReservation) => number,
  ): GrantedReservation | undefined {
    const lane = this.lanes.get(key);
    if (lane === undefined || !sameParking(lane, parkedFor)) return undefined;
    let stale = 0;
    while (lane.slots.length > 0 && usableUntilMs(lane.slots[0]!) < nowMs) {
      lane.slots.shift();
      stale += 1;
    }
    this.counts.wasted += stale;
    // The last gap between requests does not see a busy machine's stalls, and each loses what is held:
    // held less deep after each, deeper again while none comes.
    if (stale > 0 && nowMs - lane.lastRequestAtMs < PAUSE_MS) {
      lane.depthCap = Math.max(1, Math.floor(Math.min(lane.depth, lane.depthCap) / 2));
      lane.freshTaken = 0;
    }
    const slot = lane.slots[0];
    if (slot === undefined || slot.slotAtMs > deadlineAtMs) return undefined;
    lane.slots.shift();
    this.counts.taken += 1;
    lane.freshTaken += 1;
    if (lane.freshTaken >= lane.depthCap && lane.depthCap < MAX_PARKED_PER_CALLER) {
      lane.depthCap += 1;
      lane.freshTaken = 0;
    }
    return slot;
  }

  /**
   * Notes a request at `nowMs` and says how many more slots to park for its caller (0: none): after
   * a slot was taken (the caller is sending back to back), or when its previous request came within
   * `reuseWindowMs` (a parked slot would likely be taken while fresh). Never more than the caller
   * takes, at its last pace, in half that window (a slot parked deeper would go stale), nor beyond
   * `maxParked`, nor than its depth cap (see `take`); up to `batch` in one call, sent while one is
   * still parked for the next request: one round trip, and one call to serialise and answer on the
   * request's thread, for several requests.
   * The answer counts as pending until `park` or `settle`.
   */
  wanted(
    key: string,
    parkedFor: ParkedFor,
    nowMs: number,
    tookParked: boolean,
    reuseWindowMs: number,
    maxParked: number,
    batch = 1,
  ): number {
    let lane = this.lanes.get(key);
    if (lane !== undefined && !sameParking(lane, parkedFor)) {
      this.counts.wasted += lane.slots.length;
      this.lanes.delete(key);
      lane = undefined;
    }
    if (lane === undefined) {
      this.evictOldest();
      this.lanes.set(key, {
        ...parkedFor,
        slots: [],
        pending: 0,
        lastRequestAtMs: nowMs,
        depth: 1,
        depthCap: MAX_PARKED_PER_CALLER,
        freshTaken: 0,
      });
      return 0;
    }
    const gapMs = nowMs - lane.lastRequestAtMs;
    lane.lastRequestAtMs = nowMs;
    // Most recently used last: the eviction order.
    this.lanes.delete(key);
    this.lanes.set(key, lane);
    if (!tookParked && gapMs > reuseWindowMs) return 0;
    if (lane.refusedAtMs !== undefined && nowMs - lane.refusedAtMs < REFUSED_BACKOFF_MS) return 0;
    const byPace = gapMs > 0 ? Math.floor(reuseWindowMs / (2 * gapMs)) : Infinity;
    const depth = Math.max(1, Math.min(maxParked, lane.depthCap, byPace));
    lane.depth = depth;
    const size = Math.max(1, Math.min(batch, depth - 1));
    if (lane.slots.length + lane.pending > depth - size) return 0;
    lane.pending += size;
    return size;
  }

  /** A prefetch granted: parked for the caller's next request (in slot order). */
  park(key: string, parkedFor: ParkedFor, slot: GrantedReservation): void {
    const lane = this.lanes.get(key);
    if (lane === undefined || !sameParking(lane, parkedFor)) {
      this.counts.wasted += 1;
      return;
    }
    lane.pending = Math.max(0, lane.pending - 1);
    let i = lane.slots.length;
    while (i > 0 && lane.slots[i - 1]!.slotAtMs > slot.slotAtMs) i -= 1;
    lane.slots.splice(i, 0, slot);
  }

  /**
   * Prefetches (`count`, one by default) that parked nothing: refused by the store (nothing taken),
   * failed, or granted when they could no longer be parked (the shared schedule was left meanwhile:
   * slots lost).
   */
  settle(key: string, outcome: 'refused' | 'failed' | 'dropped', nowMs: number, count = 1): void {
    if (outcome === 'refused') this.counts.refused += count;
    if (outcome === 'dropped') this.counts.wasted += count;
    const lane = this.lanes.get(key);
    if (lane === undefined) return;
    lane.pending = Math.max(0, lane.pending - count);
    if (outcome === 'refused') lane.refusedAtMs = nowMs;
  }

  /** Every parked slot dropped (the shared schedule was left: its slots are not the fallback's). */
  clear(): void {
    for (const lane of this.lanes.values()) this.counts.wasted += lane.slots.length;
    this.lanes.clear();
  }

  /** A caller's parked slots and prefetches on their way. */
  outstanding(key: string): number {
    const lane = this.lanes.get(key);
    return lane === undefined ? 0 : lane.slots.length + lane.pending;
  }

  /** Parked slots now, all callers. */
  parkedCount(): number {
    let n = 0;
    for (const lane of this.lanes.values()) n += lane.slots.length;
    return n;
  }

  private evictOldest(): void {
    if (this.lanes.size < this.maxLanes) return;
    const oldest = this.lanes.keys().next();
    if (oldest.done === true) return;
    this.counts.wasted += this.lanes.get(oldest.value)!.slots.length;
    this.lanes.delete(oldest.value);
  }
}

function sameParking(lane: ParkedFor, parkedFor: ParkedFor): boolean {
  return lane.owner === parkedFor.owner && lane.fairness === parkedFor.fairness;
}
