/**
 * The two ways a provider may count "N per second":
 * - fixed: 1 s windows starting at `phaseMs` past each whole second; the count restarts at each
 *   boundary, so up to 2N can pass in one second straddling a boundary;
 * - sliding: exact, the admitted requests in the last 1000 ms (the half-open span (now-1000, now]),
 *   so no 1000 ms span ever holds more than N.
 * Only admitted requests count: a rejection consumes nothing.
 */
export const WINDOW_MODELS = ['fixed', 'sliding'] as const;
export type WindowModel = (typeof WINDOW_MODELS)[number];

export const WINDOW_MS = 1000;

export type WindowDecision =
  /** `resetAtMs`: the next instant `remaining` grows. */
  | { admitted: true; remaining: number; resetAtMs: number }
  | { admitted: false; remaining: 0; resetAtMs: number; retryAfterMs: number };

export interface RateWindows {
  tryAdmit(counterId: string, limit: number, nowMs: number): WindowDecision;
  reset(): void;
}

export class FixedWindows implements RateWindows {
  private readonly counters = new Map<string, { index: number; count: number }>();

  constructor(private readonly phaseMs: number) {}

  tryAdmit(counterId: string, limit: number, nowMs: number): WindowDecision {
    const index = Math.floor((nowMs - this.phaseMs) / WINDOW_MS);
    const endMs = (index + 1) * WINDOW_MS + this.phaseMs;
    let counter = this.counters.get(counterId);
    if (!counter || counter.index !== index) {
      counter = { index, count: 0 };
      this.counters.set(counterId, counter);
    }
    if (counter.count >= limit) return { admitted: false, remaining: 0, resetAtMs: endMs, retryAfterMs: endMs - nowMs };
    counter.count++;
    return { admitted: true, remaining: limit - counter.count, resetAtMs: endMs };
  }

  reset(): void {
    this.counters.clear();
  }
}

export class SlidingWindows implements RateWindows {
  /** Admitted instants per counter, ascending, pruned to the last window. */
  private readonly logs = new Map<string, number[]>();

  tryAdmit(counterId: string, limit: number, nowMs: number): WindowDecision {
    let log = this.logs.get(counterId);
    if (!log) {
      log = [];
      this.logs.set(counterId, log);
    }
    // An instant t counts while t > now - 1000; it frees its slot at exactly t + 1000.
    while (log.length > 0 && log[0]! <= nowMs - WINDOW_MS) log.shift();
    if (log.length >= limit) {
      const freesAtMs = log[log.length - limit]! + WINDOW_MS;
      return { admitted: false, remaining: 0, resetAtMs: freesAtMs, retryAfterMs: freesAtMs - nowMs };
    }
    insertSorted(log, nowMs);
    return { admitted: true, remaining: limit - log.length, resetAtMs: log[0]! + WINDOW_MS };
  }

  reset(): void {
    this.logs.clear();
  }
}

export function createWindows(model: WindowModel, phaseMs: number): RateWindows {
  return model === 'fixed' ? new FixedWindows(phaseMs) : new SlidingWindows();
}

/** Clocks are expected to be monotonic; an instant from the past still lands in order. */
function insertSorted(log: number[], value: number): void {
  let i = log.length;
  while (i > 0 && log[i - 1]! > value) i--;
  log.splice(i, 0, value);
}
