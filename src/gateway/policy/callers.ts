import { ruleMatches } from './caller-rules';
import type { AccountPolicy, CallerPolicy, Policy } from './types';

/** The caller configured under this name, if any. Own keys only. */
export function callerForSubject(policy: Policy, sub: string): CallerPolicy | undefined {
  return Object.hasOwn(policy.callers, sub) ? policy.callers[sub] : undefined;
}

/** Which caller a verified token is, and how it was found. */
export type CallerMatch =
  | { kind: 'name'; caller: CallerPolicy }
  | { kind: 'rule'; caller: CallerPolicy }
  | { kind: 'none' }
  /** Two or more rules match: refused rather than guessed (the loader refuses rules it can see overlap). */
  | { kind: 'ambiguous'; callerIds: string[] };

/**
 * The caller of a verified token: a caller without a rule whose name is the token's `sub` wins;
 * otherwise the one caller whose `match` rule the token satisfies. Deny by default.
 */
export function callerForToken(
  policy: Policy,
  subject: string,
  claims: Readonly<Record<string, unknown>>,
): CallerMatch {
  const named = callerForSubject(policy, subject);
  if (named && named.match === undefined) return { kind: 'name', caller: named };
  const matching = Object.values(policy.callers).filter(
    (caller) => caller.match !== undefined && ruleMatches(caller.match, subject, claims),
  );
  if (matching.length === 1) return { kind: 'rule', caller: matching[0]! };
  if (matching.length === 0) return { kind: 'none' };
  return { kind: 'ambiguous', callerIds: matching.map((caller) => caller.id) };
}

/** The upstream account a caller uses; always present in a resolved policy. */
export function accountForCaller(policy: Policy, caller: CallerPolicy): AccountPolicy {
  const account = Object.hasOwn(policy.accounts, caller.accountId) ? policy.accounts[caller.accountId] : undefined;
  if (!account) throw new Error(`policy: caller ${caller.id} names unknown account ${caller.accountId}`);
  return account;
}
