/**
 * The request path, in one natural flow: request id → target check → authenticate → authorize →
 * read body → upstream headers → forward → access log. Each step's denial is a value; only the
 * HTTP edge (`sendRejection`) turns it into a response.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Operation } from '../catalog/catalog';
import { requestIdFrom } from '../shared/request-id';
import type { AccessControl, CallerAccess } from './access';
import { parseBearer, wwwAuthenticate, type TokenVerifier } from './auth';
import type { GatewayRejection } from './errors';
import { buildUpstreamHeaders } from './forward/headers';
import type { Forwarder } from './forward/proxy';
import { readBody } from './http/read-body';
import { sendRejection } from './http/send-error';
import type { Logger } from './observability/logger';
import { statusClass, type GatewayMetrics } from './observability/metrics';
import { checkTarget } from './target';

export interface PipelineOptions {
  maxBodyBytes: number;
  bodyTimeoutMs: number;
  userAgent: string;
}

export interface PipelineDeps {
  logger: Logger;
  metrics: GatewayMetrics;
  verifier: () => TokenVerifier;
  access: () => AccessControl;
  forwarder: Forwarder;
  now: () => number;
  options: PipelineOptions;
}

/** One access-log line is built up as the request goes. */
interface RequestRecord {
  requestId: string;
  method: string;
  operation?: string;
  caller?: string;
  account?: string;
  status?: number;
  upstreamStatus?: number;
  reason?: string;
}

type StepResult<T> = { ok: true; value: T } | { ok: false; rejection: GatewayRejection };

const accept = <T>(value: T): StepResult<T> => ({ ok: true, value });
const deny = <T>(rejection: GatewayRejection): StepResult<T> => ({ ok: false, rejection });

export function createPipeline(deps: PipelineDeps) {
  const { logger, metrics, options } = deps;

  async function authenticate(req: IncomingMessage, record: RequestRecord): Promise<StepResult<{ caller: CallerAccess; tokenScopes?: readonly string[] }>> {
    const bearer = parseBearer(req.headers.authorization);
    const verified = bearer.ok ? await deps.verifier().verify(bearer.token) : bearer;
    if (!verified.ok) {
      metrics.authFailures.inc({ reason: verified.reason });
      return deny({
        code: 'UNAUTHORIZED',
        headers: { 'www-authenticate': wwwAuthenticate(verified.reason) },
        reason: `auth-${verified.reason}${verified.detail ? `: ${verified.detail}` : ''}`,
      });
    }
    const caller = deps.access().callerFor(verified.claims.sub);
    if (!caller) {
      metrics.authFailures.inc({ reason: 'unknown-caller' });
      return deny({ code: 'FORBIDDEN', publicMessage: 'The caller is not configured on this gateway.', reason: 'unknown-caller' });
    }
    record.caller = caller.callerId;
    record.account = caller.accountId;
    return accept({ caller, tokenScopes: verified.claims.scope });
  }

  function authorize(caller: CallerAccess, tokenScopes: readonly string[] | undefined, operation: Operation): StepResult<void> {
    const decision = deps.access().authorize(caller.callerId, tokenScopes, operation.id);
    if (decision.allowed) return accept(undefined);
    return deny({
      code: 'FORBIDDEN',
      publicMessage: `Missing scope "${decision.missingScope}" for operation ${operation.id}.`,
      reason: `missing-scope:${decision.missingScope}`,
    });
  }

  async function body(req: IncomingMessage, operation: Operation): Promise<StepResult<Buffer | undefined>> {
    const framed = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
    if (!framed) return accept(undefined);
    const read = await readBody(req, options.maxBodyBytes, options.bodyTimeoutMs);
    if (!read.ok) {
      return read.reason === 'too-large'
        ? deny({ code: 'PAYLOAD_TOO_LARGE', reason: 'body-too-large' })
        : deny({ code: 'BAD_REQUEST', publicMessage: 'The request body was not received completely.', reason: `body-${read.reason}` });
    }
    if (read.body.length > 0 && operation.method === 'GET') {
      return deny({ code: 'BAD_REQUEST', publicMessage: 'GET requests carry no body.', reason: 'body-on-get' });
    }
    return accept(read.body.length > 0 ? read.body : undefined);
  }

  async function handle(req: IncomingMessage, res: ServerResponse, record: RequestRecord): Promise<GatewayRejection | undefined> {
    const target = checkTarget(req.method ?? '', req.url);
    if (!target.ok) return { code: target.code, publicMessage: target.message, reason: `target-${target.reason}` };
    const { operation } = target;
    record.operation = operation.id;

    let caller: CallerAccess | undefined;
    if (operation.requiresAuth) {
      const authenticated = await authenticate(req, record);
      if (!authenticated.ok) return authenticated.rejection;
      caller = authenticated.value.caller;
      const authorized = authorize(caller, authenticated.value.tokenScopes, operation);
      if (!authorized.ok) return authorized.rejection;
    }

    const read = await body(req, operation);
    if (!read.ok) return read.rejection;

    const headers = buildUpstreamHeaders(req.headers, {
      apiKey: caller?.apiKey,
      requestId: record.requestId,
      callerId: caller?.callerId ?? 'anonymous',
      userAgent: options.userAgent,
      operation,
      bodyBytes: read.value?.length ?? 0,
    });
    if (!headers.ok) {
      const code = headers.reason.endsWith('idempotency-key') ? 'INVALID_IDEMPOTENCY_KEY' : 'BAD_REQUEST';
      return { code, publicMessage: headers.message, reason: `header-${headers.reason}` };
    }

    const startedMs = deps.now();
    const outcome = await deps.forwarder.forward(req, res, { upstreamPath: target.upstreamPath, headers: headers.headers, body: read.value });
    metrics.upstreamDuration.observe({ operation: operation.id }, (deps.now() - startedMs) / 1000);
    record.upstreamStatus = outcome.upstreamStatus;
    if (outcome.kind === 'failed') return { code: outcome.code, reason: outcome.reason };
    return undefined;
  }

  function writeAccessLog(record: RequestRecord, res: ServerResponse, startedMs: number): void {
    record.status = res.statusCode;
    const line = { ...record, durationMs: deps.now() - startedMs, completed: res.writableFinished };
    metrics.requests.inc({ operation: record.operation ?? 'none', caller: record.caller ?? 'anonymous', status_class: statusClass(res.statusCode) });
    logger.info(line, 'request');
  }

  return function gatewayHandler(req: IncomingMessage, res: ServerResponse): void {
    const startedMs = deps.now();
    const record: RequestRecord = { requestId: requestIdFrom(req.headers['x-request-id']), method: req.method ?? '' };
    res.setHeader('x-request-id', record.requestId);
    res.once('close', () => writeAccessLog(record, res, startedMs));
    handle(req, res, record)
      .then((rejection) => {
        if (!rejection) return;
        record.reason = rejection.reason ?? rejection.code;
        metrics.rejections.inc({ reason: rejection.code });
        sendRejection(res, rejection, record.requestId);
      })
      .catch((error: unknown) => {
        record.reason = 'internal-error';
        logger.error({ requestId: record.requestId, err: error }, 'unhandled error in request path');
        sendRejection(res, { code: 'INTERNAL_SERVER_ERROR' }, record.requestId);
      });
  };
}
