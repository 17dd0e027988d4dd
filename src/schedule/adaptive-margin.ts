/**
 * Adaptive safety margin (issue #15): size a schedule's safety from the send delays this replica
 * measures instead of a fixed 0.95. Slots `I` apart sent up to τ late stay under the limit while
 * τ ≤ W × (1/safety − 1) (`sendBudgetMs`), so the safety that just covers a measured delay D is
 * W / (W + D). Pure apart from the samples it holds; the clock is passed in.
 */
import { DEFAULT_SAFETY, sendBudgetMs } from './intervals';
import { SampleWindow } from './sample-window';

/** The provider's window: limits are "per second". */
const WINDOW_MS = 1000;

/** The operator's bounds of an adaptive safety (policy `safety: auto` or `safety: { min, max }`). */
export interface SafetyBounds {
  readonly min: number;
  readonly max: number;
}

/** Never closer to the limit than this, whatever was measured: 5 ms of send budget is left at the very least. */
export const MAX_ADAPTIVE_SAFETY = 0.995;
/** `safety: auto`: the floor when the operator names none (111 ms of send budget). */
export const DEFAULT_SAFETY_BOUNDS: SafetyBounds = Object.freeze({ min: 0.9, max: MAX_ADAPTIVE_SAFETY });

export interface AdaptiveMarginTuning {
  /** Samples older than this no longer describe the machine. */
  windowMs: number;
  /** At most this many recent samples per stream (a ring). */
  maxSamples: number;
  /** Below this many release samples in the window, the starting safety holds (warm-up). */
  minSamples: number;
  /** The percentile of each delay that must fit the budget. */
  quantile: number;
  /** Safety changes in these steps (see `nextSafety`). */
  step: number;
  /** A raise needs the higher target to hold this long… */
  raiseHoldMs: number;
  /**
   * …and to gain at least this much. Every change re-grids the shared calendar after its tail, and
   * under saturation (a queue as long as the callers' deadlines) that costs about 12–15 slots
   * (measured at 30/s with 2 s deadlines): a gain of 0.25 % (0.075 slots/s) would take minutes to
   * pay that back, 1 % about 40 s.
   */
  raiseMinGain: number;
  /** A lowering by one step needs the lower target to hold this long; by two steps or more it is immediate. */
  lowerHoldMs: number;
  /** Headroom on the measured delay: × factor, + ms. */
  headroomFactor: number;
  headroomMs: number;
  /**
   * The part of the path this replica cannot measure: from the request's first byte leaving to the
   * provider counting it (one-way network jitter). 2 ms: loopback or a LAN. A provider across a WAN
   * needs a fixed safety, or a lower `max`.
   */
  networkSpreadMs: number;
  /** Re-evaluate at most this often (sorting the samples is not for every request). */
  evaluateEveryMs: number;
}

export const ADAPTIVE_MARGIN_DEFAULTS: AdaptiveMarginTuning = Object.freeze({
  windowMs: 30_000,
  maxSamples: 1024,
  minSamples: 50,
  quantile: 0.99,
  step: 0.0025,
  raiseHoldMs: 5_000,
  raiseMinGain: 0.01,
  lowerHoldMs: 1_000,
  headroomFactor: 1.25,
  headroomMs: 1,
  networkSpreadMs: 2,
  evaluateEveryMs: 500,
});

/** The safety that keeps `delayMs` of lateness inside the send budget: W / (W + D). */
export function safetyForDelay(delayMs: number): number {
  return WINDOW_MS / (WINDOW_MS + Math.max(0, delayMs));
}

/** Down to a multiple of `step` (never up: rounding up would spend budget that was not measured). */
export function quantiseDown(safety: number, step: number): number {
  // The epsilon keeps 0.9925 / 0.0025 from landing on 396.99999 and dropping a step.
  // toFixed: 397 × 0.0025 is 0.9925000000000001 in binary, and logs and metrics should say 0.9925.
  return Number((Math.floor(safety / step + 1e-9) * step).toFixed(6));
}

/** A valid bound pair, or a message saying what is wrong (for the policy and the schedule's own checks). */
export function safetyBoundsProblem(bounds: SafetyBounds): string | undefined {
  if (!(bounds.min > 0 && bounds.min <= 1)) return `min must be in (0, 1], got ${bounds.min}`;
  if (!(bounds.max > 0 && bounds.max <= MAX_ADAPTIVE_SAFETY))
    return `max must be in (0, ${MAX_ADAPTIVE_SAFETY}], got ${bounds.max}`;
  if (bounds.min > bounds.max) return `min (${bounds.min}) must not exceed max (${bounds.max})`;
  return undefined;
}

/** What one evaluation found: the delay that must fit, and the safety it asks for (bounded, quantised). */
export interface MarginTarget {
  releaseLateMs: number;
  wireDelayMs: number;
  neededMs: number;
  safety: number;
}

export interface MarginChange {
  from: number;
  to: number;
  target: MarginTarget;
}

/**
 * One schedule's margin on this replica. Two delay streams, each as a high percentile over a recent
 * window: release lateness (slot → the waiter released) and release → wire (the forwarder's last
 * check, just before the first byte). Their percentiles are added: at least the percentile of the
 * sum, so on the safe side.
 *
 * Why quantised and with hysteresis: the interval is shared by every replica of the schedule, and
 * the Redis script re-grids whenever a reservation asks for another interval. Replicas measuring
 * slightly different delays must not alternate the grid on every request, so the safety moves in
 * steps of `step`, a raise needs `raiseMinGain` of room held for `raiseHoldMs` (and then takes the lowest
 * target seen meanwhile). A lowering — the measured delay no longer fits — is immediate when it is
 * two steps or more; one step (within the headroom) must hold for `lowerHoldMs`, so one late release
 * does not flip the fleet's grid. Every change still costs a re-grid: `fleet-safety.ts` keeps the
 * replicas on one value.
 */
