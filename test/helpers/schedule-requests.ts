/** What the schedule's fake-timer unit tests share: a grant asserted, and reservation requests built from defaults. */
import type { GrantedReservation, Reservation, ReserveRequest } from '../../src/schedule';

export function granted(r: Reservation): GrantedReservation {
  if (r.kind !== 'granted') throw new Error(`expected a grant, got ${JSON.stringify(r)}`);
  return r;
}

/** A read of caller `svc` on account `prod`, weight 1, waiting at most `maxWaitMs`; each call may override. */
export function requestsWaitingAtMost(maxWaitMs: number) {
  return (overrides: Partial<ReserveRequest> = {}): ReserveRequest => ({
    accountId: 'prod',
    operationClass: 'read',
    callerId: 'svc',
    weight: 1,
    maxWaitMs,
    ...overrides,
  });
}
