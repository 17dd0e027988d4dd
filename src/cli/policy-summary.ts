/**
 * The summary `check-config` prints for a valid policy: what it grants to whom, and at what rate.
 * Built from the resolved policy, which holds no secret in an enumerable field; nothing here reads one.
 */
import { describeRule } from '../gateway/policy/caller-rules';
import type { AccountQuotas, LeastPrivilegePolicy } from '../gateway/least-privilege/types';
import type { AccountLimits, CallerPolicy, ListenTlsPolicy, Policy } from '../gateway/policy/types';

const round3 = (value: number) => Math.round(value * 1000) / 1000;

export function describeAccountLimits(limits: AccountLimits): string {
  const { safety } = limits;
  const rates =
    'all' in limits
      ? `all ${limits.all}/s × safety ${safety} = ${round3(limits.all * safety)}/s`
      : `read ${limits.read}/s, write ${limits.write}/s × safety ${safety} = ` +
        `${round3(limits.read * safety)} reads/s, ${round3(limits.write * safety)} writes/s`;
  const adaptive = limits.adaptiveSafety;
  const withSafety =
    adaptive === undefined
      ? rates
      : `${rates} at first; safety adaptive within ${adaptive.min}–${adaptive.max} (sized from measured send delays)`;
  if (limits.auto === undefined) return withSafety;
  const { minPerSecond, maxPerSecond } = limits.auto.bounds;
  return `auto within ${minPerSecond}–${maxPerSecond}/s (follows the provider's headers), initially ${withSafety}`;
}

/**
 * A caller's least-privilege settings in one line (issue #7), e.g.
 * `create(regions, images), upsize(specifications), ownership, quotas(live 5, 10/h), shadow`;
 * undefined when it has none.
 */
export function describeLeastPrivilege(lp: LeastPrivilegePolicy): string | undefined {
  const parts: string[] = [];
  const create = lp.constraints?.create;
  if (create) {
    const fields = (
      [
        ['regions', create.regions],
        ['images', create.images],
        ['specifications', create.specifications],
        ['tags.required', create.requiredTags],
        ['tags.allowed', create.allowedTags],
        ['hostName', create.hostNamePattern],
        ['withPublicIp', create.withPublicIp === false ? false : undefined],
      ] as const
    ).flatMap(([name, value]) => (value !== undefined ? [name] : []));
    if (fields.length > 0) parts.push(`create(${fields.join(', ')})`);
  }
  if (lp.constraints?.upsize?.specifications) parts.push('upsize(specifications)');
  if (lp.ownership) {
    const details = [
      ...(lp.ownership.foreign === 'not-found' ? ['foreign 404'] : []),
      ...(lp.ownership.ownerTag ? ['owner tag'] : []),
    ];
    parts.push(details.length > 0 ? `ownership(${details.join(', ')})` : 'ownership');
  }
  const quotas = [
    ...(lp.quotas?.liveComputes !== undefined ? [`live ${lp.quotas.liveComputes}`] : []),
    ...(lp.quotas?.createsPerHour !== undefined ? [`${lp.quotas.createsPerHour}/h`] : []),
  ];
  if (quotas.length > 0) parts.push(`quotas(${quotas.join(', ')})`);
  if (lp.shadow) parts.push('shadow');
  return parts.length > 0 ? parts.join(', ') : undefined;
}

export function describeAccountQuotas(quotas: AccountQuotas | undefined): string | undefined {
  return quotas?.liveComputes !== undefined ? `quotas(live ${quotas.liveComputes})` : undefined;
}

/** `name  text` rows, the names padded to one column; a row's further lines are aligned under its text. */
function table(title: string, rows: Array<[string, string, ...string[]]>): string {
  const width = Math.max(10, ...rows.map(([name]) => name.length));
  const row = ([name, text, ...more]: [string, string, ...string[]]) =>
    [`  ${name.padEnd(width)}  ${text}\n`, ...more.map((extra) => `  ${''.padEnd(width)}  ${extra}\n`)].join('');
  return `${title} (${rows.length})\n${rows.map(row).join('')}`;
}

/** Paths, not contents; the certificate's expiry when its file was read. */
function describeListenTls(tls: ListenTlsPolicy): string {
  const notAfter = tls.material ? ` (valid until ${new Date(tls.material.certificateNotAfterMs).toISOString()})` : '';
  const clients = tls.clientCaFile ? `; client certificates verified against ${tls.clientCaFile}` : '';
  return `certificate ${tls.certFile}${notAfter}, key ${tls.keyFile}, minimum ${tls.minVersion}${clients}`;
}

function describeAuthentication(caller: CallerPolicy): string {
  const identity = caller.certificate;
  const shown =
    identity === undefined ? '' : 'uri' in identity ? ` uri ${identity.uri}` : ` subject ${identity.subject}`;
  return `${caller.authentication}, certificate${shown}`;
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
  const keySet = auth.keySet;
  const jwks = !keySet
    ? ''
    : keySet.discovery
      ? `; keys by OIDC discovery from ${auth.issuer}`
      : `; JWKS ${keySet.jwksUri ?? ''}`;
  const header =
    `${policy.sourcePath}: valid${options.secretsResolved ? '' : ' in shape and references (secrets not resolved: --no-secrets)'}\n` +
    `  upstream  ${upstream.baseUrl} (timeout ${upstream.timeoutMs} ms)\n` +
    `  listen    ${listen.host}:${listen.port}, admin ${listen.adminHost}:${listen.adminPort}\n` +
    (listen.tls ? `  tls       ${describeListenTls(listen.tls)}\n` : '') +
    `  auth      issuer ${auth.issuer}, audience ${auth.audience}; ${keys}${jwks}\n`;
  const accounts = Object.values(policy.accounts).map((account): [string, string] => {
    const quotas = describeAccountQuotas(account.quotas);
    return [account.id, `${describeAccountLimits(account.limits)}${quotas ? `; ${quotas}` : ''}`];
  });
  const callers = Object.values(policy.callers).map((caller): [string, string, ...string[]] => {
    const quota = caller.requestsPerMinute !== undefined ? `, requestsPerMinute ${caller.requestsPerMinute}` : '';
    const scopes = caller.grants.map((grant) => grant.scope).join(', ');
    const leastPrivilege = describeLeastPrivilege(caller.leastPrivilege);
    const row: [string, string] = [
      caller.id,
      `account ${caller.accountId}, weight ${caller.weight}, maxWaitMs ${caller.maxWaitMs}${quota}; scopes ${scopes}`,
    ];
    // On lines of their own, so the scopes line reads as before.
    const more = [
      ...(caller.match ? [`matched by claim rule: ${describeRule(caller.match)}`] : []),
      ...(caller.authentication !== 'token' ? [`authentication: ${describeAuthentication(caller)}`] : []),
      ...(leastPrivilege ? [`least privilege: ${leastPrivilege}`] : []),
    ];
    return [...row, ...more];
  });
  const scopes = Object.entries(policy.scopes).map(([name, operations]): [string, string] => [
    name,
    operations.join(', ') || '(no operation)',
  ]);
  return `${header}${table('accounts', accounts)}${table('callers', callers)}${table('scopes', scopes)}`;
}
