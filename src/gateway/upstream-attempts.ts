/**
 * Request-path step 10: take a slot on the shared schedule, forward, and — for a
 * request that is safe to repeat — try again on a connection error, 502 or 503, with jittered
 * backoff, as long as the caller's deadline allows. Every attempt takes its own slot, so retries
 * stay inside the provider's limits. Safe to repeat: reads, and creates that carry an
 * Idempotency-Key (the upstream answers a repeat with the compute the first one made).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Operation } from '../catalog/catalog';
import type { RateSchedule } from '../schedule';
import type { CallerAccess } from './access';
import type { GatewayRejection } from './errors';
import { isLateSend, type ForwardOutcome, type ForwardRequest, type Forwarder } from './forward/proxy';
import type { GatewayMetrics } from './observability/metrics';
import type { GatewaySpan } from './observability/tracing';
import { awaitRateSlot, QUEUE_WAIT_HEADER, type SlotResult } from './rate-slot';

export interface RetryOptions {
  /** Attempts in all, the first included. 1 turns retries off. */
  maxAttempts: number;
  /** Backoff before retry n (1-based) is uniform in [0, min(maxDelayMs, baseDelayMs × 2^(n−1))]. */
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY_OPTIONS: RetryOptions = { maxAttempts: 3, baseDelayMs: 50, maxDelayMs: 1000 };

/** Upstream answers worth another attempt: the provider's edge had no healthy backend. */
export const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([502, 503]);
/** Transport failures after which the request may not have reached the upstream at all. */
const RETRYABLE_FAILURES =
  /^upstream-(ECONNRESET|ECONNREFUSED|EPIPE|ECONNABORTED|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN|socket hang up|response-aborted)$/;
/** An error body is small; a larger one is relayed rather than kept. */
const MAX_CAPTURED_ERROR_BYTES = 64 * 1024;

export interface AttemptContext {
  req: IncomingMessage;
  res: ServerResponse;
  caller: CallerAccess;
  operation: Operation;
  request: ForwardRequest;
  /** Whether a repeat is safe (see the module comment). */
  repeatable: boolean;
  /** The caller's deadline for waiting (queue and backoff), absolute. */
  deadlineAtMs: number;
  signal: AbortSignal;
  /** The request's span when tracing is on: each slot wait and each attempt is a child of it. */
  span?: GatewaySpan;
}

export interface AttemptDeps {
  schedule: RateSchedule;
  forwarder: Forwarder;
  metrics: GatewayMetrics;
  retry: RetryOptions;
  now: () => number;
  random?: () => number;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Called with every upstream answer, retried ones included (rate-limit feedback); `sentAtMs` on `now()`. */
  onAnswer?: (status: number, headers: IncomingMessage['headers'], sentAtMs: number) => void;
}

export type AttemptsResult =
  | { kind: 'sent'; outcome: ForwardOutcome; attempts: number; queueWaitMs: number }
  | { kind: 'rejected'; rejection: GatewayRejection; attempts: number }
  | { kind: 'aborted'; attempts: number };

/** Reads, and creates whose Idempotency-Key makes a repeat answer with the first one's compute. */
export function isRepeatable(
  operation: Pick<Operation, 'traits'>,
  upstreamHeaders: Readonly<Record<string, string>>,
): boolean {
  const { retry } = operation.traits;
  return retry === 'read' || (retry === 'keyed-create' && upstreamHeaders['idempotency-key'] !== undefined);
}

export function isRetryableOutcome(outcome: ForwardOutcome): boolean {
  if (outcome.kind === 'captured') return RETRYABLE_STATUSES.has(outcome.upstreamStatus);
  return outcome.kind === 'failed' && RETRYABLE_FAILURES.test(outcome.reason);
}

/** Full jitter: spreads the retries of many callers hit by the same failure. */
export function backoffMs(retry: number, options: RetryOptions, random: () => number): number {
  const ceiling = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** (retry - 1));
  return Math.floor(random() * ceiling);
}

