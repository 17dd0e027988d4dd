/**
 * Tracing's entry: a tracer when the settings turn it on, none otherwise. The SDK module is
 * required here, lazily, so that with tracing off no OpenTelemetry module is ever loaded and the
 * request path does no span work at all (it checks for a span, finds none).
 */
import type * as OtelSdk from './otel-sdk';
import type { RequestTracer } from './span';
import type { TracingSettings } from './tracing-settings';

export function createRequestTracer(settings: TracingSettings | undefined, version: string): RequestTracer | undefined {
  if (!settings?.enabled) return undefined;
  // A static import would load the SDK (and its exporter) in every process, traced or not.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const sdk = require('./otel-sdk') as typeof OtelSdk;
  return sdk.createOtelTracer(settings, version);
}

export type { GatewaySpan, RequestTracer, SpanAttributes } from './span';
export { describeChecked, inChildSpan } from './span';
export { activeTraceFields, runInSpan } from './active-span';
export { inboundTraceContext, type InboundTraceContext } from './trace-context';
export { describeTracing, TRACING_OFF, tracingFromEnv, type TracingSettings } from './tracing-settings';
