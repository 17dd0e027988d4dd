/**
 * Per-key rate limiting by profile. The decision is a value (admitted or not, with what the
 * headers say); the HTTP edge turns it into headers and, when refused, a 429.
 */
import type { OperationClass } from '../catalog/catalog';
import { PROFILE_DEFINITIONS, type RateBucket, type RateProfile } from './rate-profiles';
import { createWindows, type RateWindows, type WindowModel } from './rate-windows';

export interface RateLimitSettings {
  profile: RateProfile;
  window: WindowModel;
  windowPhaseMs: number;
  limitsPerSecond: Partial<Record<RateBucket, number>>;
}

export interface RateDecision {
  admitted: boolean;
  bucket: RateBucket;
  limitPerSecond: number;
  remaining: number;
  resetAtMs: number;
  /** Only on refusals. */
  retryAfterMs?: number;
}

/** The profile in force and its numbers; switched at runtime by `setProfile` (the provider changing its limits). */
export interface ActiveProfile {
  readonly profile: RateProfile;
  readonly limitsPerSecond: Readonly<Partial<Record<RateBucket, number>>>;
}

export class RateLimiter {
  private readonly windows: RateWindows;
  private active: ActiveProfile;

  constructor(private readonly settings: RateLimitSettings) {
    this.windows = createWindows(settings.window, settings.windowPhaseMs);
    this.active = { profile: settings.profile, limitsPerSecond: settings.limitsPerSecond };
  }

  profile(): ActiveProfile {
    return this.active;
  }

  /**
   * From the next request on, the other regime: its buckets and header family. A bucket the new
   * profile shares with the old (none between launch and current) keeps its window; a new one starts empty.
   */
  setProfile(active: ActiveProfile): void {
    this.active = active;
  }

  tryAdmit(keyId: string, operationClass: OperationClass, nowMs: number): RateDecision {
    const { profile, limitsPerSecond: limits } = this.active;
    const bucket = PROFILE_DEFINITIONS[profile].bucketFor(operationClass);
    const limitPerSecond = limits[bucket];
    if (limitPerSecond === undefined) throw new Error(`rate-limit: no ${bucket} limit in the ${profile} profile`);
    const decision = this.windows.tryAdmit(`${keyId} ${bucket}`, limitPerSecond, nowMs);
    const result: RateDecision = {
      admitted: decision.admitted,
      bucket,
      limitPerSecond,
      remaining: decision.remaining,
      resetAtMs: decision.resetAtMs,
    };
    if (!decision.admitted) result.retryAfterMs = decision.retryAfterMs;
    return result;
  }

  /** Empty windows and the profile configured at startup. */
  reset(): void {
    this.windows.reset();
    this.active = { profile: this.settings.profile, limitsPerSecond: this.settings.limitsPerSecond };
  }
}

/** The profile's header family; `reset` in Unix seconds, `Retry-After` in whole seconds (at least 1). */
export function rateLimitHeaders(profile: RateProfile, decision: RateDecision): Record<string, string> {
  const names = PROFILE_DEFINITIONS[profile].headers;
  const headers: Record<string, string> = {
    [names.limit]: String(decision.limitPerSecond),
    [names.remaining]: String(decision.remaining),
    [names.reset]: String(Math.ceil(decision.resetAtMs / 1000)),
  };
  if (decision.retryAfterMs !== undefined)
    headers['retry-after'] = String(Math.max(1, Math.ceil(decision.retryAfterMs / 1000)));
  return headers;
}
