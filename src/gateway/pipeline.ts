/**
 * The request path, top to bottom: request id → target check → authenticate (and the caller's
 * quota) → authorize → read body → least privilege → upstream headers → rate slot and forward →
 * access log (and, for an audited operation, the audit record). Each step's denial is a value
 * (`Checked`); only the HTTP edge (`sendRejection`) turns it into a response. The steps live in
 * `request-steps.ts`. Least privilege is one stage behind an interface (`least-privilege/stage.ts`)
 * met three times: it checks the body, then (once the headers are valid) the compute the path
 * names, then sends the request its way.
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Operation } from '../catalog/catalog';
import { requestIdFrom } from '../shared/request-id';
import type { AccessControl, CallerAccess } from './access';
import { isAudited, MAX_CAPTURED_BODY_BYTES, type AuditTrail } from './audit';
import { captureResponseStart } from './audit-sink';
import { forwardedJsonBytes } from './body/forwarded-json';
import type { TokenVerifier } from './auth';
import type { GatewayRejection } from './errors';
import type { ForwardOutcome, ForwardRequest, Forwarder } from './forward/proxy';
import { sendRejection } from './http/send-error';
import type { Exchange, ForwardEnding, LeastPrivilegeStage } from './least-privilege/stage';
import type { Logger } from './observability/logger';
import type { GatewayMetrics } from './observability/metrics';
import {
  describeChecked,
  inboundTraceContext,
  inChildSpan,
  runInSpan,
  type GatewaySpan,
  type RequestTracer,
} from './observability/tracing';
import type { Protection } from './protection';
import { effectiveMaxWaitMs } from './rate-slot';
import { writeAccessLog, writeAuditRecord, type RequestRecord, type WriteTrace } from './request-record';
import { authenticate, authorize, readRequestBody, upstreamRequest } from './request-steps';
import { checkTarget, type TargetAccepted } from './target';
import { isWarmUpRequest } from './warm-up';
import { forwardAttempt, isRepeatable, sendWithRetries, type RetryOptions } from './upstream-attempts';
import { parseRateLimitHeaders, type RateSchedule } from '../schedule';
import type { ProviderLimits } from './provider-limits';

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
  /** `limits: auto`: learns the provider's limits from the same headers. */
  providerLimits?: Pick<ProviderLimits, 'observe'>;
  protection: Protection;
  leastPrivilege: LeastPrivilegeStage;
  now: () => number;
  options: PipelineOptions;
  /** Present only when tracing is on: without it the request path does no span work at all. */
  tracer?: RequestTracer;
  /** Sees every finished request's record (`request-record.ts`): the status page's counts. */
  onRequestRecorded?: (record: Readonly<RequestRecord>) => void;
}

/**
 * The configuration a request runs under, taken when it arrives: a reload while it waits for its
 * slot changes nothing for it (same caller, same account key).
 */
interface RequestConfig {
  verifier: TokenVerifier;
  access: AccessControl;
}

interface RequestContext {
  config: RequestConfig;
  write?: WriteTrace;
  /** The request's root span (tracing on). */
  span?: GatewaySpan;
}

/** A caller's request, checked and ready for its slot. */
interface Ready {
  caller: CallerAccess;
  target: TargetAccepted;
  request: ForwardRequest;
  maxWaitMs: number;
}

