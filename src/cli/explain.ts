/**
 * `strettch-gateway explain <caller> "<METHOD> <path>"`: what the gateway would decide for a
 * request, and why, without a token, a network or a secret. The decision follows the request
 * path's own order (target → route → caller → scope → rate slot) and uses the same functions.
 */
import { API_BASE_PATH, type Operation, type OperationClass, type OperationId } from '../catalog/catalog';
import { DEV_PUBLIC_KEY_FILE } from '../gateway/auth';
import {
  accountForCaller,
  authorize,
  callerForSubject,
  callerForToken,
  formatProblem,
  scopeMatches,
  type CallerMatchRule,
} from '../gateway/policy';
import { claimsForSubject } from '../gateway/policy/caller-rules';
import type { AccountPolicy, CallerPolicy, CertificateIdentity, Policy } from '../gateway/policy/types';
import { ownerTagFor } from '../gateway/least-privilege/owner-tag';
import type { AccountQuotas, CallerConstraints, CallerQuotas } from '../gateway/least-privilege/types';
import { checkTarget, type TargetRejectReason } from '../gateway/target';
import { scheduleFor } from '../schedule/intervals';
import { parseExplainArgs } from './args';
import { embeddedPolicyText } from './embedded';
import { formatExplanation } from './explain-format';
import { describeSettings, listSettings, settingsFor } from './settings-summary';
import type { CliIo } from './io';
import { loadPolicyFileWithoutSecrets, policyWithoutSecrets } from './policy-without-secrets';

export interface OperationFacts {
  id: OperationId;
  method: string;
  pathTemplate: string;
  class: OperationClass;
  requiresAuth: boolean;
  summary: string;
  /** The path the gateway would forward, below the upstream base URL. */
  upstreamPath: string;
}

export interface CallerFacts {
  id: string;
  accountId: string;
  /** The concrete scopes the policy grants, before any token narrows them. */
  scopes: string[];
  weight: number;
  maxWaitMs: number;
  requestsPerMinute?: number;
  /** How the caller must prove who it is, when not by a token alone (docs/tls.md). */
  authentication?: { mode: 'certificate' | 'token+certificate'; certificate?: CertificateIdentity };
  /** Present when a token subject (not a caller name) was given and a claim rule matched it. */
  matchedBy?: { subject: string; rule: CallerMatchRule };
}

/** The rate the request's slot is taken from: the account's, shared by its callers and replicas. */
export interface LimitFacts {
  accountId: string;
  /** `all` when the account has one shared rate for every operation. */
  class: OperationClass | 'all';
  ratePerSecond: number;
  safety: number;
  /** ratePerSecond × safety: what the schedule actually hands out. */
  effectivePerSecond: number;
  /** `limits: auto`: the rate above is the initial one; the gateway follows the provider within these bounds. */
  auto?: { minPerSecond: number; maxPerSecond: number };
}

/**
 * How ownership shapes this operation: `own-computes-only` (an operation on one compute: any the
 * caller did not create through the gateway is refused), `lists-own-computes` (the list leaves
 * others out), `records-owner` (a create makes the caller the new compute's owner).
 */
export type OwnershipEffect = 'own-computes-only' | 'lists-own-computes' | 'records-owner';

export interface OwnershipFacts {
  effect: OwnershipEffect;
  /** What a request on another's compute gets (own-computes-only): 403, or 404 to hide that it exists. */
  foreign: 'forbidden' | 'not-found';
  foreignStatus: 403 | 404;
  /** The tag a create adds (records-owner with ownerTag). */
  ownerTag?: string;
}

/** The limits that apply; the live counts live in the compute ledger, which explain does not read. */
export interface QuotaFacts {
  /** `counts`: a create takes a place; `frees`: a delete through the gateway gives its compute's place back. */
  effect: 'counts' | 'frees';
  caller?: CallerQuotas;
  account?: { accountId: string } & AccountQuotas;
  counts: 'enforced at request time';
}

/** Least privilege beyond the scope (issue #7), for this operation. Absent parts do not apply. */
export interface LeastPrivilegeFacts {
  /** The body constraints for this operation: `create` for computes.create, `upsize` for computes.upsize. */
  constraints?: CallerConstraints;
  ownership?: OwnershipFacts;
  quotas?: QuotaFacts;
  /** The caller's shadow mode: constraint, ownership and quota denials are logged and counted, not enforced. */
  shadow: boolean;
}

interface TokenFacts {
  /** As the token's `scope` claim would carry them (absent: no claim). */
  tokenScopes?: string[];
  /** Token scopes that match none of the caller's scopes: they add nothing. */
  ignoredTokenScopes?: string[];
}

