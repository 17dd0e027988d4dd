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

export class RateLimiter {
  private readonly windows: RateWindows;

  constructor(private readonly settings: RateLimitSettings) {
    this.windows = createWindows(settings.window, settings.windowPhaseMs);
  }

  tryAdmit(keyId: string, operationClass: OperationClass, nowMs: number): RateDecision {
    const bucket = PROFILE_DEFINITIONS[this.settings.profile].bucketFor(operationClass);
    const limitPerSecond = this.settings.limitsPerSecond[bucket];
    if (limitPerSecond === undefined)
      throw new Error(`rate-limit: no ${bucket} limit in the ${this.settings.profile} profile`);
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

  reset(): void {
    this.windows.reset();
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
