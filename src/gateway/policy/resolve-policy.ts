import { OPERATION_IDS, operationById, type OperationId } from '../../catalog/catalog';
import { DEFAULT_SAFETY } from '../../schedule/intervals';
import { DEFAULT_SAFETY_BOUNDS, type SafetyBounds } from '../../schedule/adaptive-margin';
import type { VerificationKey } from '../auth/verification-key';
import { checkReferences, scopeNames } from './check-references';
import { deepFreeze } from './deep-freeze';
import { DEFAULT_SCOPES, defaultScopeFor } from './default-scopes';
import { operationsMatching, scopesMatching } from './patterns';
import { toConfigProblem, type PathedProblem } from './problems';
import { clampRates } from '../../schedule/limit-adoption';
import { resolveVerificationKey } from './resolve-keys';
import { anchorPattern, type ConstraintsDocument } from './least-privilege-schema';
import { DEFAULT_LIMITS_KEY, type CallerDocument, type PolicyDocument } from './schema';
import { headerSafetyProblem, readSecret } from './secrets';
import { resolveListenTls } from './resolve-tls';
import type { CallerMatchRule } from './caller-rules';
import type {
  AccountLimits,
  AccountPolicy,
  CallerPolicy,
  CertificateIdentity,
  ListenTlsPolicy,
  KeySetPolicy,
  Policy,
  PolicyIo,
  PolicyResult,
  ScopeGrant,
} from './types';
import type {
  AccountQuotas,
  CallerConstraints,
  CallerQuotas,
  CreateConstraints,
  LeastPrivilegePolicy,
  UpsizeConstraints,
} from '../least-privilege/types';

/** The launch profile (provider docs, first revision): 30 reads/s and 5 writes/s per key. */
export const DEFAULT_ACCOUNT_LIMITS: AccountLimits = Object.freeze({ read: 30, write: 5, safety: DEFAULT_SAFETY });

export interface ResolveOptions {
  /** Directory that relative file references are resolved against: the policy file's own. */
  baseDir: string;
  sourcePath?: string;
  /**
   * Whether `listen.tls` files are read and checked (default true). False for a policy resolved
   * without its secrets: its TLS section keeps the paths only.
   */
  readTlsFiles?: boolean;
  /** The clock certificates' validity is judged by (default `Date.now`). */
  now?: () => number;
}

export type InternalResolveResult = { ok: true; policy: Policy } | { ok: false; problems: PathedProblem[] };

/** Resolves a shape-valid document: cross-references, secrets and keys. All problems are collected. */
export function resolvePolicy(document: PolicyDocument, io: PolicyIo, options: ResolveOptions): PolicyResult {
  const result = resolvePolicyDocument(document, io, options);
  return result.ok ? result : { ok: false, errors: result.problems.map((p) => toConfigProblem(p)) };
}

/** As resolvePolicy, with structured paths so a caller holding the YAML can attach line numbers. */
export function resolvePolicyDocument(
  document: PolicyDocument,
  io: PolicyIo,
  options: ResolveOptions,
): InternalResolveResult {
  const problems = checkReferences(document);

  const accounts = nullRecord<AccountPolicy>();
  for (const [id, account] of Object.entries(document.accounts)) {
    const at = ['accounts', id, 'apiKey'];
    const read = readSecret(account.apiKey, at, io, options.baseDir);
    if (!read.ok) {
      problems.push(read.problem);
      continue;
    }
    const unsafe = headerSafetyProblem(read.value);
    if (unsafe) {
      problems.push({ at: [...at, account.apiKey.env !== undefined ? 'env' : 'file'], message: unsafe });
      continue;
    }
    accounts[id] = accountPolicy(id, read.value, limitsFor(id, document), accountQuotas(account.quotas));
  }

  const keys: VerificationKey[] = [];
  document.auth.keys.forEach((key, index) => {
    const resolved = resolveVerificationKey(key, ['auth', 'keys', index], io, options.baseDir);
    if (resolved.ok) keys.push(resolved.key);
    else problems.push(...resolved.problems);
  });

  let tls: ListenTlsPolicy | undefined;
  if (document.listen.tls) {
    const resolved = resolveListenTls(document.listen.tls, io, options.baseDir, {
      readFiles: options.readTlsFiles ?? true,
      nowMs: (options.now ?? Date.now)(),
    });
    if (resolved.ok) tls = resolved.tls;
    else problems.push(...resolved.problems);
  }

  if (problems.length > 0) return { ok: false, problems };

  const scopes = expandScopes(document);
  const missingScopeHints = hintsFor(scopes);
  const callers = nullRecord<CallerPolicy>();
  for (const [id, caller] of Object.entries(document.callers)) {
    callers[id] = {
      id,
      accountId: caller.account,
      ...(caller.match ? { match: matchRuleFor(caller.match) } : {}),
      grants: grantsFor(caller.scopes, scopes),
      weight: caller.weight,
      maxWaitMs: caller.maxWaitMs,
      reservedShare: caller.reservedShare,
      maxQueued: caller.maxQueued,
      ...(caller.requestsPerMinute !== undefined ? { requestsPerMinute: caller.requestsPerMinute } : {}),
      missingScopeHints,
      leastPrivilege: leastPrivilegeFor(caller),
      authentication: caller.authentication,
      ...(caller.certificate ? { certificate: certificateIdentity(caller.certificate) } : {}),
    };
  }

  const { auth } = document;
  const { tls: _tlsDocument, ...listenWithoutTls } = document.listen;
  const policy: Policy = {
    sourcePath: options.sourcePath ?? '(inline)',
    listen: { ...listenWithoutTls, ...(tls ? { tls } : {}) },
    upstream: { ...document.upstream, baseUrl: document.upstream.baseUrl.replace(/\/+$/, '') },
    accounts,
    auth: {
      issuer: auth.issuer,
      audience: auth.audience,
      maxTokenLifetimeSec: auth.maxTokenLifetimeSec,
      clockToleranceSec: auth.clockToleranceSec,
      maxTokenBytes: auth.maxTokenBytes,
      keys,
      ...(auth.jwksUrl !== undefined || auth.discovery ? { keySet: keySetFor(auth) } : {}),
    },
    scopes,
    callers,
    protection: document.protection.badTokens ? { badTokens: { ...document.protection.badTokens } } : {},
  };
  return { ok: true, policy: deepFreeze(policy) };
}

