/**
 * Per-caller protective limits, with rate-limiter-flexible: a request quota per caller per minute,
 * and a lockout of a source after repeated bad tokens. These protect the gateway from its callers;
 * the provider's limit is the rate schedule's job (fixed windows do not fit it, DESIGN §4).
 *
 * Memory-backed by default; Redis-backed (shared by replicas) when given a connection, with a
 * memory insurance limiter that answers while Redis is unreachable (then limits are per replica).
 * Denials are values. A limiter failure fails open: these limits are protective, and the rate
 * schedule still guards the upstream.
 */
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { RedisConnection } from '../redis';

export type ProtectiveDecision =
  { readonly allowed: true } | { readonly allowed: false; readonly retryAfterMs: number };

export interface BadTokenPolicy {
  /** This many bad tokens from one source within `windowSec`… */
  maxFailures: number;
  windowSec: number;
  /** …lock the source out for this long. */
  lockoutSec: number;
}

export interface ProtectiveLimitsOptions {
  redis?: { connection: RedisConnection; keyPrefix?: string };
  /** Requests per minute per caller; undefined: no quota. */
  callerRequestsPerMinute?: number;
  /** Undefined: no lockout. */
  badTokens?: BadTokenPolicy;
  /** Told when a limiter fails and the decision fails open. */
  onError?: (error: unknown) => void;
}

export interface ProtectiveLimits {
  /** Counts one request of an authenticated caller against its per-minute quota. */
  consumeCaller(callerId: string): Promise<ProtectiveDecision>;
  /** Is this source (e.g. a client address) locked out? Check before verifying its token. */
  checkSource(sourceId: string): Promise<ProtectiveDecision>;
  /** Counts a bad token from a source; the answer says whether it is now locked out. */
  recordBadToken(sourceId: string): Promise<ProtectiveDecision>;
}

const ALLOWED: ProtectiveDecision = Object.freeze({ allowed: true });

export function createProtectiveLimits(options: ProtectiveLimitsOptions): ProtectiveLimits {
  const prefix = options.redis?.keyPrefix ?? 'pl';
  const make = (name: string, points: number, durationSec: number): RateLimiterAbstract => {
    const base = { keyPrefix: `${prefix}:${name}`, points, duration: durationSec };
    const memory = new RateLimiterMemory(base);
    if (options.redis === undefined) return memory;
    return new RateLimiterRedis({
      ...base,
      storeClient: options.redis.connection.libraryClient(),
      rejectIfRedisNotReady: true,
      insuranceLimiter: memory,
    });
  };
  const quota =
    options.callerRequestsPerMinute === undefined ? undefined : make('caller', options.callerRequestsPerMinute, 60);
  const policy = options.badTokens;
  const failures = policy === undefined ? undefined : make('badtoken', policy.maxFailures, policy.windowSec);

  const failOpen = (error: unknown): ProtectiveDecision => {
    options.onError?.(error);
    return ALLOWED;
  };
  const denied = (res: RateLimiterRes): ProtectiveDecision => ({
    allowed: false,
    retryAfterMs: Math.max(1, Math.ceil(res.msBeforeNext)),
  });

  return {
    async consumeCaller(callerId) {
      if (quota === undefined) return ALLOWED;
      try {
        await quota.consume(callerId);
        return ALLOWED;
      } catch (error) {
        return error instanceof RateLimiterRes ? denied(error) : failOpen(error);
      }
    },
    async checkSource(sourceId) {
      if (failures === undefined || policy === undefined) return ALLOWED;
      try {
        const res = await failures.get(sourceId);
        // block() stores points + 1: only a lockout reads above maxFailures.
        return res !== null && res.consumedPoints > policy.maxFailures ? denied(res) : ALLOWED;
      } catch (error) {
        return failOpen(error);
      }
    },
    async recordBadToken(sourceId) {
      if (failures === undefined || policy === undefined) return ALLOWED;
      try {
        const res = await failures.consume(sourceId);
        if (res.consumedPoints < policy.maxFailures) return ALLOWED;
        return denied(await failures.block(sourceId, policy.lockoutSec));
      } catch (error) {
        // Already locked out (or over the window's count): the rejection carries the time left.
        return error instanceof RateLimiterRes ? denied(error) : failOpen(error);
      }
    },
  };
}