export class AdaptiveMargin {
  private readonly releaseLate: SampleWindow;
  private readonly wireDelay: SampleWindow;
  private safetyNow: number;
  private lastEvaluatedAtMs = -Infinity;
  /** Since when every evaluation asked for at least `raiseMinGain` more, and the lowest it asked for. */
  private raise?: { sinceMs: number; lowest: number };
  /** Since when every evaluation asked for one step less. */
  private lowerSinceMs?: number;
  private lastTarget?: MarginTarget;

  constructor(
    readonly bounds: SafetyBounds,
    private readonly tuning: AdaptiveMarginTuning = ADAPTIVE_MARGIN_DEFAULTS,
  ) {
    const problem = safetyBoundsProblem(bounds);
    if (problem !== undefined) throw new RangeError(`adaptive safety: ${problem}`);
    this.releaseLate = new SampleWindow(tuning.maxSamples);
    this.wireDelay = new SampleWindow(tuning.maxSamples);
    // Starting safe: the fixed default until the samples say otherwise.
    this.safetyNow = clamp(DEFAULT_SAFETY, bounds);
  }

  get safety(): number {
    return this.safetyNow;
  }

  /** Latest release after a slot that still fits: the budget less what the network may add after the wire. */
  get sendToleranceMs(): number {
    return this.sendToleranceFor(this.safetyNow);
  }

  /** The same for the safety in force, which may be the fleet's (lower) one. */
  sendToleranceFor(safety: number): number {
    return Math.max(MIN_SEND_TOLERANCE_MS, sendBudgetMs(safety) - this.tuning.networkSpreadMs);
  }

  /** The last evaluation, for logs and tests. */
  get target(): MarginTarget | undefined {
    return this.lastTarget;
  }

  /** Slot → release, ms (≥ 0). Late wake-ups that were held back count too: they are the tail. */
  recordReleaseLate(atMs: number, lateMs: number): void {
    this.releaseLate.add(atMs, Math.max(0, lateMs));
  }

  /** Release → the request's first byte about to leave, ms (≥ 0). */
  recordWireDelay(atMs: number, delayMs: number): void {
    this.wireDelay.add(atMs, Math.max(0, delayMs));
  }

  /** Re-evaluates at most every `evaluateEveryMs`; answers the change when the safety moved. */
  evaluate(nowMs: number): MarginChange | undefined {
    if (nowMs - this.lastEvaluatedAtMs < this.tuning.evaluateEveryMs) return undefined;
    this.lastEvaluatedAtMs = nowMs;
    const sinceMs = nowMs - this.tuning.windowMs;
    this.releaseLate.dropBefore(sinceMs);
    this.wireDelay.dropBefore(sinceMs);
    if (this.releaseLate.size < this.tuning.minSamples) return undefined;
    const target = this.targetFor(
      this.releaseLate.quantile(this.tuning.quantile),
      this.wireDelay.size === 0 ? 0 : this.wireDelay.quantile(this.tuning.quantile),
    );
    this.lastTarget = target;
    const next = this.nextSafety(target.safety, nowMs);
    if (next === this.safetyNow) return undefined;
    const change = { from: this.safetyNow, to: next, target };
    this.safetyNow = next;
    return change;
  }

  private targetFor(releaseLateMs: number, wireDelayMs: number): MarginTarget {
    const t = this.tuning;
    const neededMs = (releaseLateMs + wireDelayMs) * t.headroomFactor + t.headroomMs + t.networkSpreadMs;
    const safety = clamp(quantiseDown(safetyForDelay(neededMs), t.step), this.bounds);
    return { releaseLateMs, wireDelayMs, neededMs, safety };
  }

  private nextSafety(target: number, nowMs: number): number {
    const step = this.tuning.step;
    if (target < this.safetyNow - step / 2) {
      this.raise = undefined;
      if (target < this.safetyNow - 1.5 * step) {
        this.lowerSinceMs = undefined;
        return target;
      }
      this.lowerSinceMs ??= nowMs;
      if (nowMs - this.lowerSinceMs < this.tuning.lowerHoldMs) return this.safetyNow;
      this.lowerSinceMs = undefined;
      return target;
    }
    this.lowerSinceMs = undefined;
    if (target < this.safetyNow + this.tuning.raiseMinGain - step / 2) {
      this.raise = undefined;
      return this.safetyNow;
    }
    if (this.raise === undefined) {
      this.raise = { sinceMs: nowMs, lowest: target };
      return this.safetyNow;
    }
    this.raise.lowest = Math.min(this.raise.lowest, target);
    if (nowMs - this.raise.sinceMs < this.tuning.raiseHoldMs) return this.safetyNow;
    const raised = this.raise.lowest;
    this.raise = undefined;
    return raised;
  }
}

/** Below this a timer's own resolution would call most releases late (as `sendToleranceMs` in intervals.ts). */
const MIN_SEND_TOLERANCE_MS = 2;

function clamp(safety: number, bounds: SafetyBounds): number {
  return Math.min(bounds.max, Math.max(bounds.min, safety));
}
