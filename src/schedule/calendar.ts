/**
 * The slot calendar: the scheduling algorithm, pure, on an in-memory state and an explicit `nowMs`.
 * The Redis Lua script (`redis-lua.ts`) is a line-by-line port of this file and `caller-sums.ts` (the
 * callers' running sums and status index); a parity test runs the same sequence through both.
 * docs/rate-schedule.md explains the algorithm and its bounds.
 *
 * In short: slots sit on a grid `base + k·interval`; a slot is free or taken by exactly one grant,
 * so no two grants are closer than one interval and the schedule never exceeds its rate. A request
 * takes the earliest free slot at or after max(now, floor, its caller's virtual time `tat`); each
 * in-share grant advances the caller's `tat` by interval ÷ share, where share is the caller's
 * weight among the active callers (plus any reserved share). A free slot within `lookaheadMs` of
 * now is idle capacity and goes to whoever asks, share or not.
 */
import { countCaller, markSeen, newCallerBook, settleCallers, shiftCallers, type CallerBook } from './caller-sums';
import type { RejectionReason } from './types';

export type { CallerSlotState } from './caller-sums';

/** The callers, their running sums and status index are in `CallerBook` (caller-sums.ts). */
export interface CalendarState extends CallerBook {
  epoch: string;
  /** Grid origin and spacing; unset until the first reservation. */
  base?: number;
  intervalMs?: number;
  /** The grid was set on an anchor (a learnt fixed-window phase). */
  anchored: boolean;
  /**
   * The grid before the last re-grid, while its queue lasts: its free points from its base up to its
   * last slot are still granted, on its own spacing (a re-grid used to lose them; see `reserveSlot`).
   */
  previous?: { base: number; intervalMs: number; lastMs: number };
  /** The latest granted slot. */
  last?: number;
  /** No new slot before this (pauses, recovery guards). */
  floor: number;
  /** Sum of all shifts applied to queued slots; a waiter compares it with its ticket's. */
  shiftTotalMs: number;
  seq: number;
  /** Granted slot times, ascending; the last second is kept for upstream feedback. */
  entries: number[];
  feedbackResetKey?: string;
  feedbackApplied: number;
  /** The provider window (its reset) of the last upstream refusal. */
  refusalResetKey?: string;
}

export interface FairnessParams {
  /** A caller counts in the sum of weights while seen this recently, or while it holds future slots. */
  activeWindowMs: number;
  /** A caller's state (and its reserved headroom) is dropped after this long without requests. */
  forgetCallerMs: number;
  /** A free slot this close to now is idle capacity: anyone may take it, whatever their share. */
  lookaheadMs: number;
  /** Cap on the sum of reserved shares, so weighted callers always keep some capacity. */
  maxReservedShareTotal: number;
}

export interface CalendarReserveInput {
  intervalMs: number;
  callerId: string;
  weight: number;
  reservedShare: number;
  maxWaitMs: number;
  maxQueued: number;
  fairness: FairnessParams;
  /** The epoch this replica last saw, or '' if none. */
  knownEpoch: string;
  /** This replica's latest known slot (own or seen), relative to now; undefined if none. */
  hintOffsetMs?: number;
  /** Applied once when the state is found lost (see docs, "Redis restart"). */
  lossGuardMs: number;
  /** How long an idle state lives after its last slot (the TTL in Redis). */
  idleTtlMs: number;
  /**
   * Grid anchor on the store's clock: when set, slots sit at `anchorMs + k·intervalMs` (a learnt
   * fixed-window phase places each window's slots inside it). Undefined: the grid starts where it falls.
   */
  anchorMs?: number;
  /**
   * A grid already up to this much after the anchor (modulo the interval) is kept: replicas learn the
   * phase apart, and each accepts the others' grid within its own margin, so the latest anchor wins
   * instead of every replica re-gridding (and losing a slot) on the other's reservations. Default 0.
   */
  anchorSlackMs?: number;
  /**
   * A re-grid keeps the old grid's free points only if its interval is at least this: a grid as
   * sparse as the limit and the safety in force ask (the sliding-safe interval), so that its own
   * budget for lateness covers what the schedule now measures or is told. A denser one (the safety
   * was lowered, the limit lowered) is not, nor an anchored one (left because the phase moved: its
   * points may sit across a boundary). Undefined (fallback: each replica's local grid is sized for
   * its share): never kept.
   */
  minKeptIntervalMs?: number;
  /**
   * With an anchor, the provider's fixed windows it sits in: each window's first grid point is the
   * anchor plus whole windows, and an old slot from `leadMs` before it on may still be counted in it
   * (the boundary may lie that much earlier, and the slot arrive late). A re-grid onto the anchor
   * then starts at the first point after the old queue whose window has room for it, counting the
   * old slots there, instead of a whole old interval after the queue (which lost a slot each time).
   */
  anchorWindow?: { windowMs: number; leadMs: number };
}

