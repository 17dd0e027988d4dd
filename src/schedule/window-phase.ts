/**
 * Learns where a fixed-window provider's windows start (DESIGN §4b, issue #15): pure, fed with
 * (send time, the answer's used count) pairs on the schedule's clock.
 *
 * Evidence: within one provider window the count only grows, so two sends ordered in time whose
 * answers show the later one with a count clearly lower than the earlier one's were counted in two
 * windows — a boundary lies between them. "Clearly": a sliding window's count falls too, as older
 * sends leave it, but by at most the sends that can arrive in a span as long as the gap plus their
 * lateness (`mostSlidingDrop`), less the later send itself; only a larger fall is a boundary's. Each
 * such pair brackets the boundary; the phase is the intersection of the brackets modulo the window,
 * which narrows as sends fall at varied places around the boundary (the sliding-safe grid does not
 * divide the window, and dispatch jitters).
 *
 * Only positive evidence is used: a count that rose does not prove "same window" when other
 * replicas share the key. A sliding-window provider's count never falls by more than the bound, so
 * it gives no brackets (and the odd one from a send later than `lateMs` contradicts the next); a
 * provider that moves its phase contradicts the arc twice in a row and it is learnt again (one
 * contradiction alone is taken for noise).
 */

export interface PhaseObservation {
  /** When the request left, on the schedule's clock (the store's: Redis `TIME` in shared mode). */
  sentAtMs: number;
  /** Requests the provider counted in the answer's window: limit − remaining (admitted answers only). */
  used: number;
}

export interface WindowPhase {
  /** A window boundary lies at `phaseMs + k·windowMs` (schedule clock), within ± `uncertaintyMs`. */
  phaseMs: number;
  uncertaintyMs: number;
}

export interface WindowPhaseOptions {
  /** The provider's limit per window: how many sends a window can hold, which bounds a sliding count's fall. */
  limitPerWindow: number;
  /**
   * How much closer than the densest grid (W / L apart) two sends may reach the provider: their
   * release lateness and the way there. Default 60 (the send budget at safety 0.95, 52.6 ms, and some).
   */
  lateMs?: number;
  /** The provider's window. Default 1000. */
  windowMs?: number;
  /** Each bracket is widened by this on both sides: network spread and arrival reordering. Default 1. */
  noiseMs?: number;
  /** Consistent brackets needed before the phase is trusted. Default 6. */
  minBrackets?: number;
  /** Trusted only once the arc is at most this wide (twice the uncertainty). Default 8. */
  maxWidthMs?: number;
}

export interface PhaseLearnerStatus {
  /** Consistent brackets behind the current arc. */
  brackets: number;
  widthMs?: number;
  /** Brackets in a row that contradict the arc (unsure meanwhile). */
  contradictions: number;
  relearns: number;
}

interface Arc {
  loMs: number;
  hiMs: number;
}

/** Answers older than this (in send time) are not paired with a new one: a boundary is likely between. */
const PAIRING_HORIZON_FRACTION = 0.5;
/** Recent observations kept for pairing: answers come back out of send order. */
const KEPT_OBSERVATIONS = 64;
/** Agreeing brackets, with at most this many fresh starts, that make a provider look fixed-window. */
const LOOKS_FIXED_BRACKETS = 3;
const LOOKS_FIXED_MAX_RELEARNS = 1;
/** Contradicting brackets in a row that mean the provider changed (one alone is noise). */
const CONTRADICTIONS_TO_RELEARN = 2;

export class WindowPhaseLearner {
  private readonly limitPerWindow: number;
  private readonly lateMs: number;
  private readonly windowMs: number;
  private readonly noiseMs: number;
  private readonly minBrackets: number;
  private readonly maxWidthMs: number;
  /** Sorted by send time. */
  private recent: PhaseObservation[] = [];
  private arc?: Arc;
  private brackets = 0;
  private dissent: Arc[] = [];
  /** Times the arc was started over since the phase was last trusted: many mean "not a fixed window". */
  private relearns = 0;

