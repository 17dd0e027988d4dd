/** The schedule's tunable knobs and their defaults, apart from the schedule so settings can read them cheaply. */

export interface FallbackOptions {
  /** Longest wait granted by a local fallback schedule, so its queue is short when Redis returns. Default 500. */
  maxWaitMs: number;
  /** On return to the shared schedule, no new shared slot before now + this (covers replicas that return later).
   * Default 1000. */
  transitionGuardMs: number;
  /** How often a replica in fallback re-tries Redis when the connection looks up. Default 500. */
  probeIntervalMs: number;
}

/**
 * What a deployment may tune (the gateway's settings, `src/gateway/settings.ts`), and the defaults
 * every schedule starts from. The rate itself and its safety factor are the policy's, per account.
 */
export interface ScheduleTuning {
  /** Default per-caller bound on future reservations per schedule. */
  readonly maxQueuedPerCaller: number;
  /** Idle schedules' state expires this long after their last slot. */
  readonly idleTtlMs: number;
  /** Slots of upstream deficit ignored before the schedule slows down (response latency, counting skew). */
  readonly feedbackTolerance: number;
  readonly fallback: Readonly<FallbackOptions>;
  /**
   * How late after its slot a request may still be released, in ms. Absent: half the send budget
   * of each account's safety factor (`sendToleranceMs` in intervals.ts), 26 ms at 0.95.
   */
  readonly sendToleranceMs?: number;
  /**
   * Learn a fixed-window provider's window phase and fill each window once sure (window-phase.ts).
   * Off by default: in bench:fleet it cost a 429 in one run of three and 5–10 points of use while learning.
   */
  readonly learnWindowPhase?: boolean;
  /**
   * Shared mode: from this rate (requests per second after safety) up, a caller sending back to
   * back finds its next slot already reserved, with no round trip before the request (slot-prefetch.ts).
   * 0: never. At a few requests per second a slot lost is too dear; the provider's launch limits never get it.
   */
  readonly prefetchMinRatePerSecond: number;
}

export const SCHEDULE_TUNING_DEFAULTS: ScheduleTuning = Object.freeze({
  maxQueuedPerCaller: 32,
  idleTtlMs: 60_000,
  feedbackTolerance: 2,
  fallback: Object.freeze({ maxWaitMs: 500, transitionGuardMs: 1000, probeIntervalMs: 500 }),
  learnWindowPhase: false,
  prefetchMinRatePerSecond: 1000,
});
