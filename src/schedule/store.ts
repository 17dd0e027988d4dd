import type { CalendarReply, CalendarReserveInput, ScheduleInfo, UpstreamCounts, UpstreamRefusal } from './calendar';
import type { ScheduleKeys } from './keys';

export type ShiftReply = { shiftedMs: number } & ScheduleInfo;

/**
 * Where a schedule's state lives: Redis (shared by all replicas) or this process's memory.
 * Both run the calendar algorithm; times in replies are offsets from the store's own clock.
 * The Redis store rejects with `StoreUnavailableError` only; the memory store never rejects.
 */
export interface ScheduleStore {
  reserve(keys: ScheduleKeys, input: CalendarReserveInput): Promise<CalendarReply>;
  /** Pause for `delayMs` from the store's now: queued slots move, new ones start after. */
  pause(keys: ScheduleKeys, delayMs: number): Promise<ShiftReply>;
  /** An upstream 429: one slot given up, or the provider window's reset awaited (see `applyRefusal`). */
  refused(keys: ScheduleKeys, intervalMs: number, refusal: UpstreamRefusal): Promise<ShiftReply>;
  /** Upstream remaining/limit: give up slots when the provider has less room than we expect. */
  report(keys: ScheduleKeys, counts: UpstreamCounts, tolerance: number): Promise<ShiftReply>;
  /** No new slot before now + max(floorOffsetMs, guardMs). */
  seed(keys: ScheduleKeys, floorOffsetMs: number, guardMs: number): Promise<ShiftReply>;
}
