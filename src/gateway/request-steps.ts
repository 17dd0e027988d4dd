/**
 * The request path's own checks, one function per step, each a `Checked` value: authenticate,
 * authorize, read the body, build the upstream request. `pipeline.ts` runs them in order.
 */
import type { IncomingMessage } from 'node:http';
import type { Operation } from '../catalog/catalog';
import type { AccessControl, CallerAccess } from './access';
import { parseBearer, wwwAuthenticate, type TokenVerifier } from './auth';
import { deny, pass, PASSED, type Checked } from './checked';
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

/** Source lockout, the bearer token, the configured caller it names (resolved once), its quota. */
export async function authenticate(
  deps: { protection: Protection; metrics: GatewayMetrics },
  req: IncomingMessage,
  config: { verifier: TokenVerifier; access: AccessControl },
): Promise<Checked<Authenticated>> {
  const sourceId = req.socket.remoteAddress ?? 'unknown';
  const source = await deps.protection.checkSource(sourceId);
  if (!source.ok) return source;
  const bearer = parseBearer(authorizationLines(req));
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
  return pass({ caller: found.caller, tokenScopes: verified.claims.scope });
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
