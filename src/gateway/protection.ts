import type { RedisConnection } from '../redis';
import { createProtectiveLimits, type ProtectiveLimits } from '../schedule';
import type { Protection } from './pipeline';
import type { Policy } from './policy/types';

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
  const allowed = { allowed: true } as const;
  return {
    checkSource: (sourceId) => sources.checkSource(sourceId),
    recordBadToken: (sourceId) => sources.recordBadToken(sourceId),
    consumeCaller: async (caller) => {
      const limiter = caller.requestsPerMinute === undefined ? undefined : quotas.get(caller.requestsPerMinute);
      return limiter ? limiter.consumeCaller(caller.callerId) : allowed;
    },
  };
}
