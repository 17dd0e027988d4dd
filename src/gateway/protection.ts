import type { RedisConnection } from '../redis';
import { createProtectiveLimits, type ProtectiveDecision, type ProtectiveLimits } from '../schedule';
import type { CallerAccess } from './access';
import { deny, PASSED, type Checked } from './checked';
import type { Policy } from './policy/types';

/** Protective limits, before and around authentication. A refusal is a ready 429. */
export interface Protection {
  /** Is this client address locked out after repeated bad tokens? */
  checkSource(sourceId: string): Promise<Checked>;
  recordBadToken(sourceId: string): Promise<unknown>;
  /** Counts a request against the caller's per-minute quota, when it has one. */
  consumeCaller(caller: CallerAccess): Promise<Checked>;
}

/** The limiter's decision as a check of the request path, its refusal a 429 with Retry-After. */
function checked(decision: ProtectiveDecision, reason: string): Checked {
  if (decision.allowed) return PASSED;
  const retryAfterSeconds = Math.max(1, Math.ceil(decision.retryAfterMs / 1000));
  return deny({ code: 'TOO_MANY_REQUESTS', headers: { 'retry-after': String(retryAfterSeconds) }, reason });
}

/**
 * Protective limits from the policy: a source lockout after repeated bad tokens (when configured)
 * and per-caller request quotas. Callers share one limiter per distinct quota, so the number of
 * limiters is bounded by the policy, not by traffic.
 */
export function protectionFor(
  policy: Policy,
  redis: RedisConnection | undefined,
  onError: (error: unknown) => void,
): Protection {
  const shared = redis ? { connection: redis } : undefined;
  const sources = createProtectiveLimits({
    badTokens: policy.protection.badTokens,
    redis: shared && { ...shared, keyPrefix: 'sg-pl-src' },
    onError,
  });
  const quotas = new Map<number, ProtectiveLimits>();
  for (const caller of Object.values(policy.callers)) {
    const perMinute = caller.requestsPerMinute;
    if (perMinute !== undefined && !quotas.has(perMinute)) {
      quotas.set(
        perMinute,
        createProtectiveLimits({
          callerRequestsPerMinute: perMinute,
          redis: shared && { ...shared, keyPrefix: `sg-pl-q${perMinute}` },
          onError,
        }),
      );
    }
  }
  return {
    checkSource: async (sourceId) => checked(await sources.checkSource(sourceId), 'source-locked-out'),
    recordBadToken: (sourceId) => sources.recordBadToken(sourceId),
    consumeCaller: async (caller) => {
      const limiter = caller.requestsPerMinute === undefined ? undefined : quotas.get(caller.requestsPerMinute);
      return limiter ? checked(await limiter.consumeCaller(caller.callerId), 'caller-quota') : PASSED;
    },
  };
}
