/**
 * The request path, in one natural flow: request id → target check → authenticate → authorize →
 * read body → upstream headers → forward → access log (and, for a write, the audit record). Each
 * step's denial is a value; only the HTTP edge (`sendRejection`) turns it into a response.
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { HEALTH_CHECK, type Operation } from '../catalog/catalog';
import { requestIdFrom } from '../shared/request-id';
import type { AccessControl, CallerAccess } from './access';
import { deny, pass, PASSED, type Checked } from './checked';
import { authorize as authorizeCaller } from './policy';
import { buildAuditRecord, isAudited, MAX_CAPTURED_BODY_BYTES, type AuditTrail } from './audit';
import { captureResponseStart } from './audit-sink';
import { parseBearer, wwwAuthenticate, type TokenVerifier } from './auth';
import type { GatewayErrorCode, GatewayRejection } from './errors';
import { buildUpstreamHeaders } from './forward/headers';
import type { ForwardOutcome, ForwardRequest, Forwarder } from './forward/proxy';
import { readBody } from './http/read-body';
import { sendRejection } from './http/send-error';
import type { Logger } from './observability/logger';
import { statusClass, type GatewayMetrics } from './observability/metrics';
import { checkTarget } from './target';
import { effectiveMaxWaitMs } from './rate-slot';
import {
  forwardTimed,
  isRepeatable,
  sendWithRetries,
  type AttemptsResult,
  type RetryOptions,
} from './upstream-attempts';
import type { CreateEnding, LeastPrivilegeGuard } from './least-privilege/guard';
import { countHiddenInShadow, listOwnComputes, listPaging, MAX_LIST_PAGE_BYTES } from './own-computes-list';
import { parseRateLimitHeaders, type RateSchedule } from '../schedule';
import { WARM_UP_REQUEST_ID_PREFIX } from './warm-up';
import type { Protection } from './protection';

export interface PipelineOptions {
  maxBodyBytes: number;
  bodyTimeoutMs: number;
  userAgent: string;
  retry: RetryOptions;
}

export interface PipelineDeps {
  logger: Logger;
  metrics: GatewayMetrics;
  /** The configuration in force; each request reads both once, when it arrives. */
  verifier: () => TokenVerifier;
  access: () => AccessControl;
  audit: AuditTrail;
  forwarder: Forwarder;
  schedule: RateSchedule;
  protection: Protection;
  guard: LeastPrivilegeGuard;
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
  queueWaitMs?: number;
  attempts?: number;
  status?: number;
  upstreamStatus?: number;
  reason?: string;
}

/**
 * The configuration a request runs under, taken when it arrives: a reload while it waits for its
 * slot changes nothing for it (same caller, same account key).
 */
interface RequestConfig {
  verifier: TokenVerifier;
  access: AccessControl;
}

/** What a write's audit record needs beyond the access-log record. */
interface WriteTrace {
  operation: Operation;
  computeId?: string;
  forwarded: boolean;
  rejection?: { code: GatewayErrorCode; reason?: string };
  responseStart?: () => Buffer | undefined;
}

interface RequestContext {
  config: RequestConfig;
  write?: WriteTrace;
}

function createEnding(sent: AttemptsResult): CreateEnding {
  if (sent.kind !== 'sent') return { kind: 'not-sent' };
  return sent.outcome.kind === 'captured'
    ? { kind: 'answered', status: sent.outcome.upstreamStatus, body: sent.outcome.body }
    : { kind: 'lost' };
}
const isSuccess = (outcome: ForwardOutcome): boolean =>
  outcome.kind !== 'failed' && outcome.upstreamStatus >= 200 && outcome.upstreamStatus < 300;
/** A create's 202 carries one compute; far below this. */
const MAX_CREATE_ANSWER_BYTES = 1024 * 1024;

/**
 * Every `Authorization` line of the request. Node keeps only the first repeated `Authorization`
 * in `req.headers`, which would let a second credential pass unseen; two lines must be refused.
 */
function authorizationLines(req: IncomingMessage): string | string[] | undefined {
  const lines: string[] = [];
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    if (req.rawHeaders[i]!.toLowerCase() === 'authorization') lines.push(req.rawHeaders[i + 1]!);
  }
  return lines.length <= 1 ? lines[0] : lines;
}

