/**
 * Which grid a schedule runs on, from what its phase learner knows (docs/rate-schedule.md §4c):
 *
 * - `fixed`: the provider counts in fixed windows whose phase is known to ± u. A grid of spacing
 *   I = W / L holds exactly L points in every window; anchored just after the latest the boundary
 *   can be, each window's L slots sit inside it and a send may be late by up to
 *   I − 2u − guard − ANCHOR_TOLERANCE_MS and still be counted in its own window: 100 % of the limit.
 *   (A rate below W / L cannot keep an anchored grid in step with the windows, so s_fixed = 1: the
 *   margin for lateness comes from the place of the slots inside the window, not from the rate.)
 * - `learning`: counts fell between sends (a boundary was seen) and the learner is not sure yet:
 *   the sliding-safe rate, nudged to a count per window whose places around the boundary keep
 *   changing, so the brackets narrow (`learningRatePerSecond`).
 * - `sliding-safe`: today's schedule: L × safety, no anchor.
 */
import { ANCHOR_TOLERANCE_MS } from './calendar';
import { anchorAfterBoundary, learningRatePerSecond, type WindowPhase } from './window-phase';

export type GridKind = 'sliding-safe' | 'learning' | 'fixed';

export interface GridChoice {
  kind: GridKind;
  intervalMs: number;
  /** On the store's clock; only for `fixed`. */
  anchorMs?: number;
  /** How late after its slot a request may still be released. */
  sendToleranceMs: number;
}

export interface GridInputs {
  /** The provider's limit per window. */
  limitPerWindow: number;
  windowMs: number;
  safety: number;
  /** The sliding-safe schedule's release tolerance (configured or half its send budget). */
  slidingToleranceMs: number;
  /** A configured release tolerance caps the fixed grid's too. */
  configuredToleranceMs?: number;
  /** The learner's phase, when confident. */
  phase?: WindowPhase;
  /** The learner saw a boundary and has not given up on a fixed window. */
  learning: boolean;
  /** Now on the store's clock, so the anchor is a nearby time. */
  storeNowMs: number;
  /** How far this replica's view of the store's clock may be off. */
  clockUncertaintyMs: number;
}

/** Kept between the latest possible boundary and the first slot, beyond the clock and anchor tolerances. */
const BOUNDARY_GUARD_MS = 1;
/** Below this a release tolerance would call most releases late: the fixed grid is not worth it. */
const MIN_FIXED_TOLERANCE_MS = 2;

export function chooseGrid(inputs: GridInputs): GridChoice {
  const sliding: GridChoice = {
    kind: 'sliding-safe',
    intervalMs: inputs.windowMs / (inputs.limitPerWindow * inputs.safety),
    sendToleranceMs: inputs.slidingToleranceMs,
  };
  if (inputs.phase !== undefined) {
    const intervalMs = inputs.windowMs / inputs.limitPerWindow;
    // Another replica's grid may sit ANCHOR_TOLERANCE_MS either side of ours: it must still start after the boundary.
    const guardMs = ANCHOR_TOLERANCE_MS + inputs.clockUncertaintyMs + BOUNDARY_GUARD_MS;
    const latenessBudgetMs = intervalMs - 2 * inputs.phase.uncertaintyMs - guardMs - ANCHOR_TOLERANCE_MS;
    // Half for the release, half for what follows it (our proxy, the network), as on the sliding-safe grid.
    const toleranceMs = Math.min(latenessBudgetMs / 2, inputs.configuredToleranceMs ?? Infinity);
    if (toleranceMs >= MIN_FIXED_TOLERANCE_MS)
      return {
        kind: 'fixed',
        intervalMs,
        anchorMs: anchorAfterBoundary(inputs.phase, inputs.windowMs, guardMs, inputs.storeNowMs),
        sendToleranceMs: toleranceMs,
      };
  }
  if (inputs.learning) {
    const perWindow = learningRatePerSecond(inputs.limitPerWindow * inputs.safety);
    return { ...sliding, kind: 'learning', intervalMs: inputs.windowMs / perWindow };
  }
  return sliding;
}