export function createPipeline(deps: PipelineDeps) {
  const { logger, metrics, options } = deps;

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
    // The route's template, never the raw target: an id is harmless, but the query is the caller's.
    ctx.span?.rename(operation.id);
    ctx.span?.set({ 'gateway.operation': operation.id, 'http.route': operation.route });
    if (isAudited(operation)) ctx.write = { operation, computeId: target.params.id, forwarded: false };

    // Public operations (health): no caller, no least privilege, no slot, no retries.
    if (!operation.requiresAuth) {
      const read = await readRequestBody(options, req, operation);
      if (!read.ok) return read.rejection;
      const body = read.value === undefined ? undefined : forwardedJsonBytes(read.value.value);
      const request = upstreamRequest(req, { ...facts(record), target }, body);
      if (!request.ok) return request.rejection;
      const attempt = { req, res, operation, span: ctx.span };
      return answer(record, ctx, res, await forwardAttempt(attemptDeps(), attempt, request.value, { number: 1 }));
    }

    // Authentication and the caller's own quota, as one span.
    const authenticated = await inChildSpan(
      ctx.span,
      'gateway.authenticate',
      async () => {
        const verified = await authenticate(deps, req, ctx.config);
        if (!verified.ok) return verified;
        record.caller = verified.value.caller.callerId;
        record.account = verified.value.caller.accountId;
        const quota = await deps.protection.consumeCaller(verified.value.caller);
        return quota.ok ? verified : quota;
      },
      describeChecked,
    );
    if (!authenticated.ok) return authenticated.rejection;
    const { caller } = authenticated.value;
    ctx.span?.set({ 'gateway.caller': caller.callerId, 'gateway.account': caller.accountId });
    const authorized = authorize(authenticated.value, operation);
    if (!authorized.ok) return authorized.rejection;

    const read = await readRequestBody(options, req, operation);
    if (!read.ok) return read.rejection;
    // What is checked is what is forwarded: least privilege hands back the bytes to send, written
    // from the checked value (body/forwarded-json.ts).
    const body = await inChildSpan(
      ctx.span,
      'gateway.least_privilege',
      async (span) => {
        span?.set({ 'gateway.least_privilege.check': 'body' });
        return deps.leastPrivilege.checkBody(caller, operation, read.value);
      },
      describeChecked,
    );
    if (!body.ok) return body.rejection;
    const request = upstreamRequest(req, { ...facts(record), caller, target }, body.value);
    if (!request.ok) return request.rejection;
    // A created compute's id is only in the 202 body: keep a bounded copy as it streams past.
    if (ctx.write && operation.traits.ownership === 'creates')
      ctx.write.responseStart = captureResponseStart(res, MAX_CAPTURED_BODY_BYTES);
    const owned = await inChildSpan(
      ctx.span,
      'gateway.least_privilege',
      (span) => {
        span?.set({ 'gateway.least_privilege.check': 'target' });
        return deps.leastPrivilege.checkTarget(caller, operation, target.params.id);
      },
      describeChecked,
    );
    if (!owned.ok) return owned.rejection;
    const maxWait = effectiveMaxWaitMs(req.headers['x-max-wait-ms'], caller.maxWaitMs);
    if (!maxWait.ok) return maxWait.rejection;

    const ready = { caller, target, request: request.value, maxWaitMs: maxWait.value };
    const ended = await forward(req, res, record, ready, ctx.span);
    return settle(record, ctx, res, ended);
  }

  const facts = (record: RequestRecord) => ({ requestId: record.requestId, userAgent: options.userAgent });

  const attemptDeps = (onAnswer?: (status: number, headers: IncomingHttpHeaders, sentAtMs: number) => void) => ({
    schedule: deps.schedule,
    forwarder: deps.forwarder,
    metrics,
    retry: options.retry,
    now: deps.now,
    onAnswer,
  });

  /** Rate slot and forward, through least privilege; a caller who hangs up stops waiting. */
  async function forward(
    req: IncomingMessage,
    res: ServerResponse,
    record: RequestRecord,
    ready: Ready,
    span: GatewaySpan | undefined,
  ): Promise<ForwardEnding> {
    const { caller, target, request } = ready;
    const { operation } = target;
    const gone = new AbortController();
    // Only a caller who left early needs its waits cut short. After a complete answer nothing
    // waits, and an abort costs a DOMException with a stack (≈ 20 µs, on every request).
    const abortWait = () => {
      if (!res.writableFinished) gone.abort();
    };
    res.once('close', abortWait);
    const withFeedback = attemptDeps((status, headers, sentAtMs) =>
      feedBack(caller, operation, status, headers, sentAtMs, span),
    );
    const exchange: Exchange = {
      caller,
      operation,
      computeId: target.params.id,
      query: target.query,
      request,
      reservationId: request.headers['idempotency-key'] ?? record.requestId,
      // Every send is its own attempt chain with its own deadline (an own-only list sends one per page).
      send: (forwarded) =>
        sendWithRetries(withFeedback, {
          req,
          res,
          caller,
          operation,
          signal: gone.signal,
          request: forwarded,
          repeatable: isRepeatable(operation, forwarded.headers),
          deadlineAtMs: deps.now() + ready.maxWaitMs,
          span,
        }),
      relay: (captured, body) => deps.forwarder.relay(res, captured, body),
    };
    try {
      return await deps.leastPrivilege.forward(exchange);
    } finally {
      res.off('close', abortWait);
    }
  }

  /** The upstream's rate-limit headers steer the shared schedule; a 429 pauses every replica. */
  function feedBack(
    caller: CallerAccess,
    operation: Operation,
    status: number,
    headers: IncomingHttpHeaders,
    sentAtMs: number,
    span: GatewaySpan | undefined,
  ): void {
    if (status === 429) metrics.upstream429.inc({ account: caller.accountId, class: operation.class });
    const report = parseRateLimitHeaders(headers, deps.now());
    // First, so that a 429 showing another structure switches the schedule before the refusal is applied.
    deps.providerLimits?.observe(caller.accountId, operation.class, report, status);
    deps.schedule
      .observe(caller.accountId, operation.class, report, { status, sentAtMs })
      .catch((error: unknown) =>
        logger.warn(
          { err: error, account: caller.accountId, ...traceFields(span) },
          'could not feed rate-limit headers back to the schedule',
        ),
      );
  }

  function settle(
    record: RequestRecord,
    ctx: RequestContext,
    res: ServerResponse,
    ended: ForwardEnding,
  ): GatewayRejection | undefined {
    if (ended.kind === 'aborted') return undefined;
    if (ended.kind === 'rejected') return ended.rejection;
    record.attempts = ended.attempts;
    record.queueWaitMs = ended.queueWaitMs;
    // Least privilege already wrote the answer (an own-only list's page).
    if (ended.kind === 'answered') return undefined;
    return answer(record, ctx, res, ended.outcome);
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

  return function gatewayHandler(req: IncomingMessage, res: ServerResponse): void {
    const startedMs = deps.now();
    const record: RequestRecord = { requestId: requestIdFrom(req.headers['x-request-id']), method: req.method ?? '' };
    const ctx: RequestContext = { config: { verifier: deps.verifier(), access: deps.access() } };
    if (deps.tracer && !isWarmUpRequest(req.method, req.url, record.requestId))
      startTrace(deps.tracer, req, record, ctx);
    res.setHeader('x-request-id', record.requestId);
    // The line needs both the response's end and the request path's result: a small upstream
    // response can be fully piped (and `res` closed) before the forwarder's outcome is read back.
    let durationMs: number | undefined;
    let handled = false;
    const complete = (duration: number) => {
      if (ctx.span) endTrace(ctx.span, record, res);
      writeAccessLog(deps, record, res, duration);
      if (ctx.write) writeAuditRecord(deps, record, ctx.write, res, startedMs);
    };
    res.once('close', () => {
      durationMs = deps.now() - startedMs;
      if (handled) complete(durationMs);
    });
    // A traced request runs in its span, so any line logged on its behalf carries the trace id.
    (ctx.span ? runInSpan(ctx.span, () => handle(req, res, record, ctx)) : handle(req, res, record, ctx))
      .then((rejection) => {
        if (!rejection) return;
        record.reason = rejection.reason ?? rejection.code;
        if (ctx.write) ctx.write.rejection = { code: rejection.code, reason: record.reason };
        ctx.span?.set({ 'gateway.rejection.code': rejection.code, 'gateway.rejection.reason': record.reason });
        metrics.rejections.inc({ reason: rejection.code });
        sendRejection(res, rejection, record.requestId);
      })
      .catch((error: unknown) => {
        record.reason = 'internal-error';
        if (ctx.write) ctx.write.rejection = { code: 'INTERNAL_SERVER_ERROR', reason: record.reason };
        ctx.span?.set({ 'gateway.rejection.code': 'INTERNAL_SERVER_ERROR', 'gateway.rejection.reason': record.reason });
        logger.error(
          { requestId: record.requestId, ...traceFields(ctx.span), err: error },
          'unhandled error in request path',
        );
        sendRejection(res, { code: 'INTERNAL_SERVER_ERROR' }, record.requestId);
      })
      .finally(() => {
        handled = true;
        if (durationMs !== undefined) complete(durationMs);
      });
  };
}

