/**
 * The referee's handle, for embedding code (and, over HTTP, `/_sandbox/*`): read the stats, reset
 * the sandbox to its startup state, adjust faults at runtime.
 */
import type { LoopDelayWatch } from '../shared/loop-delay';
import type { ComputeStore } from './computes';
import { faultPatchSchema, type FaultControl, type FaultPatch, type FaultSettings } from './faults';
import type { IdempotencyStore } from './idempotency';
import { SandboxOptionsError } from './options';
import type { RateLimiter } from './rate-limit';
import { RATE_PROFILES, resolveLimits, type LimitOverrides, type RateProfile } from './rate-profiles';
import type { ProfileSwitch, Referee, SandboxStats } from './referee';

export interface SandboxReferee {
  /**
   * `phaseMs` (0-999) recomputes the fixed-window maxima for another phase; `decisionsSinceMs` adds
   * every rate decision (admitted or 429) from that instant on.
   */
  stats(options?: { phaseMs?: number; decisionsSinceMs?: number }): SandboxStats;
  /**
   * Back to the startup state: no computes (ids restart at "1"), no idempotency records, empty rate
   * windows, zeroed stats, timeline, last requests and loop delay, faults and latency as configured
   * at startup. Keys, profile, limits, window model and delays are configuration and stay.
   */
  reset(): void;
  faults(): FaultSettings;
  /** Partial update; throws SandboxOptionsError (with paths) on an invalid patch. */
  setFaults(patch: FaultPatch): FaultSettings;
  /**
   * The provider changes its limits: from the next request on, `profile`'s buckets, numbers
   * (`limits` overrides them as the startup option does) and header family. Throws SandboxOptionsError
   * on an unknown profile or limit. `reset()` restores the startup profile.
   */
  setProfile(profile: RateProfile, limits?: LimitOverrides): ProfileSwitch;
}

export function createReferee(parts: {
  referee: Referee;
  computes: ComputeStore;
  idempotency: IdempotencyStore;
  limiter: RateLimiter;
  faults: FaultControl;
  /** The sandbox's own event-loop delay, reported in the stats and zeroed by a reset. */
  loopDelay: LoopDelayWatch;
  now: () => number;
}): SandboxReferee {
  const { referee, computes, idempotency, limiter, faults, loopDelay } = parts;
  return {
    stats: (options = {}) => {
      const phaseMs = options.phaseMs;
      if (phaseMs !== undefined && !(Number.isInteger(phaseMs) && phaseMs >= 0 && phaseMs <= 999)) {
        throw new SandboxOptionsError(['phaseMs: must be a whole number from 0 to 999']);
      }
      const since = options.decisionsSinceMs;
      if (since !== undefined && !(Number.isInteger(since) && since >= 0)) {
        throw new SandboxOptionsError(['decisionsSinceMs: must be a whole number of milliseconds (Unix time)']);
      }
      return { ...referee.stats(phaseMs, since), loopDelay: loopDelay.read() };
    },
    reset: () => {
      computes.reset();
      idempotency.reset();
      limiter.reset();
      referee.reset();
      faults.reset();
      loopDelay.reset();
    },
    faults: () => faults.get(),
    setFaults: (patch) => {
      const parsed = faultPatchSchema.safeParse(patch);
      if (!parsed.success) {
        throw new SandboxOptionsError(
          parsed.error.issues.map((i) => `${i.path.map(String).join('.') || 'faults'}: ${i.message}`),
        );
      }
      return faults.apply(parsed.data);
    },
    setProfile: (profile, limits = {}) => {
      if (!(RATE_PROFILES as readonly string[]).includes(profile))
        throw new SandboxOptionsError([`profile: must be one of ${RATE_PROFILES.join(', ')}`]);
      const resolved = resolveLimits(profile, limits);
      if (!resolved.ok) throw new SandboxOptionsError(resolved.problems);
      const change = { atMs: parts.now(), profile, limitsPerSecond: resolved.limitsPerSecond };
      limiter.setProfile({ profile, limitsPerSecond: resolved.limitsPerSecond });
      referee.profileSwitched(change);
      return change;
    },
  };
}