export interface ScheduleInfo {
  epoch: string;
  shiftTotalMs: number;
  /** last slot − now (negative when idle); replicas keep it to start fallback after it. */
  tailOffsetMs: number;
  floorOffsetMs: number;
  /** The store's clock when it answered (Redis `TIME`): replicas map slot offsets onto their own clocks with it. */
  storeNowMs: number;
}

export type CalendarReply =
  | ({
      kind: 'granted';
      waitMs: number;
      idleCapacity: boolean;
      /** Set when the slot is a free point kept from the grid before a re-grid: that grid's spacing. */
      keptGridIntervalMs?: number;
    } & ScheduleInfo)
  | ({ kind: 'rejected'; reason: RejectionReason; retryAfterMs: number } & ScheduleInfo);

const EPS = 1e-6;
/**
 * A caller's virtual time is a running sum of spacings; a grid slot is `base + k·interval`. At
 * epoch-millisecond magnitudes (~1.8e12, one ulp ≈ 2.4e-4 ms) the two differ by a few ulps where
 * they mean the same instant, far more than EPS: a lone caller then missed the slot at its own
 * virtual time and lost one slot per burst. They are compared with this slack, in intervals, and a
 * virtual time within it is snapped to the slot.
 */
const TAT_SLACK = 1e-3;
/** Upstream feedback compares against the slots of the last second. */
const FEEDBACK_WINDOW_MS = 1000;
/** Rounding slack when comparing a grid with its anchor (ms; far below any clock's precision). */
const ANCHOR_EPS_MS = 1e-3;

export function newCalendarState(epoch: string): CalendarState {
  return {
    epoch,
    anchored: false,
    floor: 0,
    shiftTotalMs: 0,
    seq: 0,
    entries: [],
    feedbackApplied: 0,
    ...newCallerBook(),
  };
}

export function scheduleInfo(state: CalendarState, nowMs: number): ScheduleInfo {
  return {
    epoch: state.epoch,
    shiftTotalMs: state.shiftTotalMs,
    tailOffsetMs: (state.last ?? nowMs) - nowMs,
    floorOffsetMs: state.floor - nowMs,
    storeNowMs: nowMs,
  };
}

/**
 * Earliest free slot at or after `fromMs`: a free point of the previous grid up to its last slot,
 * else the earliest free point of the grid from its base.
 */
function earliestFree(state: CalendarState, fromMs: number): number {
  const previous = state.previous;
  if (previous !== undefined && fromMs <= previous.lastMs) {
    const kept = earliestFreeOn(state, previous.base, previous.intervalMs, Math.max(fromMs, previous.base));
    if (kept < previous.lastMs) return kept;
  }
  return earliestFreeOn(state, state.base!, state.intervalMs!, Math.max(fromMs, state.base!));
}

