/**
 * `limits: auto`: what an upstream answer says about the provider's limits, and whether to adopt it.
 * Pure: the gateway's follower (`src/gateway/provider-limits.ts`) holds the state, shares it and acts.
 *
 * Rules (issue #15):
 * - the header family tells the class structure: `x-ratelimit-limit-second` is one limit per class,
 *   `x-ratelimit-limit` one limit for every request (`all`);
 * - what is proposed is clamped into the operator's bounds;
 * - a lowering (no class may send more than before) is adopted at once: it is always safe;
 * - a 429 whose headers show another structure is adopted at once: the old one is being refused;
 * - a raise needs confirmation: the same proposal again at least `confirmMs` after it was first seen,
 *   with nothing else in between, so an answer decided before a change (still in flight) cannot undo it.
 */
import type { OperationClass } from '../catalog/catalog';
import type { RateLimitReport } from './types';

/** The provider's limits of one account in requests per second, before the safety factor. */
export type ProviderRates = { readonly read: number; readonly write: number } | { readonly all: number };

/** The operator's bounds on any adopted limit, per second. */
export interface LimitBounds {
  readonly minPerSecond: number;
  readonly maxPerSecond: number;
}

export interface LimitObservation {
  readonly operationClass: OperationClass;
  readonly family: 'per-class' | 'shared';
  readonly limitPerSecond: number;
  /** The answer was a 429. */
  readonly refused: boolean;
}

/** A raise seen once, waiting for its confirmation. */
export interface PendingRaise {
  readonly rates: ProviderRates;
  readonly firstSeenAtMs: number;
}

export type AdoptionReason = 'lower' | 'refused' | 'confirmed';

export type AdoptionDecision =
  | { readonly kind: 'keep' }
  | { readonly kind: 'await-confirmation'; readonly pending: PendingRaise }
  | { readonly kind: 'adopt'; readonly rates: ProviderRates; readonly reason: AdoptionReason };

/** A raise is confirmed by an answer this long after the first (one provider window). */
export const RAISE_CONFIRM_MS = 1000;

/** What an answer's headers tell, when they name a limit (a 0 limit is not a limit one can schedule under). */
export function observationFrom(
  operationClass: OperationClass,
  report: RateLimitReport,
  status: number,
): LimitObservation | undefined {
  if (report.family === undefined || report.limit === undefined || !(report.limit > 0)) return undefined;
  return { operationClass, family: report.family, limitPerSecond: report.limit, refused: status === 429 };
}

export function rateFor(rates: ProviderRates, operationClass: OperationClass): number {
  return 'all' in rates ? rates.all : rates[operationClass];
}

export function sameRates(a: ProviderRates, b: ProviderRates): boolean {
  if ('all' in a || 'all' in b) return 'all' in a && 'all' in b && a.all === b.all;
  return a.read === b.read && a.write === b.write;
}

export function describeRates(rates: ProviderRates): string {
  return 'all' in rates ? `all ${rates.all}/s` : `read ${rates.read}/s, write ${rates.write}/s`;
}

export function clampRates(rates: ProviderRates, bounds: LimitBounds): ProviderRates {
  const clamp = (n: number) => Math.min(bounds.maxPerSecond, Math.max(bounds.minPerSecond, n));
  return 'all' in rates ? { all: clamp(rates.all) } : { read: clamp(rates.read), write: clamp(rates.write) };
}

/**
 * The limits an observation proposes. A per-class answer names one class; the other keeps its
 * current limit, or the initial one when the current limits are shared (the provider said nothing of it).
 */
export function proposedRates(
  current: ProviderRates,
  initial: ProviderRates,
  observation: LimitObservation,
  bounds: LimitBounds,
): ProviderRates {
  if (observation.family === 'shared') return clampRates({ all: observation.limitPerSecond }, bounds);
  const base = 'all' in current ? initial : current;
  const other: OperationClass = observation.operationClass === 'read' ? 'write' : 'read';
  const otherRate = 'all' in base ? bounds.minPerSecond : base[other];
  const perClass =
    observation.operationClass === 'read'
      ? { read: observation.limitPerSecond, write: otherRate }
      : { read: otherRate, write: observation.limitPerSecond };
  return clampRates(perClass, bounds);
}

/** No class may send more under `next` than under `current`. */
export function isLowering(current: ProviderRates, next: ProviderRates): boolean {
  return (['read', 'write'] as const).every((c) => rateFor(next, c) <= rateFor(current, c));
}

export function decideAdoption(input: {
  current: ProviderRates;
  initial: ProviderRates;
  pending: PendingRaise | undefined;
  observation: LimitObservation;
  bounds: LimitBounds;
  nowMs: number;
}): AdoptionDecision {
  const { current, pending, observation, nowMs } = input;
  const proposed = proposedRates(current, input.initial, observation, input.bounds);
  if (sameRates(proposed, current)) return { kind: 'keep' };
  const structureChanged = 'all' in proposed !== 'all' in current;
  if (observation.refused && structureChanged) return { kind: 'adopt', rates: proposed, reason: 'refused' };
  if (isLowering(current, proposed)) return { kind: 'adopt', rates: proposed, reason: 'lower' };
  if (pending !== undefined && sameRates(pending.rates, proposed)) {
    if (nowMs - pending.firstSeenAtMs >= RAISE_CONFIRM_MS)
      return { kind: 'adopt', rates: proposed, reason: 'confirmed' };
    return { kind: 'await-confirmation', pending };
  }
  return { kind: 'await-confirmation', pending: { rates: proposed, firstSeenAtMs: nowMs } };
}