export type Explanation =
  | {
      outcome: 'bad-target';
      allowed: false;
      status: 400;
      code: 'BAD_REQUEST' | 'VALIDATION_ERROR';
      reason: TargetRejectReason;
      message: string;
    }
  | {
      outcome: 'unknown-route';
      allowed: false;
      status: 404;
      code: 'ROUTE_NOT_FOUND';
      reason: TargetRejectReason;
      message: string;
      hint?: string;
    }
  | { outcome: 'public'; allowed: true; operation: OperationFacts }
  | {
      outcome: 'unknown-caller';
      allowed: false;
      status: 403;
      code: 'FORBIDDEN';
      operation: OperationFacts;
      knownCallers: string[];
    }
  | {
      /** A token with this subject satisfies more than one claim rule: refused, as on the request path. */
      outcome: 'ambiguous-caller';
      allowed: false;
      status: 403;
      code: 'FORBIDDEN';
      operation: OperationFacts;
      matchingCallers: string[];
    }
  | ({
      outcome: 'missing-scope';
      allowed: false;
      status: 403;
      code: 'FORBIDDEN';
      operation: OperationFacts;
      caller: CallerFacts;
      missingScope: string;
      /** The caller's own scopes would allow it; the token's scope claim gave it up. */
      narrowedByToken: boolean;
    } & TokenFacts)
  | ({
      outcome: 'granted';
      allowed: true;
      operation: OperationFacts;
      caller: CallerFacts;
      grantedBy: string;
      limit: LimitFacts;
      /** What else the request must satisfy; `allowed` speaks for the scope, these for the body and the compute. */
      leastPrivilege: LeastPrivilegeFacts;
    } & TokenFacts);

function operationFacts(operation: Operation, upstreamPath: string): OperationFacts {
  const { id, method, pathTemplate, requiresAuth, summary } = operation;
  return { id, method, pathTemplate, class: operation.class, requiresAuth, summary, upstreamPath };
}

function callerFacts(caller: CallerPolicy, subject?: string): CallerFacts {
  return {
    ...(subject !== undefined && caller.match ? { matchedBy: { subject, rule: caller.match } } : {}),
    id: caller.id,
    accountId: caller.accountId,
    scopes: caller.grants.map((grant) => grant.scope),
    weight: caller.weight,
    maxWaitMs: caller.maxWaitMs,
    ...(caller.requestsPerMinute !== undefined ? { requestsPerMinute: caller.requestsPerMinute } : {}),
    ...(caller.authentication !== 'token'
      ? { authentication: { mode: caller.authentication, certificate: caller.certificate } }
      : {}),
  };
}

/** Rounded for reading: 30 × 0.95 is 28.5, not 28.499999999999996. */
const round3 = (value: number) => Math.round(value * 1000) / 1000;

export function limitFor(account: AccountPolicy, operationClass: OperationClass): LimitFacts {
  const { limits } = account;
  const { scheduleClass, ratePerSecond } = scheduleFor(limits, operationClass);
  return {
    accountId: account.id,
    class: scheduleClass,
    ratePerSecond,
    safety: limits.safety,
    effectivePerSecond: round3(ratePerSecond * limits.safety),
    ...(limits.auto ? { auto: { ...limits.auto.bounds } } : {}),
  };
}

/** The ownership effect of an operation, when the caller has `ownership`; undefined where it has none. */
export function ownershipEffect(operation: Pick<Operation, 'traits'>): OwnershipEffect | undefined {
  switch (operation.traits.ownership) {
    case 'creates':
      return 'records-owner';
    case 'lists':
      return 'lists-own-computes';
    case 'acts-on-one':
    case 'deletes':
      return 'own-computes-only';
    case 'none':
      return undefined;
  }
}

function quotaFacts(
  caller: CallerPolicy,
  account: AccountPolicy,
  operation: Pick<Operation, 'traits'>,
): QuotaFacts | undefined {
  const callerQuotas = caller.leastPrivilege.quotas;
  const accountQuotas = account.quotas;
  let effect: QuotaFacts['effect'];
  if (operation.traits.ownership === 'creates') effect = 'counts';
  else if (
    operation.traits.ownership === 'deletes' &&
    (callerQuotas?.liveComputes !== undefined || accountQuotas?.liveComputes !== undefined)
  )
    effect = 'frees';
  else return undefined;
  if (!callerQuotas && !accountQuotas) return undefined;
  // A delete frees a live place only; the hour's creates stay counted, so they are not listed for it.
  const callerLimits =
    effect === 'frees'
      ? { ...(callerQuotas?.liveComputes !== undefined ? { liveComputes: callerQuotas.liveComputes } : {}) }
      : { ...callerQuotas };
  return {
    effect,
    ...(Object.keys(callerLimits).length > 0 ? { caller: callerLimits } : {}),
    ...(accountQuotas ? { account: { accountId: account.id, ...accountQuotas } } : {}),
    counts: 'enforced at request time',
  };
}

