/**
 * The callers of one schedule, kept so that a reservation costs the same with ten callers or ten
 * thousand (issue #15): the sum of the active callers' weights and of the known callers' reserved
 * shares are stored totals, and a time index says when each caller next changes status — while it
 * counts in the weights, the time it stops counting (`activeUntil`); after that, the time it is
 * forgotten. A reservation settles only the callers whose time has passed. The Lua script keeps the
 * same totals and the same index (a sorted set); the parity test holds the two together.
 *
 * A caller counts in the weights while `now ≤ activeUntil = max(seenAt + activeWindowMs, tat, its
 * latest slot)` and is forgotten once `now > max(seenAt + forgetCallerMs, activeUntil)`.
 */
import { MinHeap } from '../shared/min-heap';

export interface CallerSlotState {
  /** Virtual time: the caller's next in-share slot may not precede it. */
  tat: number;
  weight: number;
  reservedShare: number;
  seenAt: number;
  /** The caller's granted slots (times); those still in the future are its backlog. */
  pending: number[];
  /** Its weight is in `sumWeights` (it is active). */
  counted: boolean;
  /** Its time in the index: `activeUntil` while counted, then when it is forgotten. */
  statusUntil: number;
}

interface IndexEntry {
  readonly at: number;
  readonly id: string;
  readonly caller: CallerSlotState;
}

/**
 * At most this many callers stop counting, and this many are forgotten, per reservation: after a
 * quiet spell thousands may be due at once, and one reservation must not hold Redis for all of them.
 * Those left over still count (the sums err high: shares are underestimated, never the rate
 * exceeded) and are settled by the next reservations.
 */
export const SETTLE_MAX_PER_RESERVATION = 256;

export interface CallerBook {
  readonly callers: Map<string, CallerSlotState>;
  /** Σ weight over the counted (active) callers. */
  sumWeights: number;
  /** Σ reservedShare over the known callers (uncapped). */
  sumReserved: number;
  /** The callers whose weight is in `sumWeights`: what a pause walks. */
  readonly countedIds: Set<string>;
  /**
   * When counted callers stop counting, and when idle ones are forgotten, in the order the script's
   * sorted set gives them (ties: ids ascending, and descending for the forgotten, as ZRANGEBYSCORE and
   * ZREVRANGEBYSCORE order them; Redis compares bytes, JavaScript UTF-16 units: the same order except
   * for ids with characters beyond U+FFFF). An entry whose caller has moved on since is skipped.
   */
  readonly activeIndex: MinHeap<IndexEntry>;
  readonly idleIndex: MinHeap<IndexEntry>;
}

export function newCallerBook(): CallerBook {
  return {
    callers: new Map(),
    sumWeights: 0,
    sumReserved: 0,
    countedIds: new Set(),
    activeIndex: new MinHeap((a, b) => a.at < b.at || (a.at === b.at && a.id < b.id)),
    idleIndex: new MinHeap((a, b) => a.at < b.at || (a.at === b.at && a.id > b.id)),
  };
}

/** Index entries held, superseded ones included (they leave as their time passes). */
export function indexSize(book: CallerBook): number {
  return book.activeIndex.size + book.idleIndex.size;
}

/**
 * Settles the callers whose status time is before `nowMs`, up to SETTLE_MAX_PER_RESERVATION of each
 * kind, the earliest first: idle ones unseen for `forgetCallerMs` are forgotten (their reserved share
 * with them), then counted ones stop counting in the weights (forgotten at once if that time passed too).
 */
export function settleCallers(book: CallerBook, nowMs: number, forgetCallerMs: number): void {
  for (let n = 0; n < SETTLE_MAX_PER_RESERVATION;) {
    const entry = takeDue(book, book.idleIndex, nowMs, false);
    if (entry === undefined) break;
    if (entry === STALE) continue;
    forget(book, entry.id, entry.caller);
    n += 1;
  }
  // Stopping pushes onto the idle index only, so nothing settled here is met again in this call.
  for (let n = 0; n < SETTLE_MAX_PER_RESERVATION;) {
    const entry = takeDue(book, book.activeIndex, nowMs, true);
    if (entry === undefined) break;
    if (entry === STALE) continue;
    const { at, id, caller } = entry;
    caller.counted = false;
    book.countedIds.delete(id);
    // Exactly zero when nobody counts, so float residue never builds up in an idle schedule.
    book.sumWeights = book.countedIds.size === 0 ? 0 : book.sumWeights - caller.weight;
    const forgetAt = Math.max(caller.seenAt + forgetCallerMs, at);
    if (forgetAt < nowMs) forget(book, id, caller);
    else setStatusUntil(book, id, caller, forgetAt);
    n += 1;
  }
}

