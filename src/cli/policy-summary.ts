/**
 * The summary `check-config` prints for a valid policy: what it grants to whom, and at what rate.
 * Built from the resolved policy, which holds no secret in an enumerable field; nothing here reads one.
 */
import type { AccountLimits, Policy } from '../gateway/policy/types';

const round3 = (value: number) => Math.round(value * 1000) / 1000;

export function describeAccountLimits(limits: AccountLimits): string {
  const { safety } = limits;
  if (limits.kind === 'shared') return `all ${limits.allPerSecond}/s × safety ${safety} = ${round3(limits.allPerSecond * safety)}/s`;
  const reads = round3(limits.readPerSecond * safety);
  const writes = round3(limits.writePerSecond * safety);
  return `read ${limits.readPerSecond}/s, write ${limits.writePerSecond}/s × safety ${safety} = ${reads} reads/s, ${writes} writes/s`;
}

/** `name  text` rows, the names padded to one column. */
function table(title: string, rows: Array<[string, string]>): string {
  const width = Math.max(10, ...rows.map(([name]) => name.length));
  return `${title} (${rows.length})\n${rows.map(([name, text]) => `  ${name.padEnd(width)}  ${text}\n`).join('')}`;
}

export interface SummaryOptions {
  /** False for `--no-secrets`: the policy's keys were not loaded, so they are not listed. */
  secretsResolved: boolean;
}

export function summarizePolicy(policy: Policy, options: SummaryOptions): string {
  const { auth, listen, upstream } = policy;
  const keys = options.secretsResolved
    ? `keys ${auth.keys.map((key) => `${key.kid} (${key.algorithms.join(', ')})`).join(', ') || '(none)'}`
    : 'keys not loaded (--no-secrets)';
  const jwks = auth.jwks ? `; JWKS ${auth.jwks.uri}` : '';
  const header =
    `${policy.sourcePath}: valid${options.secretsResolved ? '' : ' in shape and references (secrets not resolved: --no-secrets)'}\n` +
    `  upstream  ${upstream.baseUrl} (timeout ${upstream.timeoutMs} ms)\n` +
    `  listen    ${listen.host}:${listen.port}, admin port ${listen.adminPort}\n` +
    `  auth      issuer ${auth.issuer}, audience ${auth.audience}; ${keys}${jwks}\n`;
  const accounts = Object.values(policy.accounts).map((account): [string, string] => [account.id, describeAccountLimits(account.limits)]);
  const callers = Object.values(policy.callers).map((caller): [string, string] => {
    const quota = caller.requestsPerMinute !== undefined ? `, requestsPerMinute ${caller.requestsPerMinute}` : '';
    const scopes = caller.grants.map((grant) => grant.scope).join(', ');
    return [caller.id, `account ${caller.accountId}, weight ${caller.weight}, maxWaitMs ${caller.maxWaitMs}${quota}; scopes ${scopes}`];
  });
  const scopes = Object.entries(policy.scopes).map(([name, operations]): [string, string] => [name, operations.join(', ') || '(no operation)']);
  return `${header}${table('accounts', accounts)}${table('callers', callers)}${table('scopes', scopes)}`;
}