function certificateIdentity(document: NonNullable<CallerDocument['certificate']>): CertificateIdentity {
  // The schema guarantees exactly one of the two.
  return document.uri !== undefined ? { uri: document.uri } : { subject: document.subject! };
}

function keySetFor(auth: PolicyDocument['auth']): KeySetPolicy {
  const { jwks } = auth;
  return {
    discovery: auth.discovery,
    ...(auth.jwksUrl !== undefined ? { jwksUri: auth.jwksUrl } : {}),
    allowedJwksHosts: [...jwks.allowedHosts],
    cacheMaxAgeMs: jwks.cacheMaxAgeSec * 1000,
    minRefreshIntervalMs: Math.ceil(60_000 / jwks.requestsPerMinute),
    maxKeys: jwks.maxKeys,
    maxDocumentBytes: jwks.maxBytes,
    timeoutMs: jwks.timeoutMs,
  };
}

function matchRuleFor(match: NonNullable<CallerDocument['match']>): CallerMatchRule {
  return {
    ...(match.subject !== undefined ? { subject: match.subject } : {}),
    // A null-prototype record: a claim path named like an Object method is just a key.
    ...(match.claims ? { claims: Object.assign(nullRecord<string>(), match.claims) } : {}),
  };
}

function nullRecord<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

function accountPolicy(
  id: string,
  apiKey: string,
  limits: AccountLimits,
  quotas: AccountQuotas | undefined,
): AccountPolicy {
  const account = { id, limits, ...(quotas ? { quotas } : {}) } as AccountPolicy;
  Object.defineProperty(account, 'apiKey', { value: apiKey, enumerable: false });
  return account;
}

/** An account's own profile wins; else `limits.default`; else the launch profile. */
function limitsFor(accountId: string, document: PolicyDocument): AccountLimits {
  const fallback = document.limits[DEFAULT_LIMITS_KEY];
  const own = Object.hasOwn(document.limits, accountId) ? document.limits[accountId] : undefined;
  const profile = own ?? fallback;
  if (!profile) return DEFAULT_ACCOUNT_LIMITS;
  const safety = resolveSafety(profile.safety ?? fallback?.safety);
  if (profile.auto === undefined) return toLimits(profile, safety);
  const bounds = { minPerSecond: profile.auto.min, maxPerSecond: profile.auto.max };
  // Until the provider says anything: the given initial limits, else the default profile's, else the launch ones.
  const configured = profile.auto.initial ?? (fallback?.auto === undefined ? fallback : undefined);
  const initial = clampRates(configured ? toLimits(configured, safety) : DEFAULT_ACCOUNT_LIMITS, bounds);
  return { ...initial, ...safety, auto: { bounds } };
}

/** The safety as the schedule takes it: a fixed factor, or adaptive bounds with the factor it starts from. */
type ResolvedSafety = { safety: number; adaptiveSafety?: SafetyBounds };