/** A `Retry-After` in seconds on a 503 is a floor for the next attempt. */
function retryAfterFloorMs(outcome: ForwardOutcome): number {
  if (outcome.kind !== 'captured') return 0;
  const value = outcome.upstreamHeaders['retry-after'];
  return typeof value === 'string' && /^[0-9]{1,5}$/.test(value) ? Number(value) * 1000 : 0;
}

const defaultSleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

/**
 * One upstream request in a `CLIENT` span of its own (tracing on): the upstream receives a
 * `traceparent` naming that span, so its work hangs under this attempt.
 */
export async function forwardAttempt(
  deps: Pick<AttemptDeps, 'forwarder' | 'metrics' | 'now'>,
  ctx: Pick<AttemptContext, 'req' | 'res' | 'operation' | 'span'>,
  request: ForwardRequest,
  attempt: { number: number; retryReason?: string },
): Promise<ForwardOutcome> {
  if (!ctx.span) return forwardTimed(deps, ctx.req, ctx.res, ctx.operation, request);
  const span = ctx.span.child('gateway.upstream_attempt', {
    kind: 'client',
    attributes: {
      'gateway.attempt': attempt.number,
      'gateway.retry.reason': attempt.retryReason,
      'http.request.method': ctx.operation.method,
    },
  });
  try {
    const traced = { ...request, headers: { ...request.headers, traceparent: span.traceparent } };
    const outcome = await forwardTimed(deps, ctx.req, ctx.res, ctx.operation, traced);
    if (outcome.upstreamStatus !== undefined) span.set({ 'http.response.status_code': outcome.upstreamStatus });
    if (isLateSend(outcome)) span.set({ 'gateway.late_send': true });
    else if (outcome.kind === 'failed') {
      span.set({ 'error.type': outcome.reason });
      span.fail(outcome.reason);
    } else if (outcome.upstreamStatus >= 500) span.fail(`status-${outcome.upstreamStatus}`);
    return outcome;
  } finally {
    span.end();
  }
}

/** One upstream request, its time to the response headers observed. */
export async function forwardTimed(
  deps: Pick<AttemptDeps, 'forwarder' | 'metrics' | 'now'>,
  req: IncomingMessage,
  res: ServerResponse,
  operation: Operation,
  request: ForwardRequest,
): Promise<ForwardOutcome> {
  const startedMs = deps.now();
  const outcome = await deps.forwarder.forward(req, res, request);
  if (!isLateSend(outcome))
    deps.metrics.upstreamDuration.observe({ operation: operation.id }, (deps.now() - startedMs) / 1000);
  return outcome;
}

export async function sendWithRetries(deps: AttemptDeps, ctx: AttemptContext): Promise<AttemptsResult> {
  const random = deps.random ?? Math.random;
  const sleep = deps.sleep ?? defaultSleep;
  const maxAttempts = ctx.repeatable ? Math.max(1, deps.retry.maxAttempts) : 1;
  let queueWaitMs = 0;
  let last: ForwardOutcome | undefined;

  for (let attempt = 1; ; attempt += 1) {
    if (attempt > 1) {
      const pauseMs = Math.max(backoffMs(attempt - 1, deps.retry, random), retryAfterFloorMs(last!));
      if (deps.now() + pauseMs >= ctx.deadlineAtMs) return finalAnswer(last!, attempt - 1, queueWaitMs);
      await sleep(pauseMs, ctx.signal);
      if (ctx.signal.aborted) return { kind: 'aborted', attempts: attempt - 1 };
      deps.metrics.upstreamRetries.inc({ operation: ctx.operation.id, reason: retryReason(last!) });
    }
    const mayRetry = attempt < maxAttempts;
    const request: ForwardRequest =
      mayRetry && !ctx.request.capture
        ? { ...ctx.request, capture: { statuses: RETRYABLE_STATUSES, maxBytes: MAX_CAPTURED_ERROR_BYTES } }
        : ctx.request;
    const sent = await sendOnSlot(deps, ctx, request, queueWaitMs, {
      number: attempt,
      retryReason: attempt > 1 ? retryReason(last!) : undefined,
    });
    if (sent.kind !== 'sent') {
      if (sent.kind === 'aborted') return { kind: 'aborted', attempts: attempt - 1 };
      // A retry that no longer fits: the caller gets the last real answer, not a 429.
      return attempt === 1
        ? { kind: 'rejected', rejection: sent.rejection, attempts: 0 }
        : finalAnswer(last!, attempt - 1, queueWaitMs);
    }
    queueWaitMs += sent.waitedMs;
    const { outcome } = sent;
    if (outcome.kind !== 'failed') deps.onAnswer?.(outcome.upstreamStatus, outcome.upstreamHeaders, sent.sentAtMs);
    if (!mayRetry || !isRetryableOutcome(outcome) || ctx.signal.aborted)
      return { kind: 'sent', outcome, attempts: attempt, queueWaitMs };
    last = outcome;
  }
}

