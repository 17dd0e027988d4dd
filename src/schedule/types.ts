import type { OperationClass } from '../catalog/catalog';
import type { SafetyBounds } from './adaptive-margin';

/** A schedule per (account, class). `all` serves a one-class limit profile (e.g. 2 req/s for everything). */
export type ScheduleClass = OperationClass | 'all';

/**
 * The provider's limits for one account, in requests per second (before the safety factor).
 * `safety`, when given, overrides the schedule-wide factor for this account. `adaptiveSafety`, when
 * given, sizes the safety from the measured send delays within these bounds (`adaptive-margin.ts`);
 * `safety` is then ignored.
 */
export type AccountRateLimits =
  | { readonly read: number; readonly write: number; readonly safety?: number; readonly adaptiveSafety?: SafetyBounds }
  | { readonly all: number; readonly safety?: number; readonly adaptiveSafety?: SafetyBounds };

/** `shared`: the Redis schedule; `fallback`: Redis unreachable, local schedule at rate ÷ replicas; `memory`: no Redis
 * configured. */
export type ScheduleMode = 'shared' | 'fallback' | 'memory';

export type RejectionReason = 'deadline' | 'backlog' | 'paused';

export interface ReserveRequest {
  readonly accountId: string;
  readonly operationClass: OperationClass;
  /** Fairness identity: the authenticated caller. */
  readonly callerId: string;
  /** Share under saturation, relative to the other active callers' weights. > 0. */
  readonly weight: number;
  /** The longest the caller accepts to wait for its slot; a longer wait is rejected and takes no slot. */
  readonly maxWaitMs: number;
  /** Capacity kept for this caller even when others saturate the schedule, as a fraction in [0, 1). */
  readonly reservedShare?: number;
  /** Most reservations this caller may hold in the future on this schedule (defaults to the schedule option). */
  readonly maxQueued?: number;
}

export interface GrantedReservation {
  readonly kind: 'granted';
  /** Wait until the reserved slot, measured when the reply arrived. */
  readonly waitMs: number;
  /** The slot on this process's clock (`now()`); the caller sends at or after it. */
  readonly slotAtMs: number;
  /** The latest release that keeps the provider under its limit (the slot plus the send tolerance); `waitForSlot`
   * answers `late` after it. */
  readonly latestSendAtMs: number;
  /** The request's deadline on this process's clock. */
  readonly deadlineAtMs: number;
  readonly mode: ScheduleMode;
  readonly scheduleClass: ScheduleClass;
  /** The slot came from idle capacity beyond the caller's share (below saturation). */
  readonly idleCapacity: boolean;
  /** Internal: what `waitForSlot` needs to follow later pauses. */
  readonly ticket: SlotTicket;
}

export interface RejectedReservation {
  readonly kind: 'rejected';
  readonly reason: RejectionReason;
  /** When a retry with the same deadline would likely be granted. ≥ 1. */
  readonly retryAfterMs: number;
  readonly mode: ScheduleMode;
  readonly scheduleClass: ScheduleClass;
}

export type Reservation = GrantedReservation | RejectedReservation;

/** Which schedule incarnation granted a slot, and how far it had been shifted then. Opaque to callers. */
export interface SlotTicket {
  readonly scheduleKey: string;
  readonly source: 'shared' | 'local';
  /** Shared: the Redis state's epoch; local: the local state's epoch. */
  readonly epoch: string;
  readonly shiftTotalMs: number;
}

/**
 * What `waitForSlot` answers: go now; too late to go (the wake-up came after the slot's tolerance:
 * take a new slot); or the slot was pushed past the deadline by a pause.
 */
export type SlotOutcome =
  | {
      readonly kind: 'ready';
      readonly waitedMs: number;
      readonly lateMs: number;
      /** When the waiter was released, on `now()`: the forwarder reports its release-to-wire delay from it. */
      readonly releasedAtMs: number;
      /** The latest instant the request may leave: the slot's tolerance, moved with any shift since the grant. */
      readonly sendByMs: number;
    }
  | { readonly kind: 'late'; readonly waitedMs: number; readonly lateMs: number }
  | { readonly kind: 'expired'; readonly retryAfterMs: number }
  | { readonly kind: 'aborted' };

export interface ScheduleState {
  readonly mode: ScheduleMode;
  /** When the current mode began, on `now()`. */
  readonly sinceMs: number;
  /** Why the schedule is in fallback (the store failure's kind and message). */
  readonly reason?: string;
}

/** What an upstream response's rate-limit headers say. */
export interface RateLimitReport {
  /** Pause every replica until then (an upstream 429's Retry-After / reset). */
  pauseUntilMs?: number;
  remaining?: number;
  limit?: number;
  /** The provider window's reset, ms since the epoch, when the headers give one. */
  resetAtMs?: number;
  /**
   * Which header family gave `limit`: `per-class` (`x-ratelimit-*-second`, one limit per class, the launch docs) or
   * `shared` (`x-ratelimit-*`, one limit for every request, the later docs). It tells the class structure.
   */
  family?: 'per-class' | 'shared';
}
