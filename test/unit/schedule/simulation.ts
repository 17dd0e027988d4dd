/**
 * A discrete-event simulation of callers against the calendar, on a virtual clock: no timers, no I/O.
 * Each caller runs `concurrency` closed loops: reserve, wait for the slot, "send", think, repeat;
 * a rejected request retries after its `retryAfterMs`.
 */
import {
  newCalendarState,
  reserveSlot,
  type CalendarReply,
  type CalendarReserveInput,
  type CalendarState,
  type FairnessParams,
} from '../../../src/schedule/calendar';

export interface SimCaller {
  id: string;
  weight: number;
  concurrency: number;
  maxWaitMs: number;
  reservedShare?: number;
  maxQueued?: number;
  /** Pause between a send and the worker's next request. */
  thinkMs?: number;
  /** The caller starts sending at this time. */
  startMs?: number;
}

export interface SimOptions {
  intervalMs: number;
  durationMs: number;
  callers: SimCaller[];
  fairness?: Partial<FairnessParams>;
  /** Deterministic tie-breaking between workers due at the same instant. */
  seed?: number;
}

export interface SimResult {
  /** Slot times of every grant, by caller. */
  grants: Map<string, number[]>;
  rejections: Map<string, number>;
  waits: Map<string, number[]>;
  replies: CalendarReply[];
  state: CalendarState;
}

export const DEFAULT_FAIRNESS: FairnessParams = {
  activeWindowMs: 5000,
  forgetCallerMs: 300_000,
  lookaheadMs: 0,
  maxReservedShareTotal: 0.5,
};

export function simulate(options: SimOptions): SimResult {
  const state = newCalendarState('sim');
  const fairness: FairnessParams = { ...DEFAULT_FAIRNESS, lookaheadMs: 2 * options.intervalMs, ...options.fairness };
  let rnd = options.seed ?? 42;
  const random = (): number => {
    rnd = (rnd * 1103515245 + 12345) % 2147483648;
    return rnd / 2147483648;
  };
  interface Worker {
    caller: SimCaller;
    at: number;
    tie: number;
  }
  const workers: Worker[] = [];
  for (const caller of options.callers) {
    for (let i = 0; i < caller.concurrency; i += 1) workers.push({ caller, at: caller.startMs ?? 0, tie: random() });
  }
  const result: SimResult = { grants: new Map(), rejections: new Map(), waits: new Map(), replies: [], state };
  for (const c of options.callers) {
    result.grants.set(c.id, []);
    result.rejections.set(c.id, 0);
    result.waits.set(c.id, []);
  }
  for (;;) {
    let next: Worker | undefined;
    for (const w of workers)
      if (next === undefined || w.at < next.at || (w.at === next.at && w.tie < next.tie)) next = w;
    if (next === undefined || next.at >= options.durationMs) break;
    const now = next.at;
    const c = next.caller;
    const input: CalendarReserveInput = {
      intervalMs: options.intervalMs,
      callerId: c.id,
      weight: c.weight,
      reservedShare: c.reservedShare ?? 0,
      maxWaitMs: c.maxWaitMs,
      maxQueued: c.maxQueued ?? 1000,
      fairness,
      knownEpoch: '',
      lossGuardMs: 0,
      idleTtlMs: 60_000,
    };
    const reply = reserveSlot(state, now, input);
    result.replies.push(reply);
    next.tie = random();
    if (reply.kind === 'granted') {
      const slot = now + reply.waitMs;
      result.grants.get(c.id)!.push(slot);
      result.waits.get(c.id)!.push(reply.waitMs);
      next.at = slot + (c.thinkMs ?? 0);
    } else {
      result.rejections.set(c.id, result.rejections.get(c.id)! + 1);
      next.at = now + reply.retryAfterMs;
    }
  }
  return result;
}

/** The most slot times in any window [t, t + windowMs). */
export function maxInWindow(times: readonly number[], windowMs = 1000): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  let lo = 0;
  for (let hi = 0; hi < sorted.length; hi += 1) {
    while (sorted[hi]! - sorted[lo]! >= windowMs - 1e-9) lo += 1;
    best = Math.max(best, hi - lo + 1);
  }
  return best;
}

/** Smallest gap between consecutive slot times. */
export function minGap(times: readonly number[]): number {
  const sorted = [...times].sort((a, b) => a - b);
  let gap = Infinity;
  for (let i = 1; i < sorted.length; i += 1) gap = Math.min(gap, sorted[i]! - sorted[i - 1]!);
  return gap;
}

export function countIn(times: readonly number[], fromMs: number, toMs: number): number {
  return times.filter((t) => t >= fromMs && t < toMs).length;
}
