/**
 * The request path's own checks, one function per step, each a `Checked` value: authenticate,
 * authorize, read the body, build the upstream request. `pipeline.ts` runs them in order.
 */
import type { IncomingMessage } from 'node:http';
import type { Operation } from '../catalog/catalog';
import type { AccessControl, CallerAccess, CallerAuthenticationRule } from './access';
import { subjectKey } from './auth/certificate-identity';
import {
  clientCertificateOf,
  type CertificateFailure,
  type ClientCertificate,
  type VerifiedCertificate,
} from './auth/client-certificate';
import { parseBearer, wwwAuthenticate, type TokenVerifier } from './auth';
import { deny, pass, PASSED, type Checked, type Denied } from './checked';
import { acceptRequestBody, type JsonBody } from './body/request-body';
import { buildUpstreamHeaders } from './forward/headers';
import type { ForwardRequest } from './forward/proxy';
import { readBody } from './http/read-body';
import type { GatewayMetrics } from './observability/metrics';
import { authorize as authorizeGrants } from './policy';
import type { Protection } from './protection';
import type { TargetAccepted } from './target/check-target';

/** Every line of one request header, in order (`req.headers` keeps only the first of some). */
function headerLines(req: IncomingMessage, lowerName: string): string[] {
  const lines: string[] = [];
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    if (req.rawHeaders[i]!.toLowerCase() === lowerName) lines.push(req.rawHeaders[i + 1]!);
  }
  return lines;
}

/**
 * Every `Authorization` line of the request. Node keeps only the first repeated `Authorization`
 * in `req.headers`, which would let a second credential pass unseen; two lines must be refused.
 */
function authorizationLines(req: IncomingMessage): string | string[] | undefined {
  const lines = headerLines(req, 'authorization');
  return lines.length <= 1 ? lines[0] : lines;
}

export interface Authenticated {
  caller: CallerAccess;
  /** The token's `scope` claim, when it has one: it narrows the caller's grants. */
  tokenScopes?: readonly string[];
}

/**
 * Source lockout, the caller's identity (a client certificate or the bearer token, see
 * `callerByCertificate` and `certificateHeld`), the configured caller it names (resolved once), its quota.
 */
export async function authenticate(
  deps: { protection: Protection; metrics: GatewayMetrics },
  req: IncomingMessage,
  config: { verifier: TokenVerifier; access: AccessControl },
): Promise<Checked<Authenticated>> {
  const sourceId = req.socket.remoteAddress ?? 'unknown';
  const source = await deps.protection.checkSource(sourceId);
  if (!source.ok) return source;
  const certificate = clientCertificateOf(req.socket);
  if (certificate.kind === 'refused') return refuseCertificate(deps.metrics, certificate.reason);
  const authorization = authorizationLines(req);
  if (certificate.kind === 'verified' && authorization === undefined) {
    const named = callerByCertificate(deps.metrics, config.access, certificate);
    if (named) return named;
  }
  const bearer = parseBearer(authorization);
  const verified = bearer.ok ? await config.verifier.verify(bearer.token) : bearer;
  if (!verified.ok) {
    deps.metrics.authFailures.inc({ reason: verified.reason });
    if (verified.reason !== 'missing') await deps.protection.recordBadToken(sourceId);
    return deny({
      code: 'UNAUTHORIZED',
      headers: { 'www-authenticate': wwwAuthenticate(verified.reason) },
      reason: `auth-${verified.reason}${verified.detail ? `: ${verified.detail}` : ''}`,
    });
  }
  const found = config.access.callerFor(verified.claims);
  if (!found.ok) {
    deps.metrics.authFailures.inc({ reason: found.reason });
    return deny({
      code: 'FORBIDDEN',
      publicMessage:
        found.reason === 'ambiguous-caller'
          ? 'The token matches more than one configured caller.'
          : 'The caller is not configured on this gateway.',
      reason: found.reason,
    });
  }
  const held = certificateHeld(deps.metrics, config.access.authenticationOf(found.caller.callerId), certificate);
  if (!held.ok) return held;
  return pass({ caller: found.caller, tokenScopes: verified.claims.scope });
}

/**
 * A request with a verified client certificate and no `Authorization`: the caller whose
 * `certificate` it shows, when that caller authenticates by certificate alone. Undefined: the token
 * path decides (a `token+certificate` caller still needs its token; an unknown certificate gets the
 * missing-token answer, as a request without one always has).
 */
