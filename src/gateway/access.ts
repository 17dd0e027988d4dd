/**
 * The policy as the request path sees it: the caller a token's subject names, resolved once per
 * request, carrying everything later steps need (its grants included, so authorizing it does not
 * look the policy up again).
 */
import type { VerifiedClaims } from './auth';
import { subjectKey } from './auth/certificate-identity';
import type { VerifiedCertificate } from './auth/client-certificate';
import { accountForCaller, callerForSubject, callerForToken, type CallerGrants } from './policy';
import type { CallerAuthentication, CallerPolicy, CertificateIdentity, Policy } from './policy/types';
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
  /** The caller a verified client certificate names, by its URI SAN or subject (see `CertificateCaller`). */
  callerForCertificate(certificate: VerifiedCertificate): CertificateCaller;
  /** How a caller must authenticate, and the certificate it must show when it needs one. */
  authenticationOf(callerId: string): CallerAuthenticationRule;
}

/** A denial is a value: no caller, or more than one rule matched (refused, never guessed). */
export type CallerLookup =
  | { ok: true; caller: CallerAccess; matchedBy: 'name' | 'rule' }
  | { ok: false; reason: 'unknown-caller' | 'ambiguous-caller' };

export interface CallerAuthenticationRule {
  authentication: CallerAuthentication;
  certificate?: CertificateIdentity;
}

/** `ambiguous`: its names match two callers (a URI SAN of one, the subject of another). */
export type CertificateCaller =
  | { kind: 'caller'; caller: CallerAccess; authentication: CallerAuthentication }
  | { kind: 'unknown' }
  | { kind: 'ambiguous' };

export function accessControlFor(policy: Policy): AccessControl {
  const byCertificate = certificateIndex(policy);
  return {
    callerForCertificate(certificate) {
      const named = new Set<string>();
      for (const uri of certificate.uris) {
        const id = byCertificate.get(`uri ${uri}`);
        if (id !== undefined) named.add(id);
      }
      const bySubject = byCertificate.get(`subject ${certificate.subjectKey}`);
      if (bySubject !== undefined) named.add(bySubject);
      if (named.size > 1) return { kind: 'ambiguous' };
      const [id] = named;
      const caller = id === undefined ? undefined : callerForSubject(policy, id);
      if (!caller) return { kind: 'unknown' };
      return { kind: 'caller', caller: callerAccessOf(policy, caller), authentication: caller.authentication };
    },
    authenticationOf(callerId) {
      const caller = callerForSubject(policy, callerId);
      if (!caller) return { authentication: 'token' };
      return {
        authentication: caller.authentication,
        ...(caller.certificate ? { certificate: caller.certificate } : {}),
      };
    },
    callerFor(claims) {
      const match = callerForToken(policy, claims.sub, claims.payload);
      if (match.kind === 'none') return { ok: false, reason: 'unknown-caller' };
      if (match.kind === 'ambiguous') return { ok: false, reason: 'ambiguous-caller' };
      return { ok: true, caller: callerAccessOf(policy, match.caller), matchedBy: match.kind };
    },
  };
}

/** A configured caller as the request path needs it, however it was identified (token or certificate). */
function callerAccessOf(policy: Policy, caller: CallerPolicy): CallerAccess {
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
}

/** `uri <SAN>` or `subject <subjectKey>` → caller id, for callers that may be named by a certificate. */
function certificateIndex(policy: Policy): Map<string, string> {
  const index = new Map<string, string>();
  for (const caller of Object.values(policy.callers)) {
    if (caller.authentication === 'token' || !caller.certificate) continue;
    const identity = caller.certificate;
    index.set('uri' in identity ? `uri ${identity.uri}` : `subject ${subjectKey(identity.subject)}`, caller.id);
  }
  return index;
}