function resolveSafety(configured: number | 'auto' | { min?: number; max?: number } | undefined): ResolvedSafety {
  if (configured === undefined) return { safety: DEFAULT_ACCOUNT_LIMITS.safety };
  if (typeof configured === 'number') return { safety: configured };
  const bounds = configured === 'auto' ? DEFAULT_SAFETY_BOUNDS : { ...DEFAULT_SAFETY_BOUNDS, ...configured };
  // Starting safe (as the schedule does): the fixed default, within the bounds, until enough delays are measured.
  const start = Math.min(bounds.max, Math.max(bounds.min, DEFAULT_SAFETY));
  return { safety: start, adaptiveSafety: Object.freeze({ min: bounds.min, max: bounds.max }) };
}

function toLimits(profile: { read?: number; write?: number; all?: number }, safety: ResolvedSafety): AccountLimits {
  // The schema guarantees `all` alone, or `read` and `write` together.
  if (profile.all !== undefined) return { all: profile.all, ...safety };
  return { read: profile.read!, write: profile.write!, ...safety };
}

function expandScopes(document: PolicyDocument): Record<string, readonly OperationId[]> {
  const scopes = nullRecord<readonly OperationId[]>();
  for (const name of scopeNames(document)) {
    const patterns = Object.hasOwn(document.scopes, name) ? document.scopes[name]! : DEFAULT_SCOPES[name]!;
    // Keep catalog order so a scope's operations read the same way everywhere.
    const matched = new Set(patterns.flatMap(operationsMatching));
    scopes[name] = OPERATION_IDS.filter((id) => matched.has(id));
  }
  return scopes;
}

function grantsFor(patterns: readonly string[], scopes: Record<string, readonly OperationId[]>): ScopeGrant[] {
  const names = [...new Set(patterns.flatMap((pattern) => scopesMatching(pattern, Object.keys(scopes))))];
  return names.map((scope) => ({ scope, operations: scopes[scope]! }));
}

/**
 * The scope a denial names for each operation: the shipped scope when it (still) grants it, else
 * the first scope by name that does, else the shipped name anyway.
 */
function hintsFor(scopes: Record<string, readonly OperationId[]>): Partial<Record<OperationId, string>> {
  const hints: Partial<Record<OperationId, string>> = {};
  for (const id of OPERATION_IDS) {
    if (!operationById(id).requiresAuth) continue;
    const shipped = defaultScopeFor(id);
    const granting = Object.keys(scopes)
      .sort()
      .filter((name) => scopes[name]!.includes(id));
    const hint = shipped !== undefined && granting.includes(shipped) ? shipped : (granting[0] ?? shipped);
    if (hint !== undefined) hints[id] = hint;
  }
  return hints;
}

/** Keeps only the keys that are set: an absent setting stays absent, and `{}` becomes nothing. */
function definedOnly<T extends object>(value: T): T | undefined {
  const entries = Object.entries(value).filter(([, v]) => v !== undefined);
  return entries.length > 0 ? (Object.fromEntries(entries) as T) : undefined;
}

function accountQuotas(quotas: PolicyDocument['accounts'][string]['quotas']): AccountQuotas | undefined {
  return quotas ? definedOnly<AccountQuotas>({ liveComputes: quotas.liveComputes }) : undefined;
}

function constraintsFor(document: ConstraintsDocument | undefined): CallerConstraints | undefined {
  if (!document) return undefined;
  const { create, upsize } = document;
  const copy = (values: readonly string[] | undefined) => (values ? [...values] : undefined);
  return definedOnly<CallerConstraints>({
    create: create
      ? definedOnly<CreateConstraints>({
          regions: copy(create.regions),
          images: copy(create.images),
          specifications: copy(create.specifications),
          requiredTags: copy(create.tags?.required),
          allowedTags: copy(create.tags?.allowed),
          hostNamePattern: create.hostName !== undefined ? anchorPattern(create.hostName) : undefined,
          withPublicIp: create.withPublicIp,
        })
      : undefined,
    upsize: upsize ? definedOnly<UpsizeConstraints>({ specifications: copy(upsize.specifications) }) : undefined,
  });
}

/** What issue #7 adds to a caller; settings it does not configure are absent, shadow is false by default. */
function leastPrivilegeFor(caller: CallerDocument): LeastPrivilegePolicy {
  const constraints = constraintsFor(caller.constraints);
  const quotas = caller.quotas
    ? definedOnly<CallerQuotas>({
        liveComputes: caller.quotas.liveComputes,
        createsPerHour: caller.quotas.createsPerHour,
      })
    : undefined;
  return {
    ...(constraints ? { constraints } : {}),
    ...(caller.ownership
      ? { ownership: { foreign: caller.ownership.foreign, ownerTag: caller.ownership.ownerTag } }
      : {}),
    ...(quotas ? { quotas } : {}),
    shadow: caller.shadow,
  };
}