  constructor(options: WindowPhaseOptions) {
    if (!(options.limitPerWindow > 0))
      throw new RangeError(`limitPerWindow must be > 0, got ${options.limitPerWindow}`);
    this.limitPerWindow = options.limitPerWindow;
    this.lateMs = options.lateMs ?? 60;
    this.windowMs = options.windowMs ?? 1000;
    this.noiseMs = options.noiseMs ?? 1;
    this.minBrackets = options.minBrackets ?? 6;
    this.maxWidthMs = options.maxWidthMs ?? 8;
  }

  observe(observation: PhaseObservation): void {
    const list = this.recent;
    let i = list.length;
    while (i > 0 && list[i - 1]!.sentAtMs > observation.sentAtMs) i -= 1;
    const before = list[i - 1];
    const after = list[i];
    list.splice(i, 0, observation);
    if (list.length > KEPT_OBSERVATIONS) list.shift();
    if (before !== undefined) this.pair(before, observation);
    if (after !== undefined) this.pair(observation, after);
  }

  /** The phase once enough consistent brackets pinned it narrowly enough; undefined while unsure. */
  estimate(): WindowPhase | undefined {
    const arc = this.arc;
    // One contradicting bracket (a stalled send, a reordered arrival) does not unsettle a phase in
    // use: leaving the fixed grid and coming back costs two re-grids. Two in a row start it over.
    if (arc === undefined || this.brackets < this.minBrackets) return undefined;
    const width = arc.hiMs - arc.loMs;
    if (width > this.maxWidthMs) return undefined;
    return { phaseMs: mod((arc.loMs + arc.hiMs) / 2, this.windowMs), uncertaintyMs: width / 2 };
  }

  /**
   * The provider looks like a fixed-window one: several brackets agree and the arc was hardly ever
   * started over. A sliding-window provider's brackets contradict each other many times a second.
   */
  looksFixed(): boolean {
    return this.brackets >= LOOKS_FIXED_BRACKETS && this.relearns <= LOOKS_FIXED_MAX_RELEARNS;
  }

  /** Progress, for logs and tests. */
  status(): PhaseLearnerStatus {
    const status: PhaseLearnerStatus = {
      brackets: this.brackets,
      contradictions: this.dissent.length,
      relearns: this.relearns,
    };
    if (this.arc !== undefined) status.widthMs = this.arc.hiMs - this.arc.loMs;
    return status;
  }

  /**
   * Another replica is sure of the phase: take it (narrowed by our own brackets where they agree),
   * so the replicas switch grids together instead of one by one. Ignored when we are sure already:
   * narrowing a phase in use moves the anchor, and every move of the anchor costs a re-grid.
   */
  adopt(phase: WindowPhase): void {
    if (this.estimate() !== undefined) return;
    const theirs = { loMs: phase.phaseMs - phase.uncertaintyMs, hiMs: phase.phaseMs + phase.uncertaintyMs };
    const common = this.arc === undefined ? undefined : intersect(this.arc, theirs, this.windowMs);
    this.arc = common ?? theirs;
    this.brackets = Math.max(this.brackets, this.minBrackets);
    this.dissent = [];
    this.relearns = 0;
  }

  forget(): void {
    this.recent = [];
    this.arc = undefined;
    this.brackets = 0;
    this.dissent = [];
    this.relearns = 0;
  }

  private pair(earlier: PhaseObservation, later: PhaseObservation): void {
    const gapMs = later.sentAtMs - earlier.sentAtMs;
    // A wide pair may span two boundaries, or sit anywhere: it says too little.
    if (!(gapMs > 0) || gapMs > this.windowMs * PAIRING_HORIZON_FRACTION) return;
    if (earlier.used - later.used <= this.mostSlidingDrop(gapMs)) return;
    this.addBracket({ loMs: earlier.sentAtMs - this.noiseMs, hiMs: later.sentAtMs + this.noiseMs });
  }