export function leastPrivilegeFacts(
  caller: CallerPolicy,
  account: AccountPolicy,
  operation: Pick<Operation, 'traits'>,
): LeastPrivilegeFacts {
  const { constraints, ownership, shadow } = caller.leastPrivilege;
  const create = operation.traits.body === 'create' ? constraints?.create : undefined;
  const upsize = operation.traits.body === 'upsize' ? constraints?.upsize : undefined;
  const effect = ownership ? ownershipEffect(operation) : undefined;
  const quotas = quotaFacts(caller, account, operation);
  return {
    ...(create ? { constraints: { create } } : upsize ? { constraints: { upsize } } : {}),
    ...(ownership && effect
      ? {
          ownership: {
            effect,
            foreign: ownership.foreign,
            foreignStatus: ownership.foreign === 'not-found' ? 404 : 403,
            ...(effect === 'records-owner' && ownership.ownerTag ? { ownerTag: ownerTagFor(caller.id) } : {}),
          },
        }
      : {}),
    ...(quotas ? { quotas } : {}),
    shadow,
  };
}

function tokenFacts(caller: CallerPolicy, tokenScopes: readonly string[] | undefined): TokenFacts {
  if (tokenScopes === undefined) return {};
  const ignored = tokenScopes.filter((pattern) => !caller.grants.some((grant) => scopeMatches(pattern, grant.scope)));
  return { tokenScopes: [...tokenScopes], ...(ignored.length > 0 ? { ignoredTokenScopes: ignored } : {}) };
}

/** A likely slip behind an unknown route: the base path left out, or a lower-case method. */
function routeHint(method: string, target: string, reason: TargetRejectReason): string | undefined {
  if (reason === 'outside-base-path' && target.startsWith('/') && checkTarget(method, `${API_BASE_PATH}${target}`).ok) {
    return `paths include the base path: did you mean ${API_BASE_PATH}${target}?`;
  }
  const upper = method.toUpperCase();
  if (upper !== method && checkTarget(upper, target).ok) return `methods are case-sensitive: did you mean ${upper}?`;
  return undefined;
}

/**
 * The gateway's decision for `caller` sending `METHOD target` with a token whose `scope` claim is
 * `tokenScopes` (absent: no claim). A denial is a value, like every denial on the request path.
 */
export function explainRequest(
  policy: Policy,
  callerId: string,
  method: string,
  target: string,
  tokenScopes?: readonly string[],
): Explanation {
  const checked = checkTarget(method, target);
  if (!checked.ok) {
    if (checked.code !== 'ROUTE_NOT_FOUND')
      return {
        outcome: 'bad-target',
        allowed: false,
        status: 400,
        code: checked.code,
        reason: checked.reason,
        message: checked.message,
      };
    const hint = routeHint(method, target, checked.reason);
    return {
      outcome: 'unknown-route',
      allowed: false,
      status: 404,
      code: checked.code,
      reason: checked.reason,
      message: checked.message,
      ...(hint ? { hint } : {}),
    };
  }
  const operation = operationFacts(checked.operation, checked.upstreamPath);
  // Like the request path: an operation without security is neither authenticated nor scheduled.
  if (!checked.operation.requiresAuth) return { outcome: 'public', allowed: true, operation };

  // A caller's name first (what `explain` always took); else a token subject, resolved like a token.
  const named = callerForSubject(policy, callerId);
  const found = named ? undefined : callerForToken(policy, callerId, claimsForSubject(callerId));
  if (found?.kind === 'ambiguous')
    return {
      outcome: 'ambiguous-caller',
      allowed: false,
      status: 403,
      code: 'FORBIDDEN',
      operation,
      matchingCallers: found.callerIds,
    };
  const caller = named ?? (found?.kind === 'name' || found?.kind === 'rule' ? found.caller : undefined);
  const subject = named ? undefined : callerId;
  if (!caller)
    return {
      outcome: 'unknown-caller',
      allowed: false,
      status: 403,
      code: 'FORBIDDEN',
      operation,
      knownCallers: Object.keys(policy.callers),
    };

  const decision = authorize(caller, tokenScopes, checked.operation.id);
  const token = tokenFacts(caller, tokenScopes);
  if (!decision.ok) {
    const narrowedByToken = tokenScopes !== undefined && authorize(caller, undefined, checked.operation.id).ok;
    return {
      outcome: 'missing-scope',
      allowed: false,
      status: 403,
      code: 'FORBIDDEN',
      operation,
      caller: callerFacts(caller, subject),
      missingScope: decision.missingScope,
      narrowedByToken,
      ...token,
    };
  }
  const account = accountForCaller(policy, caller);
  const limit = limitFor(account, checked.operation.class);
  const leastPrivilege = leastPrivilegeFacts(caller, account, checked.operation);
  return {
    outcome: 'granted',
    allowed: true,
    operation,
    caller: callerFacts(caller, subject),
    grantedBy: decision.grantedBy,
    limit,
    leastPrivilege,
    ...token,
  };
}

