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

export interface CallerBook {
  readonly callers: Map<string, CallerSlotState>;
  /** Σ weight over the counted (active) callers. */
  sumWeights: number;
  /** Σ reservedShare over the known callers (uncapped). */
  sumReserved: number;
  /** The callers whose weight is in `sumWeights`: what a pause walks. */
  readonly countedIds: Set<string>;
  /** Min-heap on `at`; an entry whose caller has moved on (another `statusUntil`, or forgotten) is skipped. */
  readonly index: IndexEntry[];
}

export function newCallerBook(): CallerBook {
  return { callers: new Map(), sumWeights: 0, sumReserved: 0, countedIds: new Set(), index: [] };
}

/**
 * Settles every caller whose status time is before `nowMs`: it stops counting in the weights, and
 * is forgotten (its reserved share with it) once `forgetCallerMs` has passed since it was last seen.
 */
export function settleCallers(book: CallerBook, nowMs: number, forgetCallerMs: number): void {
  while (book.index.length > 0 && book.index[0]!.at < nowMs) {
    const { at, id, caller } = popIndex(book.index);
    if (book.callers.get(id) !== caller || caller.statusUntil !== at) continue; // moved on since
    if (caller.counted) {
      caller.counted = false;
      book.countedIds.delete(id);
      // Exactly zero when nobody counts, so float residue never builds up in an idle schedule.
      book.sumWeights = book.countedIds.size === 0 ? 0 : book.sumWeights - caller.weight;
      const forgetAt = Math.max(caller.seenAt + forgetCallerMs, at);
      if (!(forgetAt < nowMs)) {
        setStatusUntil(book, id, caller, forgetAt);
        continue;
      }
    }
    book.callers.delete(id);
    book.sumReserved = book.callers.size === 0 ? 0 : book.sumReserved - caller.reservedShare;
  }
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
  pushIndex(book.index, { at, id, caller });
}

function pushIndex(heap: IndexEntry[], entry: IndexEntry): void {
  heap.push(entry);
  let i = heap.length - 1;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (heap[parent]!.at <= entry.at) break;
    heap[i] = heap[parent]!;
    i = parent;
  }
  heap[i] = entry;
}

function popIndex(heap: IndexEntry[]): IndexEntry {
  const top = heap[0]!;
  const last = heap.pop()!;
  if (heap.length > 0) {
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const child = right < heap.length && heap[right]!.at < heap[left]!.at ? right : left;
      if (heap[child]!.at >= last.at) break;
      heap[i] = heap[child]!;
      i = child;
    }
    heap[i] = last;
  }
  return top;
}