  /**
   * The most a sliding window's count can fall between two sends `gapMs` apart: the sends that
   * left it arrived in a span that long, at most one per W / L once lateness is allowed for, and
   * the later send itself is counted.
   */
  private mostSlidingDrop(gapMs: number): number {
    return Math.floor(((gapMs + this.lateMs) * this.limitPerWindow) / this.windowMs);
  }

  private addBracket(bracket: Arc): void {
    if (this.arc === undefined) {
      this.arc = bracket;
      this.brackets = 1;
      return;
    }
    const agreed = intersect(this.arc, bracket, this.windowMs);
    if (agreed !== undefined) {
      this.arc = agreed;
      this.brackets += 1;
      this.dissent = [];
      if (this.estimate() !== undefined) this.relearns = 0;
      return;
    }
    this.dissent.push(bracket);
    if (this.dissent.length < CONTRADICTIONS_TO_RELEARN) return;
    // The provider's boundaries are elsewhere now: start again from what the dissenters agree on.
    const [first, ...rest] = this.dissent;
    let arc: Arc | undefined = first!;
    for (const b of rest) arc = arc === undefined ? undefined : intersect(arc, b, this.windowMs);
    this.arc = arc ?? this.dissent[this.dissent.length - 1]!;
    this.brackets = arc === undefined ? 1 : this.dissent.length;
    this.dissent = [];
    this.relearns += 1;
  }
}

/** The common part of two arcs (each shorter than half the window) modulo the window, in `a`'s coordinates. */
function intersect(a: Arc, b: Arc, windowMs: number): Arc | undefined {
  // Arcs shorter than half the window that meet have centres less than half a window apart.
  const shift = windowMs * Math.round((a.loMs + a.hiMs - b.loMs - b.hiMs) / 2 / windowMs);
  const lo = Math.max(a.loMs, b.loMs + shift);
  const hi = Math.min(a.hiMs, b.hiMs + shift);
  return lo <= hi ? { loMs: lo, hiMs: hi } : undefined;
}

function mod(x: number, m: number): number {
  return ((x % m) + m) % m;
}

/**
 * The grid anchor that places each window's slots inside it: the first slot `guardMs` after the
 * latest the boundary can be, at or after `nearMs` (so the anchor is a time near now and the
 * calendar's arithmetic stays precise).
 */
export function anchorAfterBoundary(phase: WindowPhase, windowMs: number, guardMs: number, nearMs: number): number {
  const latestBoundary = phase.phaseMs + phase.uncertaintyMs;
  const k = Math.floor((nearMs - latestBoundary) / windowMs);
  return latestBoundary + k * windowMs + guardMs;
}

/**
 * Fractions of slots per window that meet the boundary at enough places: 0.4 at five, 0.9 at ten
 * (a grid with q places narrows the brackets to interval ÷ q; the fixed grid needs half its spacing).
 */
const WELL_SPREAD_FRACTIONS = [0.4, 0.9];
/** A count this close to a whole or a half meets the boundary at only one or two places. */
const NEAR_FEW_PLACES = 0.05;

/**
 * The rate to run at while the phase may be learnt. A grid whose slots per window is close to a
 * whole or a half (19 = 20 × 0.95, 28.5 = 30 × 0.95) meets each boundary at one or two places, so
 * brackets stop narrowing at its spacing or half of it; the next lower count with a well-spread
 * fraction meets it at five or ten (28.4: 0.35 % slower). Counts already spread (4.75, 1.9) are kept.
 */
export function learningRatePerSecond(ratePerSecond: number): number {
  const frac = ratePerSecond - Math.floor(ratePerSecond);
  const fewPlaces = [0, 0.5, 1].some((f) => Math.abs(frac - f) < NEAR_FEW_PLACES);
  if (!fewPlaces) return ratePerSecond;
  const whole = Math.floor(ratePerSecond);
  const candidates = [whole, whole - 1]
    .flatMap((m) => WELL_SPREAD_FRACTIONS.map((f) => m + f))
    .filter((n) => n > 0 && n <= ratePerSecond);
  return candidates.length === 0 ? ratePerSecond : Math.max(...candidates);
}
