/**
 * The policy as the request path sees it: the caller a token's subject names, resolved once per
 * request, carrying everything later steps need (its grants included, so authorizing it does not
 * look the policy up again).
 */
import type { VerifiedClaims } from './auth';
import { accountForCaller, callerForToken, type CallerGrants } from './policy';
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
  /** The caller a verified token is: by its `sub`, or by the one claim rule it satisfies. */
  callerFor(claims: VerifiedClaims): CallerLookup;
}

/** A denial is a value: no caller, or more than one rule matched (refused, never guessed). */
export type CallerLookup =
  | { ok: true; caller: CallerAccess; matchedBy: 'name' | 'rule' }
  | { ok: false; reason: 'unknown-caller' | 'ambiguous-caller' };

export function accessControlFor(policy: Policy): AccessControl {
  return {
    callerFor(claims) {
      const match = callerForToken(policy, claims.sub, claims.payload);
      if (match.kind === 'none') return { ok: false, reason: 'unknown-caller' };
      if (match.kind === 'ambiguous') return { ok: false, reason: 'ambiguous-caller' };
      const { caller } = match;
      const account = accountForCaller(policy, caller);
      const access: CallerAccess = {
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
      return { ok: true, caller: access, matchedBy: match.kind };
    },
  };
}