/** Earliest point of the grid `base + k·iv` at or after `fromMs` that no grant holds. */
function earliestFreeOn(state: CalendarState, base: number, iv: number, fromMs: number): number {
  let k = Math.ceil((fromMs - base) / iv - 1e-9);
  const lo = base + k * iv - iv / 2;
  // Entries are ascending and hold a second of past slots (thousands at high rates): start at `lo`
  // by binary search, as the Lua script's ZRANGEBYSCORE does, not by walking the past ones.
  const entries = state.entries;
  for (let i = firstAtOrAfter(entries, lo); i < entries.length; i += 1) {
    const at = entries[i]!;
    const j = Math.floor((at - base) / iv + 0.5);
    if (j === k) k += 1;
    else if (j > k) break;
  }
  return base + k * iv;
}

function insertSorted(list: number[], value: number): void {
  list.splice(firstAfter(list, value), 0, value);
}

/** Index of the first element of the ascending `list` that is ≥ `value` (`list.length` if none). */
function firstAtOrAfter(list: readonly number[], value: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Index of the first element of the ascending `list` that is > `value` (`list.length` if none). */
function firstAfter(list: readonly number[], value: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid]! <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function reserveSlot(state: CalendarState, nowMs: number, input: CalendarReserveInput): CalendarReply {
  const now = nowMs;
  const ivReq = input.intervalMs;

  // 1. This replica saw an earlier incarnation of the state: it was lost (Redis restarted, keys evicted).
  if (input.knownEpoch !== '' && input.knownEpoch !== state.epoch && input.hintOffsetMs !== undefined) {
    let f = now + input.hintOffsetMs + ivReq;
    const fresh = isFresh(state);
    if (fresh && input.hintOffsetMs > -input.idleTtlMs) f = Math.max(f, now + input.lossGuardMs);
    if (f > state.floor) state.floor = f;
  }

  // 2. Grid: re-anchor when idle, re-grid after the last slot when the interval changed or the grid
  //    is off the requested anchor (a pause shifted it, or the learnt phase moved). The old grid's
  //    free points before its last slot stay grantable (`previous`): its queue already keeps its own
  //    spacing, so filling them sends no more than it would have, if that grid is as sparse as the
  //    limit and safety in force ask (`minKeptIntervalMs`) and sat on no anchor.
  if (state.previous !== undefined && state.previous.lastMs <= now) delete state.previous;
  const idle = state.last === undefined || state.last + (state.intervalMs ?? ivReq) <= now;
  const anchor = input.anchorMs;
  if (idle) {
    state.base = alignUp(Math.max(now, state.floor), ivReq, anchor);
    delete state.previous;
    setGrid(state, ivReq, anchor);
  } else if (Math.abs(state.intervalMs! - ivReq) > 1e-9 || !onAnchor(state.base!, ivReq, anchor, input.anchorSlackMs)) {
    const gap = Math.max(state.intervalMs!, ivReq, state.previous?.intervalMs ?? 0);
    const kept = gridToKeep(state, input.minKeptIntervalMs);
    if (kept !== undefined) state.previous = kept;
    else delete state.previous;
    const fitted =
      anchor === undefined || input.anchorWindow === undefined
        ? undefined
        : firstPointWithRoom(state, now, { intervalMs: ivReq, anchorMs: anchor, ...input.anchorWindow }, kept);
    state.base = fitted ?? alignUp(state.last! + gap, ivReq, anchor);
    setGrid(state, ivReq, anchor);
  }
  const iv = state.intervalMs!;

  // 3. Callers: settle those whose status time passed (stop counting, forgotten), then count this one.
  //    Running sums: the cost does not grow with the callers the schedule has seen (issue #15).
  const fair = input.fairness;
  settleCallers(state, now, fair.forgetCallerMs);
  const me = countCaller(state, input.callerId, input.weight, input.reservedShare, now);
  const sumWeights = state.sumWeights;
  const sumReserved = Math.min(state.sumReserved, fair.maxReservedShareTotal);
  me.pending = me.pending.filter((at) => at > now);

  const finish = (reply: CalendarReply): CalendarReply => {
    markSeen(state, input.callerId, me, now, fair.activeWindowMs);
    trim(state, now);
    return reply;
  };
  const reject = (reason: RejectionReason, retryAfterMs: number): CalendarReply =>
    finish({ kind: 'rejected', reason, retryAfterMs: Math.max(1, retryAfterMs), ...scheduleInfo(state, now) });

  // 4. Bounded backlog per caller.
  if (me.pending.length >= input.maxQueued) return reject('backlog', Math.min(...me.pending) - now);

  // 5. The earliest free slot for anyone, then the caller's share.
  const x = Math.max(now, state.floor, state.previous?.base ?? state.base!);
  const limit = now + input.maxWaitMs;
  const s1 = earliestFree(state, x);
  if (s1 > limit + EPS) return reject(state.floor > limit ? 'paused' : 'deadline', s1 - limit);
  const share = me.reservedShare + ((1 - sumReserved) * me.weight) / sumWeights;
  const spacing = iv / share;
  const startC = Math.max(me.tat, x);
  const slack = iv * TAT_SLACK;
  let slot: number;
  let idleCapacity = false;
  if (s1 >= startC - slack) {
    slot = s1;
    // Snapped to the slot when within the slack, so rounding never accumulates along a queue.
    me.tat = Math.min(startC, s1) + spacing;
  } else if (s1 <= now + fair.lookaheadMs + EPS) {
    slot = s1;
    idleCapacity = true;
  } else {
    const s2 = earliestFree(state, Math.max(x, startC - slack));
    if (s2 > limit + EPS) return reject('deadline', s2 - limit);
    slot = s2;
    me.tat = Math.min(startC, s2) + spacing;
  }

  // 6. Take it.
  state.seq += 1;
  insertSorted(state.entries, slot);
  me.pending.push(slot);
  if (state.last === undefined || slot > state.last) state.last = slot;
  const kept = slot < state.base! - EPS ? { keptGridIntervalMs: state.previous!.intervalMs } : {};
  return finish({ kind: 'granted', waitMs: slot - now, idleCapacity, ...kept, ...scheduleInfo(state, now) });
}

/**
 * The grid whose free points a re-grid keeps grantable, if any: the current one, if it is as sparse
 * as the limit and safety in force ask (`minKeptIntervalMs`) and sat on no anchor. A grid left before
 * it granted a slot of its own (the learning grid, when the fixed one follows at once) has no free
 * points: the grid before it stays kept instead, if still sparse enough.
 */
function gridToKeep(state: CalendarState, minKeptIntervalMs: number | undefined): CalendarState['previous'] {
  if (minKeptIntervalMs === undefined) return undefined;
  const sparseEnough = (grid: { intervalMs: number }): boolean => grid.intervalMs >= minKeptIntervalMs - 1e-9;
  if (state.last! < state.base! - EPS)
    return state.previous !== undefined && sparseEnough(state.previous) ? state.previous : undefined;
  const current = { base: state.base!, intervalMs: state.intervalMs!, lastMs: state.last! };
  return !state.anchored && sparseEnough(current) ? current : undefined;
}

/**
 * On a re-grid onto an anchored grid (`grid`): the first of its points after the old queue whose
 * window has room for it. Counted in a window: every slot taken from `leadMs` before its first point
 * on, and the free points still to come of the grid the re-grid keeps (`kept`). A window
 * then holds at most its `windowMs / intervalMs` points, old and new, where waiting a whole old
 * interval after the queue left one of them unused. The new grid fills every window after the
 * point's, so the next window must have room for all of its points too: if old slots may still
 * arrive in it, the point moves into it, past them. Undefined when slots that may count were
 * already trimmed from `entries`: the caller keeps its gap.
 */
function firstPointWithRoom(
  state: CalendarState,
  now: number,
  grid: { intervalMs: number; anchorMs: number; windowMs: number; leadMs: number },
  kept: { base: number; intervalMs: number; lastMs: number } | undefined,
): number | undefined {
  const iv = grid.intervalMs;
  const perWindow = Math.round(grid.windowMs / iv);
  const windowSpan = perWindow * iv;
  // Old slots (and kept points) a window counts, from `leadMs` before its first point.
  const counted = (windowFirst: number): number | undefined => {
    const from = windowFirst - grid.leadMs;
    if (from < now - FEEDBACK_WINDOW_MS) return undefined;
    return countAtOrAfter(state.entries, from) + (kept === undefined ? 0 : freePointsToCome(state, now, kept, from));
  };
  let point = alignUp(state.last! + EPS, iv, grid.anchorMs);
  for (let moves = 0; moves < 4; moves += 1) {
    const windowFirst = grid.anchorMs + Math.floor(Math.round((point - grid.anchorMs) / iv) / perWindow) * windowSpan;
    const here = counted(windowFirst);
    const next = counted(windowFirst + windowSpan);
    if (here === undefined || next === undefined) return undefined;
    const withRoom = next > 0 ? windowFirst + windowSpan + next * iv : windowFirst + here * iv;
    if (withRoom <= point + ANCHOR_EPS_MS) return point;
    point = withRoom;
  }
  return undefined;
}

/** Free points of the kept grid from `fromMs` (and now) to its last slot: they may still be granted. */
function freePointsToCome(
  state: CalendarState,
  now: number,
  kept: { base: number; intervalMs: number; lastMs: number },
  fromMs: number,
): number {
  const a = Math.max(fromMs, now, kept.base);
  // The last slot is a point of the grid (rounded to it, as `earliestFreeOn` does); a point within the
  // slack of `a` is counted, never left out.
  const lastPoint = Math.round((kept.lastMs - kept.base) / kept.intervalMs);
  const points = lastPoint - Math.ceil((a - kept.base) / kept.intervalMs - TAT_SLACK) + 1;
  const taken = countAtOrAfter(state.entries, a);
  return Math.max(0, points - taken);
}

function countAtOrAfter(list: readonly number[], value: number): number {
  return list.length - firstAtOrAfter(list, value);
}

function setGrid(state: CalendarState, iv: number, anchor: number | undefined): void {
  state.intervalMs = iv;
  state.anchored = anchor !== undefined;
}

/** The first point of the grid `anchor + k·interval` at or after `fromMs` (`fromMs` itself without an anchor). */
function alignUp(fromMs: number, iv: number, anchor: number | undefined): number {
  if (anchor === undefined) return fromMs;
  return anchor + Math.ceil((fromMs - anchor) / iv - 1e-9) * iv;
}

/** The grid sits on the anchor, or at most `slack` after it (modulo the interval). */
function onAnchor(base: number, iv: number, anchor: number | undefined, slack: number | undefined): boolean {
  if (anchor === undefined) return true;
  const after = base - anchor - Math.floor((base - anchor) / iv) * iv;
  return after <= (slack ?? 0) + ANCHOR_EPS_MS || after >= iv - ANCHOR_EPS_MS;
}

/** Nothing was ever written (in Redis: the hash did not exist). */
export function isFresh(state: CalendarState): boolean {
  return state.seq === 0 && state.callers.size === 0 && state.floor === 0 && state.shiftTotalMs === 0;
}

function trim(state: CalendarState, now: number): void {
  const keepFrom = now - FEEDBACK_WINDOW_MS - (state.intervalMs ?? 0);
  let drop = 0;
  while (drop < state.entries.length && state.entries[drop]! < keepFrom) drop += 1;
  if (drop > 0) state.entries.splice(0, drop);
}

/** Moves every queued slot (after now) by `deltaMs`; the grid, the tail and the callers' virtual times follow. */
function shiftQueued(state: CalendarState, now: number, deltaMs: number): void {
  state.entries = state.entries.map((at) => (at > now ? at + deltaMs : at)).sort((a, b) => a - b);
  if (state.base !== undefined) state.base += deltaMs;
  if (state.last !== undefined && state.last > now) state.last += deltaMs;
  // The previous grid moves with its queue; one whose queue is all past is over.
  if (state.previous !== undefined && state.previous.lastMs > now) {
    state.previous.base += deltaMs;
    state.previous.lastMs += deltaMs;
  } else delete state.previous;
  shiftCallers(state, now, deltaMs);
  state.shiftTotalMs += deltaMs;
}

/**
 * Pause until `untilMs`: no new slot before it, and every queued slot moves by the same amount so
 * the first lands at `untilMs` and the spacing is kept (a pause must not turn a queue into a burst).
 */
export function pauseUntil(state: CalendarState, nowMs: number, untilMs: number): number {
  const start = Math.max(nowMs, state.floor);
  if (!(untilMs > start)) return 0;
  const delta = untilMs - start;
  shiftQueued(state, nowMs, delta);
  state.floor = untilMs;
  return delta;
}

export interface UpstreamRefusal {
  /** Identifies the provider window (its reset timestamp); '' when the answer gave none. */
  resetKey: string;
  /** When the provider says it has room again, from now (Retry-After or reset); ≤ 0 when unknown. */
  resetDelayMs: number;
}

/**
 * Proportionate feedback for an upstream 429. One refusal means one request too many: the schedule
 * gives up one slot (every queued slot moves by one interval, and concurrent refusals add up). A
 * second refusal in the same provider window means the window is full, not one over: nothing more
 * fits before the reset the provider announced, so the schedule waits for it.
 */
export function applyRefusal(
  state: CalendarState,
  nowMs: number,
  intervalMs: number,
  refusal: UpstreamRefusal,
): number {
  const windowFull = refusal.resetKey !== '' && state.refusalResetKey === refusal.resetKey && refusal.resetDelayMs > 0;
  state.refusalResetKey = refusal.resetKey;
  if (windowFull) return pauseUntil(state, nowMs, nowMs + refusal.resetDelayMs);
  return pauseUntil(state, nowMs, Math.max(nowMs, state.floor) + (state.intervalMs ?? intervalMs));
}

export interface UpstreamCounts {
  remaining: number;
  limit: number;
  /** Identifies the provider window (its reset timestamp); a window's deficit is applied once. */
  resetKey: string;
}

/**
 * The provider says `remaining` while, from our own slots of the last second, we expected at least
 * `limit − ours`. A deficit beyond `tolerance` means someone else uses the key (or the provider
 * counts differently): the schedule gives up that many slots, as a pause of deficit × interval.
 * Returns the shift applied.
 */
export function applyUpstreamCounts(
  state: CalendarState,
  nowMs: number,
  counts: UpstreamCounts,
  tolerance: number,
): number {
  if (state.intervalMs === undefined || counts.resetKey === '') return 0;
  // Slots in (now − window, now], counted by binary search (ZCOUNT in Lua): no pass over, or copy of, the list.
  const ours = firstAfter(state.entries, nowMs) - firstAfter(state.entries, nowMs - FEEDBACK_WINDOW_MS);
  const deficit = counts.limit - ours - counts.remaining - tolerance;
  if (state.feedbackResetKey !== counts.resetKey) {
    state.feedbackResetKey = counts.resetKey;
    state.feedbackApplied = 0;
  }
  const extra = deficit - state.feedbackApplied;
  if (extra <= 0) return 0;
  state.feedbackApplied += extra;
  return pauseUntil(state, nowMs, Math.max(nowMs, state.floor) + extra * state.intervalMs);
}

/** No new slot before `floorAtMs` (recovery from fallback: after the replica's local slots). */
export function raiseFloor(state: CalendarState, floorAtMs: number): void {
  if (floorAtMs > state.floor) state.floor = floorAtMs;
}

/** When the state may be dropped: its last slot, floor and callers' virtual times are all long past. */
export function expiresAt(state: CalendarState, nowMs: number, idleTtlMs: number): number {
  return Math.max(nowMs, state.last ?? nowMs, state.floor) + idleTtlMs;
}
