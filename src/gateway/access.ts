import type { OperationId } from '../catalog/catalog';
import type { AccountQuotas, LeastPrivilegePolicy } from './least-privilege/types';

/** What the request path needs to know about a configured caller. */
export interface CallerAccess {
  callerId: string;
  accountId: string;
  /** The real upstream key of the caller's account; never logged. */
  apiKey: string;
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

export type AccessDecision = { allowed: true; grantedBy: string } | { allowed: false; missingScope: string };

/**
 * The policy as the request path sees it. The composition root builds it from the loaded
 * configuration, so a reload swaps one object and in-flight requests keep the one they started with.
 */
export interface AccessControl {
  callerFor(subject: string): CallerAccess | undefined;
  authorize(callerId: string, tokenScopes: readonly string[] | undefined, operationId: OperationId): AccessDecision;
}
