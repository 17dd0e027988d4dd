import {
  applyUpstreamCounts,
  expiresAt,
  newCalendarState,
  pauseUntil,
  raiseFloor,
  reserveSlot,
  scheduleInfo,
  applyRefusal,
  type CalendarReply,
  type CalendarReserveInput,
  type CalendarState,
  type UpstreamCounts,
  type UpstreamRefusal,
} from './calendar';
import type { ScheduleKeys } from './keys';
import type { ScheduleStore, ShiftReply } from './store';

export interface MemoryScheduleStoreOptions {
  now: () => number;
  /** Idle schedules are dropped this long after their last slot, like the Redis keys' PEXPIRE. */
  idleTtlMs: number;
  /** Distinguishes this store's epochs from another's (e.g. 'mem', 'fallback'). */
  epochPrefix: string;
}

/** The calendar in this process: the embedded default (no Redis) and the outage fallback. */
export class MemoryScheduleStore implements ScheduleStore {
  private readonly states = new Map<string, { state: CalendarState; expiresAtMs: number }>();
  private epochs = 0;
  private calls = 0;

  constructor(private readonly options: MemoryScheduleStoreOptions) {}

  /** Synchronous core, for callers that must not yield between reading and using a reply. */
  reserveNow(keys: ScheduleKeys, input: CalendarReserveInput): CalendarReply {
    const now = this.options.now();
    const entry = this.entry(keys, now);
    const reply = reserveSlot(entry.state, now, input);
    entry.expiresAtMs = expiresAt(entry.state, now, this.options.idleTtlMs);
    return reply;
  }

  reserve(keys: ScheduleKeys, input: CalendarReserveInput): Promise<CalendarReply> {
    return Promise.resolve(this.reserveNow(keys, input));
  }

  pauseNow(keys: ScheduleKeys, delayMs: number): ShiftReply {
    return this.mutate(keys, (state, now) => pauseUntil(state, now, now + delayMs));
  }

  pause(keys: ScheduleKeys, delayMs: number): Promise<ShiftReply> {
    return Promise.resolve(this.pauseNow(keys, delayMs));
  }

  refusedNow(keys: ScheduleKeys, intervalMs: number, refusal: UpstreamRefusal): ShiftReply {
    return this.mutate(keys, (state, now) => applyRefusal(state, now, intervalMs, refusal));
  }

  refused(keys: ScheduleKeys, intervalMs: number, refusal: UpstreamRefusal): Promise<ShiftReply> {
    return Promise.resolve(this.refusedNow(keys, intervalMs, refusal));
  }

  report(keys: ScheduleKeys, counts: UpstreamCounts, tolerance: number): Promise<ShiftReply> {
    return Promise.resolve(this.mutate(keys, (state, now) => applyUpstreamCounts(state, now, counts, tolerance)));
  }

  seedNow(keys: ScheduleKeys, floorOffsetMs: number, guardMs: number): ShiftReply {
    return this.mutate(keys, (state, now) => {
      raiseFloor(state, now + Math.max(floorOffsetMs, guardMs));
      return 0;
    });
  }

  seed(keys: ScheduleKeys, floorOffsetMs: number, guardMs: number): Promise<ShiftReply> {
    return Promise.resolve(this.seedNow(keys, floorOffsetMs, guardMs));
  }

  /** Read-only view for tests and diagnostics. */
  inspect(keys: ScheduleKeys): Readonly<CalendarState> | undefined {
    return this.states.get(keys.id)?.state;
  }

  clear(): void {
    this.states.clear();
  }

  private mutate(keys: ScheduleKeys, apply: (state: CalendarState, now: number) => number): ShiftReply {
    const now = this.options.now();
    const entry = this.entry(keys, now);
    const shiftedMs = apply(entry.state, now);
    entry.expiresAtMs = expiresAt(entry.state, now, this.options.idleTtlMs);
    return { shiftedMs, ...scheduleInfo(entry.state, now) };
  }

  private entry(keys: ScheduleKeys, now: number): { state: CalendarState; expiresAtMs: number } {
    this.calls += 1;
    if (this.calls % 1024 === 0) this.sweep(now);
    let entry = this.states.get(keys.id);
    if (entry !== undefined && entry.expiresAtMs <= now) entry = undefined;
    if (entry === undefined) {
      this.epochs += 1;
      entry = {
        state: newCalendarState(`${this.options.epochPrefix}-${this.epochs}`),
        expiresAtMs: now + this.options.idleTtlMs,
      };
      this.states.set(keys.id, entry);
    }
    return entry;
  }

  private sweep(now: number): void {
    for (const [id, entry] of this.states) if (entry.expiresAtMs <= now) this.states.delete(id);
  }
}
