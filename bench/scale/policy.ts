/**
 * The scale bench's plan and policy (pure): `callers` callers spread round-robin over `accounts`
 * accounts, each account with its own upstream key (a sandbox key made up for the run, reaching the
 * gateways as an environment variable: secrets by reference only), every account with the same high
 * limits. The auth section and the token claims are the fleet bench's.
 */
import { BENCH_AUTH_YAML } from '../fleet/policy';

export interface ScaleAccount {
  id: string;
  /** The environment variable holding its upstream key. */
  keyEnv: string;
}

export interface ScaleCaller {
  /** The token `sub` and the policy's caller name. */
  id: string;
  account: string;
}

export interface ScalePlan {
  accounts: ScaleAccount[];
  callers: ScaleCaller[];
}

export const accountId = (i: number) => `acct-${i + 1}`;
export const callerId = (i: number) => `caller-${i + 1}`;
export const accountKeyEnv = (i: number) => `SCALE_BENCH_KEY_${i + 1}`;

/** Caller i belongs to account i mod `accounts`: request n (caller n mod callers) spreads evenly over the accounts. */
export function planScale(callers: number, accounts: number): ScalePlan {
  return {
    accounts: Array.from({ length: accounts }, (_, i) => ({ id: accountId(i), keyEnv: accountKeyEnv(i) })),
    callers: Array.from({ length: callers }, (_, i) => ({ id: callerId(i), account: accountId(i % accounts) })),
  };
}

/** Accounts that get traffic: fewer callers than accounts leave the rest idle. */
export const activeAccounts = (plan: ScalePlan) => new Set(plan.callers.map((c) => c.account)).size;

export interface ScalePolicySettings {
  upstreamBaseUrl: string;
  readPerSecond: number;
  writePerSecond: number;
  maxWaitMs: number;
  plan: ScalePlan;
}

export function scalePolicyYaml(settings: ScalePolicySettings): string {
  const accounts = settings.plan.accounts.map((a) => `  ${a.id}: { apiKey: { env: ${a.keyEnv} } }`).join('\n');
  const callers = settings.plan.callers
    .map((c) => `  ${c.id}: { account: ${c.account}, scopes: [catalog:read], maxWaitMs: ${settings.maxWaitMs} }`)
    .join('\n');
  return `# Written by npm run bench:scale; deleted with its temporary directory.
listen: { host: 127.0.0.1, port: 0, adminPort: 0 }
upstream: { baseUrl: "${settings.upstreamBaseUrl}", timeoutMs: 10000, maxSockets: 64 }
accounts:
${accounts}
limits:
  default: { read: ${settings.readPerSecond}, write: ${settings.writePerSecond} }
${BENCH_AUTH_YAML}callers:
${callers}
`;
}

/** The sandbox's extra keys (STRETTCH_SANDBOX_KEYS): one owner key per account, on one team. */
export function sandboxKeyList(keys: readonly string[]): string {
  return keys.map((key) => `${key}:team-scale:owner`).join(',');
}