/** The embedded default needs an upstream URL to be valid; explain never calls it. */
export const EXPLAIN_PLACEHOLDER_UPSTREAM = 'http://127.0.0.1:4010/api/v1';
export const EMBEDDED_SOURCE = '(embedded default)';

/** The embedded default as `npm start` runs it, built without its dev key or the sandbox. */
export function embeddedPolicyForExplain(): Policy {
  const result = policyWithoutSecrets(
    embeddedPolicyText(EXPLAIN_PLACEHOLDER_UPSTREAM, DEV_PUBLIC_KEY_FILE),
    EMBEDDED_SOURCE,
  );
  if (!result.ok)
    throw new Error(
      `embedded default policy is invalid: ${result.errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`,
    );
  return result.policy;
}

export const EXPLAIN_USAGE_LINE =
  'strettch-gateway explain <caller|subject> "<METHOD> <path>" [--config <policy.yaml>] [--scope "<scope> ..."] [--json]';

export const EXPLAIN_HELP = `Usage: ${EXPLAIN_USAGE_LINE}

Says whether the gateway would let <caller> send the request, and why: the operation matched (or
why the target is refused), the scope that grants it or the one that is missing, the account and
the rate limit its slot would come from; for an allowed request also what it must still satisfy:
body constraints, ownership of the compute, quotas (their live counts are only known at request
time) and shadow mode. Reads no secret and calls nothing.

  <caller|subject>  a caller's name, or a token subject such as system:serviceaccount:shop:billing,
                    resolved as a token would be (a caller's claim rule; a Kubernetes service
                    account's namespace and name are the claims its projected token carries)
  --config <file>   the policy to explain against (default: the embedded default of npm start)
  --scope "<s> ..." the token's scope claim, which narrows the caller's grant (default: no claim)
  --json            one JSON object on stdout instead of text

Exit code: 0 allowed, 1 denied (or refused target), 2 usage error or unusable policy.
Example: strettch-gateway explain demo-reader "POST /api/v1/computes/42/stop"`;

/** The command: parses, loads the policy (structure only), decides, prints. Returns the exit code. */
export function runExplain(argv: readonly string[], io: CliIo): number {
  const parsed = parseExplainArgs(argv);
  if (!parsed.ok) {
    io.stderr(`${parsed.problems.map((problem) => `explain: ${problem}\n`).join('')}${EXPLAIN_HELP}\n`);
    return 2;
  }
  const { settings } = parsed;
  if (settings.help) {
    io.stdout(`${EXPLAIN_HELP}\n`);
    return 0;
  }
  let policy: Policy;
  if (settings.configPath === undefined) policy = embeddedPolicyForExplain();
  else {
    const loaded = loadPolicyFileWithoutSecrets(settings.configPath, io.readFile);
    if (!loaded.ok) {
      io.stderr(loaded.errors.map((problem) => `${formatProblem(problem, settings.configPath!)}\n`).join(''));
      io.stderr(`explain: ${loaded.errors.length} problem(s) in ${settings.configPath}\n`);
      return 2;
    }
    policy = loaded.policy;
  }
  const { caller = '', method = '', target = '', tokenScopes, json } = settings;
  const explanation = explainRequest(policy, caller, method, target, tokenScopes);
  const upstream = settings.configPath === undefined ? 'the built-in sandbox' : policy.upstream.baseUrl;
  const request = { caller, method, target, policy: policy.sourcePath, upstream };
  // The settings shape the schedule behind the decision (replicas, fallback, tuning); shown after it.
  const read = settingsFor(io);
  const inForce = read?.ok ? listSettings(read) : undefined;
  if (json)
    io.stdout(`${JSON.stringify({ request, ...explanation, ...(inForce && { settings: inForce }) }, null, 2)}\n`);
  else io.stdout(`${formatExplanation(request, explanation)}${inForce ? `\n${describeSettings(inForce)}` : ''}`);
  return explanation.allowed ? 0 : 1;
}
