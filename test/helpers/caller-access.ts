/** A resolved caller for unit tests of the request path: no grants, defaults for the schedule. */
import type { CallerAccess } from '../../src/gateway/access';
import type { LeastPrivilegePolicy } from '../../src/gateway/least-privilege/types';

export function callerAccess(leastPrivilege: LeastPrivilegePolicy = { shadow: false }): CallerAccess {
  return {
    callerId: 'svc',
    accountId: 'acct',
    grants: { grants: [], missingScopeHints: {} },
    apiKey: 'k',
    weight: 1,
    maxWaitMs: 1000,
    reservedShare: 0,
    maxQueued: 32,
    leastPrivilege,
  };
}
