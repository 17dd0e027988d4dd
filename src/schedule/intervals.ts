import type { OperationClass } from '../catalog/catalog';
import type { AccountRateLimits, ScheduleClass } from './types';

/**
 * The fraction of a provider limit the schedule uses when an account's policy names none: room for
 * dispatch jitter (see `sendBudgetMs`). The one place this default is written.
 */
export const DEFAULT_SAFETY = 0.95;

/** Milliseconds between two slots: 1000 / (rate × safety). 30/s at 0.95 → 35.09 ms. */
export function intervalMs(ratePerSecond: number, safety: number): number {
  if (!(ratePerSecond > 0) || !Number.isFinite(ratePerSecond))
    throw new RangeError(`rate must be > 0, got ${ratePerSecond}`);
  if (!(safety > 0 && safety <= 1)) throw new RangeError(`safety must be in (0, 1], got ${safety}`);
  return 1000 / (ratePerSecond * safety);
}

/** Which schedule a request uses, and the provider's rate for it. */
export function scheduleFor(
  limits: AccountRateLimits,
  operationClass: OperationClass,
): { scheduleClass: ScheduleClass; ratePerSecond: number } {
  if ('all' in limits) return { scheduleClass: 'all', ratePerSecond: limits.all };
  return { scheduleClass: operationClass, ratePerSecond: limits[operationClass] };
}

/** The provider's window: limits are "per second". */
const WINDOW_MS = 1000;

/**
 * How late a send may arrive after its slot and the provider still never sees more than the
 * limit in any window: slots `I = W / (limit × safety)` apart, sent up to τ late, put at most
 * ⌈(W + τ) / I⌉ in a window of length W, which stays ≤ limit while τ ≤ W × (1/safety − 1).
 * 52.6 ms at safety 0.95; 0 at safety 1 (no room for any lateness).
 */
export function sendBudgetMs(safety: number): number {
  if (!(safety > 0 && safety <= 1)) throw new RangeError(`safety must be in (0, 1], got ${safety}`);
  return WINDOW_MS * (1 / safety - 1);
}

/**
 * How late a replica may release a request after its slot: half the send budget, the other half
 * left for what happens after the release (our proxy, the network to the provider). A later wake-up
 * (a stalled event loop, a slow reply) takes a new slot instead of going out late.
 */
export function sendToleranceMs(safety: number): number {
  return Math.max(MIN_SEND_TOLERANCE_MS, sendBudgetMs(safety) / 2);
}

/**
 * The release tolerance of a grid of slots `gridIntervalMs` apart for `ratePerSecond`: that of the
 * safety the spacing amounts to (`L·I − W` of budget, half of it for the release).
 */
export function gridSendToleranceMs(ratePerSecond: number, gridIntervalMs: number): number {
  return sendToleranceMs(Math.min(1, WINDOW_MS / (ratePerSecond * gridIntervalMs)));
}

/** Below this a timer's own resolution would call most releases late. */
const MIN_SEND_TOLERANCE_MS = 2;

/**
 * The local rate of one replica while Redis is unreachable. Replicas' local schedules are not
 * phase-aligned, so each is held to its whole share `n = floor(limit ÷ replicas)` of every window,
 * with room for late sends: slots `(W + 2τ) / n` apart (τ = the send budget) put at most
 * ⌈(W + τ) / I⌉ < n sends in any window even when each is τ late, and the margin of another τ
 * covers what the local schedules do not see of each other. Never above the nominal
 * limit × safety ÷ replicas. When replicas > limit no per-window guarantee is possible without
 * coordination; the nominal rate is used and the docs say so.
 */
export function fallbackRatePerSecond(limitPerSecond: number, safety: number, expectedReplicas: number): number {
  if (!(expectedReplicas >= 1) || !Number.isInteger(expectedReplicas))
    throw new RangeError(`expectedReplicas must be an integer ≥ 1, got ${expectedReplicas}`);
  const nominal = (limitPerSecond * safety) / expectedReplicas;
  const perReplica = Math.floor(limitPerSecond / expectedReplicas);
  if (perReplica < 1) return nominal;
  const guaranteed = (perReplica * WINDOW_MS) / (WINDOW_MS + 2 * sendBudgetMs(safety));
  return Math.min(nominal, guaranteed);
}