export function createPipeline(deps: PipelineDeps) {
  const { logger, metrics, options } = deps;

  async function authenticate(
    req: IncomingMessage,
    record: RequestRecord,
    config: RequestConfig,
  ): Promise<Checked<{ caller: CallerAccess; tokenScopes?: readonly string[] }>> {
    const sourceId = req.socket.remoteAddress ?? 'unknown';
    const source = await deps.protection.checkSource(sourceId);
    if (!source.ok) return source;
    const bearer = parseBearer(authorizationLines(req));
    const verified = bearer.ok ? await config.verifier.verify(bearer.token) : bearer;
    if (!verified.ok) {
      metrics.authFailures.inc({ reason: verified.reason });
      if (verified.reason !== 'missing') await deps.protection.recordBadToken(sourceId);
      return deny({
        code: 'UNAUTHORIZED',
        headers: { 'www-authenticate': wwwAuthenticate(verified.reason) },
        reason: `auth-${verified.reason}${verified.detail ? `: ${verified.detail}` : ''}`,
      });
    }
    const caller = config.access.callerFor(verified.claims.sub);
    if (!caller) {
      metrics.authFailures.inc({ reason: 'unknown-caller' });
      return deny({
        code: 'FORBIDDEN',
        publicMessage: 'The caller is not configured on this gateway.',
        reason: 'unknown-caller',
      });
    }
    record.caller = caller.callerId;
    record.account = caller.accountId;
    const quota = await deps.protection.consumeCaller(caller);
    if (!quota.ok) return quota;
    return pass({ caller, tokenScopes: verified.claims.scope });
  }

  function authorize(
    config: RequestConfig,
    caller: CallerAccess,
    tokenScopes: readonly string[] | undefined,
    operation: Operation,
  ): Checked<void> {
    const decision = authorizeCaller(caller.grants, tokenScopes, operation.id);
    if (decision.ok) return PASSED;
    return deny({
      code: 'FORBIDDEN',
      publicMessage: `Missing scope "${decision.missingScope}" for operation ${operation.id}.`,
      reason: `missing-scope:${decision.missingScope}`,
    });
  }

  async function body(req: IncomingMessage, operation: Operation): Promise<Checked<Buffer | undefined>> {
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
    if (read.body.length > 0 && operation.method === 'GET') {
      return deny({ code: 'BAD_REQUEST', publicMessage: 'GET requests carry no body.', reason: 'body-on-get' });
    }
    return pass(read.body.length > 0 ? read.body : undefined);
  }

  /** The upstream's rate-limit headers steer the shared schedule; a 429 pauses every replica. */
  function feedBack(caller: CallerAccess, operation: Operation, status: number, headers: IncomingHttpHeaders): void {
    if (status === 429) metrics.upstream429.inc({ account: caller.accountId, class: operation.class });
    deps.schedule
      .observe(caller.accountId, operation.class, parseRateLimitHeaders(headers, deps.now()), { status })
      .catch((error: unknown) =>
        logger.warn(
          { err: error, account: caller.accountId },
          'could not feed rate-limit headers back to the schedule',
        ),
      );
  }

  async function handle(
    req: IncomingMessage,
    res: ServerResponse,
    record: RequestRecord,
    ctx: RequestContext,
  ): Promise<GatewayRejection | undefined> {
    const target = checkTarget(req.method ?? '', req.url);
    if (!target.ok) return { code: target.code, publicMessage: target.message, reason: `target-${target.reason}` };
    const { operation } = target;
    record.operation = operation.id;
    if (isAudited(operation)) ctx.write = { operation, computeId: target.params.id, forwarded: false };

    let caller: CallerAccess | undefined;
    if (operation.requiresAuth) {
      const authenticated = await authenticate(req, record, ctx.config);
      if (!authenticated.ok) return authenticated.rejection;
      caller = authenticated.value.caller;
      const authorized = authorize(ctx.config, caller, authenticated.value.tokenScopes, operation);
      if (!authorized.ok) return authorized.rejection;
    }

    const read = await body(req, operation);
    if (!read.ok) return read.rejection;
    // What is checked is what is forwarded: the guard hands back the bytes to send.
    const checked = caller
      ? deps.guard.checkBody(caller, operation, read.value)
      : { ok: true as const, value: read.value };
    if (!checked.ok) return checked.rejection;
    const bodyBytes = checked.value;

    const headers = buildUpstreamHeaders(req.headers, {
      apiKey: caller?.apiKey,
      requestId: record.requestId,
      callerId: caller?.callerId ?? 'anonymous',
      userAgent: options.userAgent,
      operation,
      bodyBytes: bodyBytes?.length ?? 0,
    });
    if (!headers.ok) {
      const code = headers.reason.endsWith('idempotency-key') ? 'INVALID_IDEMPOTENCY_KEY' : 'BAD_REQUEST';
      return { code, publicMessage: headers.message, reason: `header-${headers.reason}` };
    }

    if (ctx.write) {
      // The new compute's id is only in the 202 body: keep a bounded copy as it streams past.
      if (operation.traits.ownership === 'creates')
        ctx.write.responseStart = captureResponseStart(res, MAX_CAPTURED_BODY_BYTES);
    }
    const request: ForwardRequest = { upstreamPath: target.upstreamPath, headers: headers.headers, body: bodyBytes };
    // Public operations (health) take no slot and are not retried.
    if (!caller)
      return answer(
        record,
        ctx,
        res,
        await forwardTimed({ forwarder: deps.forwarder, metrics, now: deps.now }, req, res, operation, request),
      );

    const owned = await deps.guard.checkOwnership(caller, operation, target.params.id);
    if (!owned.ok) return owned.rejection;
    const maxWait = effectiveMaxWaitMs(req.headers['x-max-wait-ms'], caller.maxWaitMs);
    if (!maxWait.ok) return maxWait.rejection;
    const gone = new AbortController();
    const abortWait = () => gone.abort();
    res.once('close', abortWait);
    try {
      const attemptDeps = {
        schedule: deps.schedule,
        forwarder: deps.forwarder,
        metrics,
        retry: options.retry,
        now: deps.now,
        onAnswer: (status: number, upstreamHeaders: IncomingHttpHeaders) =>
          feedBack(caller, operation, status, upstreamHeaders),
      };
      const common = { req, res, caller, operation, signal: gone.signal };
      if (operation.traits.ownership === 'lists' && caller.leastPrivilege.ownership && !caller.leastPrivilege.shadow) {
        const paging = listPaging(target.query);
        if ('error' in paging)
          return { code: 'VALIDATION_ERROR', publicMessage: paging.error, reason: 'own-list-limit' };
        const listed = await listOwnComputes(
          { ...attemptDeps, guard: deps.guard, maxWaitMs: maxWait.value },
          { ...common, headers: headers.headers, paging },
        );
        if (listed.kind === 'answered') {
          record.attempts = listed.attempts;
          record.queueWaitMs = listed.queueWaitMs;
          return undefined;
        }
        return settleAttempts(record, ctx, res, listed);
      }

      const send = (forward: ForwardRequest) =>
        sendWithRetries(attemptDeps, {
          ...common,
          request: forward,
          repeatable: isRepeatable(operation, headers.headers),
          deadlineAtMs: deps.now() + maxWait.value,
        });
      if (operation.traits.ownership === 'creates') {
        // A repeat of a create (same Idempotency-Key) takes the same place, not a second one.
        const reserved = await deps.guard.reserveCreate(caller, headers.headers['idempotency-key'] ?? record.requestId);
        if (!reserved.ok) return reserved.rejection;
        // Held in memory: the new compute's id must be in the ledger before the caller can use it.
        const sent = await send({ ...request, capture: { maxBytes: MAX_CREATE_ANSWER_BYTES } });
        if (reserved.value) await deps.guard.settleCreate(reserved.value, createEnding(sent));
        return settleAttempts(record, ctx, res, sent);
      }
      if (operation.traits.ownership === 'lists' && caller.leastPrivilege.ownership) {
        // Shadow mode (the enforced case is above): the page unfiltered, what it would hide counted.
        const sent = await send({ ...request, capture: { maxBytes: MAX_LIST_PAGE_BYTES } });
        if (sent.kind === 'sent' && sent.outcome.kind === 'captured' && sent.outcome.upstreamStatus === 200)
          await countHiddenInShadow(deps.guard, caller, sent.outcome.body);
        return settleAttempts(record, ctx, res, sent);
      }
      const sent = await send(request);
      if (
        operation.traits.ownership === 'deletes' &&
        sent.kind === 'sent' &&
        isSuccess(sent.outcome) &&
        target.params.id !== undefined
      ) {
        await deps.guard.recordDeleted(caller, target.params.id);
      }
      return settleAttempts(record, ctx, res, sent);
    } finally {
      res.off('close', abortWait);
    }
  }

  function settleAttempts(
    record: RequestRecord,
    ctx: RequestContext,
    res: ServerResponse,
    sent: AttemptsResult,
  ): GatewayRejection | undefined {
    if (sent.kind === 'aborted') return undefined;
    if (sent.kind === 'rejected') return sent.rejection;
    record.attempts = sent.attempts;
    record.queueWaitMs = sent.queueWaitMs;
    return answer(record, ctx, res, sent.outcome);
  }

  /** The upstream's answer reaches the caller: streamed already, relayed from memory, or mapped to a gateway code. */
  function answer(
    record: RequestRecord,
    ctx: RequestContext,
    res: ServerResponse,
    outcome: ForwardOutcome,
  ): GatewayRejection | undefined {
    if (ctx.write) ctx.write.forwarded = true;
    record.upstreamStatus = outcome.upstreamStatus;
    if (outcome.kind === 'failed') return { code: outcome.code, reason: outcome.reason };
    if (outcome.kind === 'captured') deps.forwarder.relay(res, outcome);
    return undefined;
  }

  function writeAccessLog(record: RequestRecord, res: ServerResponse, durationMs: number): void {
    record.status = res.statusCode;
    const line = { ...record, durationMs, completed: res.writableFinished };
    metrics.requests.inc({
      operation: record.operation ?? 'none',
      caller: record.caller ?? 'anonymous',
      status_class: statusClass(res.statusCode),
    });
    const warmUp = record.operation === HEALTH_CHECK.id && record.requestId.startsWith(WARM_UP_REQUEST_ID_PREFIX);
    if (warmUp) logger.debug(line, 'request');
    else logger.info(line, 'request');
  }

  function writeAuditRecord(record: RequestRecord, write: WriteTrace, res: ServerResponse, receivedAtMs: number): void {
    try {
      const entry = buildAuditRecord({
        requestId: record.requestId,
        operation: write.operation,
        receivedAtMs,
        caller: record.caller,
        account: record.account,
        pathComputeId: write.computeId,
        forwarded: write.forwarded,
        upstreamStatus: record.upstreamStatus,
        rejection: write.rejection,
        status: res.headersSent ? res.statusCode : undefined,
        responseStart: write.responseStart?.(),
      });
      deps.audit.record(entry);
      metrics.auditRecords.inc({ outcome: entry.outcome });
    } catch (error) {
      logger.error({ requestId: record.requestId, err: error }, 'could not write the audit record');
    }
  }

  return function gatewayHandler(req: IncomingMessage, res: ServerResponse): void {
    const startedMs = deps.now();
    const record: RequestRecord = { requestId: requestIdFrom(req.headers['x-request-id']), method: req.method ?? '' };
    const ctx: RequestContext = { config: { verifier: deps.verifier(), access: deps.access() } };
    res.setHeader('x-request-id', record.requestId);
    // The line needs both the response's end and the request path's result: a small upstream
    // response can be fully piped (and `res` closed) before the forwarder's outcome is read back.
    let durationMs: number | undefined;
    let handled = false;
    const complete = (duration: number) => {
      writeAccessLog(record, res, duration);
      if (ctx.write) writeAuditRecord(record, ctx.write, res, startedMs);
    };
    res.once('close', () => {
      durationMs = deps.now() - startedMs;
      if (handled) complete(durationMs);
    });
    handle(req, res, record, ctx)
      .then((rejection) => {
        if (!rejection) return;
        record.reason = rejection.reason ?? rejection.code;
        if (ctx.write) ctx.write.rejection = { code: rejection.code, reason: record.reason };
        metrics.rejections.inc({ reason: rejection.code });
        sendRejection(res, rejection, record.requestId);
      })
      .catch((error: unknown) => {
        record.reason = 'internal-error';
        if (ctx.write) ctx.write.rejection = { code: 'INTERNAL_SERVER_ERROR', reason: record.reason };
        logger.error({ requestId: record.requestId, err: error }, 'unhandled error in request path');
        sendRejection(res, { code: 'INTERNAL_SERVER_ERROR' }, record.requestId);
      })
      .finally(() => {
        handled = true;
        if (durationMs !== undefined) complete(durationMs);
      });
  };
}
