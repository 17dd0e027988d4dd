import type { AccountPolicy, CallerPolicy, Policy } from './types';

/** The caller a verified token's `sub` names, if the policy has one. Own keys only. */
export function callerForSubject(policy: Policy, sub: string): CallerPolicy | undefined {
  return Object.hasOwn(policy.callers, sub) ? policy.callers[sub] : undefined;
}

/** The upstream account a caller uses; always present in a resolved policy. */
export function accountForCaller(policy: Policy, caller: CallerPolicy): AccountPolicy {
  const account = Object.hasOwn(policy.accounts, caller.accountId) ? policy.accounts[caller.accountId] : undefined;
  if (!account) throw new Error(`policy: caller ${caller.id} names unknown account ${caller.accountId}`);
  return account;
}
