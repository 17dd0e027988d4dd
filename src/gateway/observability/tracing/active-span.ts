/**
 * The span of the request whose code is running, for log lines written deep in the request path
 * (a ledger or schedule warning) that know nothing of the request. Used only when tracing is on:
 * the pipeline enters it per traced request, and the logger's mixin reads it (`createLogger`).
 * One per process, like OpenTelemetry's own context manager, which the gateway does not register.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { GatewaySpan } from './span';

const activeSpan = new AsyncLocalStorage<GatewaySpan>();

export function runInSpan<T>(span: GatewaySpan, step: () => T): T {
  return activeSpan.run(span, step);
}

/** `trace_id` and `span_id` of the running request's root span; none outside a traced request. */
export function activeTraceFields(): { trace_id?: string; span_id?: string } {
  const span = activeSpan.getStore();
  return span ? { trace_id: span.traceId, span_id: span.spanId } : {};
}
