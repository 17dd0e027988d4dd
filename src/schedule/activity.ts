/**
 * What one schedule (account, class) did on this replica, for the status page: sends per second,
 * the requests waiting for a slot now, upstream refusals. Recorded where the schedule already
 * counts (a grant released, a wait begun and ended, a 429 observed): a few field writes each.
 */
import { PerSecondCounts } from '../shared/per-second-counts';

/** Seconds of send history kept per schedule (the status page's chart). */
export const ACTIVITY_HISTORY_SECONDS = 61;

interface Waiter {
  readonly sinceMs: number;
}

export class ScheduleActivity {
  /** Requests released on their slot (a `ready` wait): what this replica sent on this schedule. */
  readonly sends = new PerSecondCounts(ACTIVITY_HISTORY_SECONDS);
  private readonly waiting = new Set<Waiter>();
  upstreamRefusals = 0;
  lastRefusalAtMs?: number;

  beginWait(nowMs: number): Waiter {
    const waiter = { sinceMs: nowMs };
    this.waiting.add(waiter);
    return waiter;
  }

  endWait(waiter: Waiter): void {
    this.waiting.delete(waiter);
  }

  refused(nowMs: number): void {
    this.upstreamRefusals += 1;
    this.lastRefusalAtMs = nowMs;
  }

  waitingCount(): number {
    return this.waiting.size;
  }

  /** When the longest-waiting request began waiting; undefined when none waits. */
  oldestWaitSinceMs(): number | undefined {
    let oldest: number | undefined;
    for (const w of this.waiting) if (oldest === undefined || w.sinceMs < oldest) oldest = w.sinceMs;
    return oldest;
  }
}
