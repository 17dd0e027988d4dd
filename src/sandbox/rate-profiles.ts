/**
 * The provider's two published rate-limit regimes (NOTES.md §4, api-introduction.txt):
 * - `launch` (2026-04-13 .. 04-17, still in SKILL.md): 30 reads/s and 5 writes/s per key, headers
 *   `x-ratelimit-*-second`;
 * - `current` (since 2026-04-17): 2 requests/s per key for everything, headers `x-ratelimit-*`.
 */
import type { OperationClass } from '../catalog/catalog';

export const RATE_PROFILES = ['launch', 'current'] as const;
export type RateProfile = (typeof RATE_PROFILES)[number];

/** A counter the limiter keeps per key: one per class in `launch`, one shared in `current`. */
export type RateBucket = 'read' | 'write' | 'all';

export interface RateHeaderNames {
  limit: string;
  remaining: string;
  reset: string;
}

export interface ProfileDefinition {
  bucketFor(operationClass: OperationClass): RateBucket;
  defaultLimitsPerSecond: Partial<Record<RateBucket, number>>;
  headers: RateHeaderNames;
}

export const PROFILE_DEFINITIONS: Readonly<Record<RateProfile, ProfileDefinition>> = Object.freeze({
  launch: {
    bucketFor: (operationClass: OperationClass): RateBucket => operationClass,
    defaultLimitsPerSecond: { read: 30, write: 5 },
    headers: {
      limit: 'x-ratelimit-limit-second',
      remaining: 'x-ratelimit-remaining-second',
      reset: 'x-ratelimit-reset-second',
    },
  },
  current: {
    bucketFor: (): RateBucket => 'all',
    defaultLimitsPerSecond: { all: 2 },
    headers: { limit: 'x-ratelimit-limit', remaining: 'x-ratelimit-remaining', reset: 'x-ratelimit-reset' },
  },
});

/** Option names for overriding the numbers, by the bucket they set. */
export const LIMIT_OPTION_BUCKETS = { readPerSecond: 'read', writePerSecond: 'write', allPerSecond: 'all' } as const;
export type LimitOverrides = Partial<Record<keyof typeof LIMIT_OPTION_BUCKETS, number>>;

/** The profile's defaults with overrides applied; an override for a bucket the profile lacks is a problem. */
export function resolveLimits(
  profile: RateProfile,
  overrides: LimitOverrides = {},
): { ok: true; limitsPerSecond: Partial<Record<RateBucket, number>> } | { ok: false; problems: string[] } {
  const limitsPerSecond = { ...PROFILE_DEFINITIONS[profile].defaultLimitsPerSecond };
  const problems: string[] = [];
  for (const [name, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    const bucket = LIMIT_OPTION_BUCKETS[name as keyof typeof LIMIT_OPTION_BUCKETS];
    if (!bucket) problems.push(`limits.${name}: unknown limit`);
    else if (!(bucket in limitsPerSecond))
      problems.push(`limits.${name}: the ${profile} profile has no ${bucket} limit`);
    else limitsPerSecond[bucket] = value;
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, limitsPerSecond };
}
