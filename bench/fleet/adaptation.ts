/**
 * The `limits-auto` scenario's judge (pure): how fast the fleet kept to the provider's new limit
 * after the sandbox switched profile, from the referee's record of every rate decision (each
 * request the provider received, admitted or answered 429) since the switch.
 *
 * Adaptation, defined on arrivals (admitted + 429: a refused request arrived all the same):
 * a window is any half-open span [s, s + 1000 ms) with s at or after the switch. The fleet has
 * adapted at t* = the earliest instant from which every window starting at or after it holds at
 * most the new limit. Only windows that start on an arrival can hold the most, so t* is one
 * millisecond after the last arrival whose window [a, a + 1000) holds more than the limit — or the
 * switch itself when no window after it does. `adaptationMs` = t* − switch.
 */

/** One request the provider decided on (the referee's `decisions`), on the sandbox's clock. */
export interface ArrivalRecord {
  atMs: number;
  admitted: boolean;
}

export interface AdaptationFigures {
  /** The new limit (requests per second, every class together). */
  limitPerSecond: number;
  /** Requests that reached the provider from the switch to the end of the load, and the 429s among them. */
  arrivals: number;
  upstream429: number;
  /** Windows (starting on an arrival) after the switch that held more than the limit. */
  overLimitWindows: number;
  /** Most arrivals in any 1000 ms window starting at or after the switch. */
  maxInAnySecond: number;
  /** t* − switch (see above); 0 when no window after the switch held more than the limit. */
  adaptationMs: number;
  /**
   * At least one whole window fits between t* and the end of the load: otherwise the fleet was
   * still above the limit when the load stopped, and `adaptationMs` is only a lower bound.
   */
  settled: boolean;
  /** Admitted per second from t* to the end of the load, and that ÷ the limit (the pause after the switch included). */
  admittedPerSecondAfter: number;
  utilizationAfter: number;
}

const WINDOW_MS = 1000;

/**
 * `arrivals` since the switch (any order; those outside [switchAtMs, endAtMs) are ignored),
 * `endAtMs`: when the load stopped; all on one clock.
 */
export function adaptationFigures(
  arrivals: readonly ArrivalRecord[],
  switchAtMs: number,
  endAtMs: number,
  limitPerSecond: number,
): AdaptationFigures {
  const inPhase = arrivals.filter((a) => a.atMs >= switchAtMs && a.atMs < endAtMs).sort((a, b) => a.atMs - b.atMs);
  let overLimitWindows = 0;
  let maxInAnySecond = 0;
  let lastOverLimitStartMs: number | undefined;
  // Two pointers: `end` is the first arrival at or after the window that starts at arrival `start`.
  let end = 0;
  for (let start = 0; start < inPhase.length; start++) {
    const fromMs = inPhase[start]!.atMs;
    while (end < inPhase.length && inPhase[end]!.atMs < fromMs + WINDOW_MS) end++;
    const count = end - start;
    maxInAnySecond = Math.max(maxInAnySecond, count);
    if (count > limitPerSecond) {
      overLimitWindows++;
      lastOverLimitStartMs = fromMs;
    }
  }
  const adaptedAtMs = lastOverLimitStartMs === undefined ? switchAtMs : lastOverLimitStartMs + 1;
  const afterMs = Math.max(0, endAtMs - adaptedAtMs);
  const admittedAfter = inPhase.filter((a) => a.admitted && a.atMs >= adaptedAtMs).length;
  const admittedPerSecondAfter = afterMs > 0 ? admittedAfter / (afterMs / 1000) : Number.NaN;
  return {
    limitPerSecond,
    arrivals: inPhase.length,
    upstream429: inPhase.filter((a) => !a.admitted).length,
    overLimitWindows,
    maxInAnySecond,
    adaptationMs: adaptedAtMs - switchAtMs,
    settled: adaptedAtMs + WINDOW_MS <= endAtMs,
    admittedPerSecondAfter,
    utilizationAfter: admittedPerSecondAfter / limitPerSecond,
  };
}
