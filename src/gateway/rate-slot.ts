/**
 * Request-path step 6: take a slot on the shared schedule of (account, class), wait for it, or
 * answer 429 with Retry-After when the wait would pass the caller's deadline. A rejected
 * reservation takes no slot.
 */
import type { Operation } from '../catalog/catalog';
import type { RateSchedule } from '../schedule';
import type { CallerAccess } from './access';
import { pass, type Checked } from './checked';
import type { GatewayRejection } from './errors';
import type { GatewayMetrics } from './observability/metrics';

/** A request may shorten (never lengthen) the caller's configured maximum queue wait. */
export const MAX_WAIT_HEADER = 'x-max-wait-ms';
/** How long the request waited for its slot, on every forwarded response. */
export const QUEUE_WAIT_HEADER = 'x-queue-wait-ms';

/** The caller's longest wait for this request, in ms. */
export function effectiveMaxWaitMs(header: string | string[] | undefined, callerMaxWaitMs: number): Checked<number> {
  if (header === undefined) return pass(callerMaxWaitMs);
  if (typeof header !== 'string' || !/^[0-9]{1,6}$/.test(header)) {
    return {
      ok: false,
      rejection: {
        code: 'BAD_REQUEST',
        publicMessage: 'X-Max-Wait-Ms must be a whole number of milliseconds.',
        reason: 'bad-max-wait',
      },
    };
  }
  return pass(Math.min(Number(header), callerMaxWaitMs));
}

function tooManyRequests(retryAfterMs: number, reason: string): GatewayRejection {
  return {
    code: 'TOO_MANY_REQUESTS',
    publicMessage:
      "The upstream rate limit is saturated beyond this request's deadline; retry after the indicated time.",
    headers: { 'retry-after': String(Math.max(1, Math.ceil(retryAfterMs / 1000))) },
    reason: `schedule-${reason}`,
  };
}

/**
 * `sendByMs`: the latest instant the request may leave (the slot's tolerance), for the forwarder.
 * `late`: the wait ended after that tolerance; the request must not go on this slot.
 */
export type SlotResult =
  | { kind: 'slot'; waitedMs: number; sendByMs: number; releasedAtMs: number }
  | { kind: 'late'; waitedMs: number }
  | { kind: 'rejected'; rejection: GatewayRejection }
  | { kind: 'aborted' };

/** One reservation and its wait. A late wake-up is reported, not retried: the caller takes a new slot. */
export async function awaitRateSlot(
  schedule: RateSchedule,
  metrics: GatewayMetrics,
  caller: CallerAccess,
  operation: Operation,
  maxWaitMs: number,
  signal: AbortSignal,
): Promise<SlotResult> {
  const reservation = await schedule.reserve({
    accountId: caller.accountId,
    operationClass: operation.class,
    callerId: caller.callerId,
    weight: caller.weight,
    maxWaitMs,
    reservedShare: caller.reservedShare,
    maxQueued: caller.maxQueued,
  });
  // The queue is the schedule of (account, class); accounts are the policy's own names, a bounded set.
  const queue = { account: caller.accountId, class: operation.class };
  if (reservation.kind === 'rejected') {
    metrics.scheduleRejections.inc({ ...queue, reason: reservation.reason });
    return { kind: 'rejected', rejection: tooManyRequests(reservation.retryAfterMs, reservation.reason) };
  }
  metrics.scheduleWaiting.inc(queue);
  const outcome = await schedule.waitForSlot(reservation, { signal }).finally(() => metrics.scheduleWaiting.dec(queue));
  if (outcome.kind === 'aborted') return { kind: 'aborted' };
  if (outcome.kind === 'expired') {
    metrics.scheduleRejections.inc({ ...queue, reason: 'paused' });
    return { kind: 'rejected', rejection: tooManyRequests(outcome.retryAfterMs, 'expired') };
  }
  metrics.scheduleDispatchLate.observe(outcome.lateMs / 1000);
  if (outcome.kind === 'late') return { kind: 'late', waitedMs: outcome.waitedMs };
  metrics.queueWait.observe(queue, outcome.waitedMs / 1000);
  // The outcome's sendByMs follows a shift since the grant (a 429 moved the queue): the reservation's
  // own would hold back at the wire every request released on a moved slot.
  return { kind: 'slot', waitedMs: outcome.waitedMs, sendByMs: outcome.sendByMs, releasedAtMs: outcome.releasedAtMs };
}