/** `trace_id` and `span_id` for a log line of a traced request (the names log pipelines look for). */
function traceFields(span: GatewaySpan | undefined): { trace_id?: string; span_id?: string } {
  return span ? { trace_id: span.traceId, span_id: span.spanId } : {};
}

/**
 * The request's root span, continuing the caller's trace when it sent a valid `traceparent`
 * (a malformed one starts a new trace). Named `gateway.request` until the route is known.
 */
function startTrace(tracer: RequestTracer, req: IncomingMessage, record: RequestRecord, ctx: RequestContext): void {
  const span = tracer.startRequest(inboundTraceContext(req.headers), {
    'http.request.method': record.method,
    'gateway.request_id': record.requestId,
  });
  ctx.span = span;
  Object.assign(record, traceFields(span));
}

/** What became of the request, on its root span, which ends with the response. */
function endTrace(span: GatewaySpan, record: RequestRecord, res: ServerResponse): void {
  span.set({
    'http.response.status_code': res.statusCode,
    'gateway.upstream_status': record.upstreamStatus,
    'gateway.attempts': record.attempts,
    'gateway.queue_wait_ms': record.queueWaitMs,
    'gateway.completed': res.writableFinished,
  });
  if (res.statusCode >= 500) span.fail(record.reason ?? `status-${res.statusCode}`);
  span.end();
}
