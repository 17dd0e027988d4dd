/**
 * Which grid a schedule runs on, from what its phase learner knows (docs/rate-schedule.md §4c):
 *
 * - `fixed`: the provider counts in fixed windows whose boundary is known to lie in [lo, hi]
 *   (modulo the window). A grid of spacing I = W / L holds exactly L points in every window;
 *   anchored `guard` (2 ms) after `hi`, each window's L slots sit inside it, and a slot may be sent late by
 *   up to (the earliest the next boundary can be − the slot) and still be counted in its own window:
 *   100 % of the limit. Half of that is the release tolerance, half is left for the way to the
 *   provider, as on the sliding-safe grid. (A rate below W / L cannot keep an anchored grid in step
 *   with the windows, so s_fixed = 1: the room for lateness comes from where the slots sit inside
 *   the window, not from the rate.)
 * - `learning`: counts fell between sends (a boundary was seen) and the learner is not sure yet:
 *   the sliding-safe rate, nudged to a count per window whose places around the boundary keep
 *   changing, so the brackets narrow (`learningRatePerSecond`).
 * - `sliding-safe`: today's schedule: L × safety, no anchor.
 */
import { anchorAfterBoundary, learningRatePerSecond, type WindowPhase } from './window-phase';

export type GridKind = 'sliding-safe' | 'learning' | 'fixed';

export interface GridChoice {
  kind: GridKind;
  intervalMs: number;
  /** On the store's clock; only for `fixed`. */
  anchorMs?: number;
  /** Another replica's grid this much after our anchor is kept (calendar `anchorSlackMs`). */
  anchorSlackMs?: number;
  /** The windows the anchor sits in, for a re-grid onto it (calendar `anchorWindow`). */
  anchorWindow?: { windowMs: number; leadMs: number };
  /** How late after a slot (store clock) its request may still be released. */
  sendToleranceMs(slotStoreMs: number): number;
}

export interface GridInputs {
  /** The provider's limit per window. */
  limitPerWindow: number;
  windowMs: number;
  safety: number;
  /** The sliding-safe schedule's release tolerance (configured or half its send budget); caps the fixed grid's. */
  slidingToleranceMs: number;
  /** How late a send of the sliding-safe schedule may reach the provider (release and way). */
  slidingLateMs: number;
  /** The learner's phase, when confident. */
  phase?: WindowPhase;
  /** The learner saw a boundary and has not given up on a fixed window. */
  learning: boolean;
  /** Now on the store's clock, so the anchor is a nearby time. */
  storeNowMs: number;
  /** How far this replica's view of the store's clock may be off. */
  clockUncertaintyMs: number;
}

/**
 * Kept between the latest possible boundary and the first slot: 1 ms, plus room for this replica's
 * view of the store's clock being off (its uncertainty, a fraction of a millisecond near Redis). A
 * constant, not the uncertainty itself: that changes with every clock sample, and an anchor that
 * moves by a fraction of a millisecond re-grids the shared calendar (and loses its free slots).
 */
const BOUNDARY_GUARD_MS = 2;
/** Beyond this clock uncertainty the guard does not cover it: no fixed grid (nor a shared answer). */
export const MAX_CLOCK_UNCERTAINTY_MS = 1;
/** Below this a release tolerance would call most releases late: the fixed grid is not worth it. */
const MIN_FIXED_TOLERANCE_MS = 2;

export function chooseGrid(inputs: GridInputs): GridChoice {
  const slidingTolerance = inputs.slidingToleranceMs;
  const sliding: GridChoice = {
    kind: 'sliding-safe',
    intervalMs: inputs.windowMs / (inputs.limitPerWindow * inputs.safety),
    sendToleranceMs: () => slidingTolerance,
  };
  const phase = inputs.phase;
  if (phase !== undefined) {
    const intervalMs = inputs.windowMs / inputs.limitPerWindow;
    const guardMs = BOUNDARY_GUARD_MS;
    // The last slot of a window on our own anchor may be this late (release and way together).
    const budgetMs = intervalMs - 2 * phase.uncertaintyMs - guardMs;
    if (budgetMs / 2 >= MIN_FIXED_TOLERANCE_MS && inputs.clockUncertaintyMs <= MAX_CLOCK_UNCERTAINTY_MS) {
      const earliestBoundaryMs = phase.phaseMs - phase.uncertaintyMs;
      return {
        kind: 'fixed',
        intervalMs,
        anchorMs: anchorAfterBoundary(phase, inputs.windowMs, guardMs, inputs.storeNowMs),
        // Another replica's grid up to half our budget later still leaves a quarter of it for the release.
        anchorSlackMs: budgetMs / 2,
        // A window may begin guard + the bracket's width before its first point, and an old
        // sliding-safe slot from before it arrive in it late: counted in it on a re-grid.
        anchorWindow: {
          windowMs: inputs.windowMs,
          leadMs: guardMs + 2 * phase.uncertaintyMs + inputs.slidingLateMs,
        },
        sendToleranceMs: (slotStoreMs) => {
          const nextBoundaryMs =
            earliestBoundaryMs +
            Math.ceil((slotStoreMs - earliestBoundaryMs) / inputs.windowMs + 1e-9) * inputs.windowMs;
          return Math.max(0, Math.min(slidingTolerance, (nextBoundaryMs - slotStoreMs) / 2));
        },
      };
    }
  }
  if (inputs.learning) {
    const perWindow = learningRatePerSecond(inputs.limitPerWindow * inputs.safety);
    return { ...sliding, kind: 'learning', intervalMs: inputs.windowMs / perWindow };
  }
  return sliding;
}
