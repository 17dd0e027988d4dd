import type { OperationClass } from '../catalog/catalog';
import type { AccountRateLimits, ScheduleClass } from './types';

/** Milliseconds between two slots: 1000 / (rate × safety). 30/s at 0.95 → 35.09 ms. */
export function intervalMs(ratePerSecond: number, safety: number): number {
  if (!(ratePerSecond > 0) || !Number.isFinite(ratePerSecond)) throw new RangeError(`rate must be > 0, got ${ratePerSecond}`);
  if (!(safety > 0 && safety <= 1)) throw new RangeError(`safety must be in (0, 1], got ${safety}`);
  return 1000 / (ratePerSecond * safety);
}

/** Which schedule a request uses, and the provider's rate for it. */
export function scheduleFor(limits: AccountRateLimits, operationClass: OperationClass): { scheduleClass: ScheduleClass; ratePerSecond: number } {
  if ('all' in limits) return { scheduleClass: 'all', ratePerSecond: limits.all };
  return { scheduleClass: operationClass, ratePerSecond: limits[operationClass] };
}

/**
 * The local rate of one replica while Redis is unreachable. Nominally limit × safety ÷ replicas,
 * but replicas' local schedules are not phase-aligned, so in a 1 s window each can land
 * floor(its rate) + 1 slots; when replicas × that would exceed the limit, each replica is held to
 * floor(limit ÷ replicas) × safety instead. When replicas > limit no per-window guarantee is
 * possible without coordination; the nominal rate is used and the docs say so.
 */
export function fallbackRatePerSecond(limitPerSecond: number, safety: number, expectedReplicas: number): number {
  if (!(expectedReplicas >= 1) || !Number.isInteger(expectedReplicas)) throw new RangeError(`expectedReplicas must be an integer ≥ 1, got ${expectedReplicas}`);
  const divided = (limitPerSecond * safety) / expectedReplicas;
  if (expectedReplicas * (Math.floor(divided) + 1) <= limitPerSecond) return divided;
  const whole = Math.floor(limitPerSecond / expectedReplicas);
  return whole >= 1 ? Math.min(divided, whole * safety) : divided;
}
