/**
 * The policy as the request path sees it: the caller a token's subject names, resolved once per
 * request, carrying everything later steps need (its grants included, so authorizing it does not
 * look the policy up again).
 */
import { accountForCaller, callerForSubject, type CallerGrants } from './policy';
import type { Policy } from './policy/types';
import type { AccountQuotas, LeastPrivilegePolicy } from './least-privilege/types';

/** What the request path needs to know about a configured caller. */
export interface CallerAccess {
  callerId: string;
  accountId: string;
  /** The real upstream key of the caller's account; never logged. */
  apiKey: string;
  /** Its scopes, for `authorize`. */
  grants: CallerGrants;
  /** How the caller shares the account's rate schedule. */
  weight: number;
  maxWaitMs: number;
  reservedShare: number;
  maxQueued: number;
  requestsPerMinute?: number;
  /** Constraints, ownership, quotas and shadow mode (issue #7). */
  leastPrivilege: LeastPrivilegePolicy;
  accountQuotas?: AccountQuotas;
}

/**
 * Built by the composition root from the loaded configuration, so a reload swaps one object and
 * in-flight requests keep the one they started with.
 */
export interface AccessControl {
  callerFor(subject: string): CallerAccess | undefined;
}

export function accessControlFor(policy: Policy): AccessControl {
  return {
    callerFor(subject) {
      const caller = callerForSubject(policy, subject);
      if (!caller) return undefined;
      const account = accountForCaller(policy, caller);
      return {
        callerId: caller.id,
        accountId: account.id,
        apiKey: account.apiKey,
        grants: { grants: caller.grants, missingScopeHints: caller.missingScopeHints },
        weight: caller.weight,
        maxWaitMs: caller.maxWaitMs,
        reservedShare: caller.reservedShare,
        maxQueued: caller.maxQueued,
        requestsPerMinute: caller.requestsPerMinute,
        leastPrivilege: caller.leastPrivilege,
        accountQuotas: account.quotas,
      };
    },
  };
}
