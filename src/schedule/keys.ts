import type { ScheduleClass } from './types';

/**
 * Redis keys of one schedule. Everything between `{` and `}` is the Cluster hash tag, so the state,
 * the calendar and the caller index of a schedule live in one slot and one script can touch them all.
 */
export interface ScheduleKeys {
  /** `<prefix>:{acct:<account>:<class>}`: identifies the schedule in logs, tickets and pub/sub. */
  readonly id: string;
  /** Hash: grid, floor (pause), shift, epoch, per-caller fairness state. */
  readonly state: string;
  /** Sorted set: reserved slot times (ms), the last second kept for feedback. */
  readonly calendar: string;
  /**
   * Sorted set: each known caller, scored by when its status next changes (+activeUntil while it counts
   * in the weights, −forgetAt after), so a reservation reads only the callers whose time has come.
   */
  readonly callers: string;
}

/** Account ids come from validated config, but a `{`, `}` or `:` here must never move the hash tag. */
export function encodeKeyPart(value: string): string {
  return value.replace(/[^A-Za-z0-9_.-]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
}

export function scheduleKeys(prefix: string, accountId: string, scheduleClass: ScheduleClass): ScheduleKeys {
  const id = `${prefix}:{acct:${encodeKeyPart(accountId)}:${scheduleClass}}`;
  return { id, state: `${id}:s`, calendar: `${id}:cal`, callers: `${id}:who` };
}

/** The pub/sub channel on which shifts (pauses) are announced to every replica. */
export function shiftChannel(prefix: string): string {
  return `${prefix}:shift`;
}

/** The pub/sub channel on which a replica sure of a fixed-window phase (or unsure again) tells the others. */
export function phaseChannel(prefix: string): string {
  return `${prefix}:phase`;
}
