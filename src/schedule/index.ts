export {
  createRateSchedule,
  type RateSchedule,
  type RateScheduleOptions,
  type RedisScheduleOptions,
  type FairnessOptions,
  type FallbackOptions,
  type ScheduleStats,
  type ScheduleQueueView,
  type FleetSlots,
  type ObserveOptions,
  type ScheduleWindowPhase,
  type ScheduleLogger,
  type Timers,
} from './rate-schedule';
export { SCHEDULE_TUNING_DEFAULTS, type ScheduleTuning } from './tuning';
export { preciseNow } from './precise-clock';
export { scheduleCommandKinds } from './redis-store';
export { parseRateLimitHeaders, parseResetMs, parseRetryAfterMs, type HeaderBag } from './rate-headers';
export {
  createProtectiveLimits,
  type ProtectiveLimits,
  type ProtectiveLimitsOptions,
  type ProtectiveDecision,
  type BadTokenPolicy,
} from './protective-limits';
export { DEFAULT_SAFETY, intervalMs, fallbackRatePerSecond, scheduleFor } from './intervals';
export { scheduleKeys, encodeKeyPart, shiftChannel, type ScheduleKeys } from './keys';
export type {
  AccountRateLimits,
  GrantedReservation,
  RejectedReservation,
  Reservation,
  ReserveRequest,
  RejectionReason,
  RateLimitReport,
  ScheduleClass,
  ScheduleMode,
  ScheduleState,
  SlotOutcome,
  SlotTicket,
} from './types';