type SlotSend =
  | { kind: 'sent'; outcome: ForwardOutcome; waitedMs: number; sentAtMs: number }
  | { kind: 'rejected'; rejection: GatewayRejection }
  | { kind: 'aborted' };

/**
 * One attempt: a slot, then the request, which leaves only within the slot's tolerance — checked
 * when the wait ends and again just before the first byte is written (a stall between slot and
 * socket). A late one was not sent: it takes a new slot within the caller's deadline, and is not an
 * attempt.
 */
async function sendOnSlot(
  deps: AttemptDeps,
  ctx: AttemptContext,
  request: ForwardRequest,
  priorWaitMs: number,
  attempt: { number: number; retryReason?: string },
): Promise<SlotSend> {
  let waitedMs = 0;
  for (;;) {
    const slot = await tracedRateSlot(deps, ctx);
    if (slot.kind === 'aborted' || slot.kind === 'rejected') return slot;
    waitedMs += slot.waitedMs;
    if (slot.kind === 'slot') {
      ctx.res.setHeader(QUEUE_WAIT_HEADER, String(Math.round(priorWaitMs + waitedMs)));
      const { accountId } = ctx.caller;
      const operationClass = ctx.operation.class;
      const onSendCheck = (atMs: number) =>
        deps.schedule.recordWireDelay(accountId, operationClass, atMs - slot.releasedAtMs);
      // When it leaves (near enough: the forwarder writes it next): the window phase learner pairs it with the count.
      const sentAtMs = deps.now();
      const outcome = await forwardAttempt(deps, ctx, { ...request, sendByMs: slot.sendByMs, onSendCheck }, attempt);
      if (!isLateSend(outcome)) return { kind: 'sent', outcome, waitedMs, sentAtMs };
    }
    deps.metrics.scheduleLateSends.inc({ account: ctx.caller.accountId, class: ctx.operation.class });
  }
}

/** The wait for a slot, in a `gateway.rate_slot` span (tracing on): how long, for which schedule, how it ended. */
async function tracedRateSlot(deps: AttemptDeps, ctx: AttemptContext): Promise<SlotResult> {
  const maxWaitMs = Math.max(0, ctx.deadlineAtMs - deps.now());
  const wait = () => awaitRateSlot(deps.schedule, deps.metrics, ctx.caller, ctx.operation, maxWaitMs, ctx.signal);
  if (!ctx.span) return wait();
  const span = ctx.span.child('gateway.rate_slot', {
    attributes: {
      'gateway.account': ctx.caller.accountId,
      'gateway.rate_class': ctx.operation.class,
      'gateway.rate_slot.max_wait_ms': maxWaitMs,
    },
  });
  try {
    const slot = await wait();
    span.set({
      'gateway.rate_slot.outcome': slot.kind,
      'gateway.rate_slot.wait_ms': 'waitedMs' in slot ? slot.waitedMs : undefined,
      'gateway.rejection.reason': slot.kind === 'rejected' ? slot.rejection.reason : undefined,
    });
    return slot;
  } finally {
    span.end();
  }
}

function finalAnswer(last: ForwardOutcome, attempts: number, queueWaitMs: number): AttemptsResult {
  return { kind: 'sent', outcome: last, attempts, queueWaitMs };
}

function retryReason(outcome: ForwardOutcome): string {
  if (outcome.kind === 'captured') return `status-${outcome.upstreamStatus}`;
  return outcome.kind === 'failed' ? 'connection' : 'none';
}