function callerByCertificate(
  metrics: GatewayMetrics,
  access: AccessControl,
  certificate: VerifiedCertificate,
): Checked<Authenticated> | undefined {
  const named = access.callerForCertificate(certificate);
  if (named.kind === 'ambiguous') return refuseCertificate(metrics, 'certificate-ambiguous');
  if (named.kind === 'caller' && named.authentication === 'certificate') return pass({ caller: named.caller });
  return undefined;
}

/** A token's caller that needs a certificate must have shown its own, verified. */
function certificateHeld(
  metrics: GatewayMetrics,
  rule: CallerAuthenticationRule,
  certificate: ClientCertificate,
): Checked {
  if (rule.authentication === 'token') return PASSED;
  if (certificate.kind !== 'verified') return refuseCertificate(metrics, 'certificate-missing');
  const identity = rule.certificate;
  const shown =
    identity !== undefined &&
    ('uri' in identity
      ? certificate.uris.includes(identity.uri)
      : subjectKey(identity.subject) === certificate.subjectKey);
  if (shown) return PASSED;
  metrics.authFailures.inc({ reason: 'certificate-mismatch' });
  return deny({
    code: 'FORBIDDEN',
    publicMessage: 'The client certificate does not belong to this caller.',
    reason: 'certificate-mismatch',
  });
}

/** 401 for a certificate that is not trusted (or not there when needed); the reason goes to the access log. */
function refuseCertificate(
  metrics: GatewayMetrics,
  reason: CertificateFailure | 'certificate-missing' | 'certificate-ambiguous',
): Denied {
  metrics.authFailures.inc({ reason });
  return deny({
    code: 'UNAUTHORIZED',
    publicMessage: 'A valid client certificate is required.',
    headers: { 'www-authenticate': wwwAuthenticate('missing') },
    reason: `auth-${reason}`,
  });
}

export function authorize(authenticated: Authenticated, operation: Operation): Checked {
  const decision = authorizeGrants(authenticated.caller.grants, authenticated.tokenScopes, operation.id);
  if (decision.ok) return PASSED;
  return deny({
    code: 'FORBIDDEN',
    publicMessage: `Missing scope "${decision.missingScope}" for operation ${operation.id}.`,
    reason: `missing-scope:${decision.missingScope}`,
  });
}

/**
 * The body, when the request is framed to have one, read whole and checked (`acceptRequestBody`):
 * none where the document declares none, JSON in UTF-8 with the declared properties only.
 */
export async function readRequestBody(
  options: { maxBodyBytes: number; bodyTimeoutMs: number },
  req: IncomingMessage,
  operation: Operation,
): Promise<Checked<JsonBody | undefined>> {
  const framed = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
  if (!framed) return pass(undefined);
  const read = await readBody(req, options.maxBodyBytes, options.bodyTimeoutMs);
  if (!read.ok) {
    return read.reason === 'too-large'
      ? deny({ code: 'PAYLOAD_TOO_LARGE', reason: 'body-too-large' })
      : deny({
          code: 'BAD_REQUEST',
          publicMessage: 'The request body was not received completely.',
          reason: `body-${read.reason}`,
        });
  }
  return acceptRequestBody(operation, headerLines(req, 'content-type'), read.body);
}

/** The request as the upstream will see it: its path rebuilt, headers allow-listed, the account's key. */
export function upstreamRequest(
  req: IncomingMessage,
  facts: { requestId: string; userAgent: string; caller?: CallerAccess; target: TargetAccepted },
  body: Buffer | undefined,
): Checked<ForwardRequest> {
  const { caller, target } = facts;
  const headers = buildUpstreamHeaders(req.headers, {
    apiKey: caller?.apiKey,
    requestId: facts.requestId,
    callerId: caller?.callerId ?? 'anonymous',
    userAgent: facts.userAgent,
    operation: target.operation,
    bodyBytes: body?.length ?? 0,
  });
  if (!headers.ok) {
    const code = headers.reason.endsWith('idempotency-key') ? 'INVALID_IDEMPOTENCY_KEY' : 'BAD_REQUEST';
    return deny({ code, publicMessage: headers.message, reason: `header-${headers.reason}` });
  }
  return pass({ upstreamPath: target.upstreamPath, headers: headers.headers, body });
}