const STALE = Symbol('stale');

/** The heap's first entry if due before `nowMs`: STALE when its caller has moved on since (skipped). */
function takeDue(
  book: CallerBook,
  heap: MinHeap<IndexEntry>,
  nowMs: number,
  counted: boolean,
): IndexEntry | typeof STALE | undefined {
  const top = heap.peek();
  if (top === undefined || !(top.at < nowMs)) return undefined;
  heap.pop();
  const { caller } = top;
  const live = book.callers.get(top.id) === caller && caller.statusUntil === top.at && caller.counted === counted;
  return live ? top : STALE;
}

function forget(book: CallerBook, id: string, caller: CallerSlotState): void {
  book.callers.delete(id);
  book.sumReserved = book.callers.size === 0 ? 0 : book.sumReserved - caller.reservedShare;
}

/** The requesting caller, counted with its current weight and reserved share (a new one is created). */
export function countCaller(
  book: CallerBook,
  id: string,
  weight: number,
  reservedShare: number,
  nowMs: number,
): CallerSlotState {
  let caller = book.callers.get(id);
  if (caller === undefined) {
    caller = { tat: 0, weight, reservedShare, seenAt: nowMs, pending: [], counted: false, statusUntil: -Infinity };
    book.callers.set(id, caller);
    book.sumReserved += reservedShare;
  } else if (caller.reservedShare !== reservedShare) {
    book.sumReserved += reservedShare - caller.reservedShare;
  }
  if (!caller.counted) {
    caller.counted = true;
    caller.statusUntil = -Infinity; // indexed anew by markSeen, in the counted callers' index
    book.countedIds.add(id);
    book.sumWeights += weight;
  } else if (caller.weight !== weight) {
    book.sumWeights += weight - caller.weight;
  }
  caller.weight = weight;
  caller.reservedShare = reservedShare;
  return caller;
}

/** After the caller's reservation: it counts until `max(now + activeWindowMs, tat, its latest slot)`. */
export function markSeen(
  book: CallerBook,
  id: string,
  caller: CallerSlotState,
  nowMs: number,
  activeWindowMs: number,
): void {
  caller.seenAt = nowMs;
  let activeUntil = Math.max(nowMs + activeWindowMs, caller.tat);
  for (const at of caller.pending) if (at > activeUntil) activeUntil = at;
  setStatusUntil(book, id, caller, activeUntil);
}

/**
 * A pause moved every queued slot after `nowMs` by `deltaMs` (> 0): the counted callers' virtual times
 * and slots follow, and so do their `activeUntil`. Only counted callers can hold anything after now.
 */
export function shiftCallers(book: CallerBook, nowMs: number, deltaMs: number): void {
  for (const id of book.countedIds) {
    const caller = book.callers.get(id)!;
    let moved = false;
    let activeUntil = caller.statusUntil;
    caller.pending = caller.pending.map((at) => {
      if (!(at > nowMs)) return at;
      moved = true;
      if (at + deltaMs > activeUntil) activeUntil = at + deltaMs;
      return at + deltaMs;
    });
    if (caller.tat > nowMs) {
      caller.tat += deltaMs;
      moved = true;
      if (caller.tat > activeUntil) activeUntil = caller.tat;
    }
    if (moved) setStatusUntil(book, id, caller, activeUntil);
  }
}

function setStatusUntil(book: CallerBook, id: string, caller: CallerSlotState, at: number): void {
  if (caller.statusUntil === at) return;
  caller.statusUntil = at;
  (caller.counted ? book.activeIndex : book.idleIndex).push({ at, id, caller });
}
