/**
 * The OpenTelemetry SDK behind the gateway's span facade (`span.ts`): a tracer provider with its
 * own sampler, a bounded batch processor and the OTLP/HTTP (JSON) exporter. Loaded only when
 * tracing is on (`index.ts` requires it lazily); nothing is registered globally — no context
 * manager, no propagator: the request path hands parents down explicitly and parses
 * `traceparent` itself (`trace-context.ts`), so the gateway's spans cannot mix with a library's.
 */
import {
  createTraceState,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  type Sampler,
} from '@opentelemetry/sdk-trace-base';
import type { TracingOn, TracingSampler } from './tracing-settings';
import type { GatewaySpan, RequestTracer, SpanAttributes } from './span';
import { formatTraceparent, type InboundTraceContext } from './trace-context';

/**
 * Bounds of the export queue: a collector that is slow or gone costs at most this many spans of
 * memory; what does not fit is dropped (the SDK logs it through its diagnostics, off by default).
 */
export const SPAN_QUEUE_LIMITS = Object.freeze({
  maxQueueSize: 2048,
  maxExportBatchSize: 512,
  scheduledDelayMillis: 1000,
  exportTimeoutMillis: 5000,
});

function samplerFor(setting: TracingSampler): Sampler {
  const ratio = () => new TraceIdRatioBasedSampler(setting.ratio ?? 1);
  switch (setting.kind) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return ratio();
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: ratio() });
  }
}

function attributesOf(attributes: SpanAttributes | undefined): Attributes {
  const defined: Attributes = {};
  if (attributes)
    for (const [name, value] of Object.entries(attributes)) if (value !== undefined) defined[name] = value;
  return defined;
}

function facade(tracer: Tracer, span: Span): GatewaySpan {
  const context = span.spanContext();
  return {
    traceId: context.traceId,
    spanId: context.spanId,
    traceparent: formatTraceparent(context.traceId, context.spanId, context.traceFlags),
    rename: (name) => void span.updateName(name),
    set: (attributes) => void span.setAttributes(attributesOf(attributes)),
    fail: (reason) => void span.setStatus({ code: SpanStatusCode.ERROR, message: reason }),
    child: (name, options) =>
      facade(
        tracer,
        tracer.startSpan(
          name,
          {
            kind: options?.kind === 'client' ? SpanKind.CLIENT : SpanKind.INTERNAL,
            attributes: attributesOf(options?.attributes),
          },
          trace.setSpan(ROOT_CONTEXT, span),
        ),
      ),
    end: () => span.end(),
  };
}

/** The caller's span as a remote parent, so the gateway's root span continues its trace. */
function parentContext(inbound: InboundTraceContext | undefined) {
  if (!inbound) return ROOT_CONTEXT;
  return trace.setSpanContext(ROOT_CONTEXT, {
    traceId: inbound.traceId,
    spanId: inbound.parentSpanId,
    traceFlags: inbound.traceFlags,
    isRemote: true,
    ...(inbound.tracestate !== undefined ? { traceState: createTraceState(inbound.tracestate) } : {}),
  });
}

export function createOtelTracer(settings: TracingOn, version: string): RequestTracer {
  const exporter = new OTLPTraceExporter({ url: settings.tracesUrl });
  const provider = new BasicTracerProvider({
    // Only what names the service: no host or process detectors (a command line may hold a secret).
    resource: resourceFromAttributes({ 'service.name': settings.serviceName, 'service.version': version }),
    sampler: samplerFor(settings.sampler),
    spanProcessors: [new BatchSpanProcessor(exporter, SPAN_QUEUE_LIMITS)],
  });
  const tracer = provider.getTracer('strettch-gateway', version);
  return {
    startRequest: (inbound, attributes) =>
      facade(
        tracer,
        tracer.startSpan(
          'gateway.request',
          { kind: SpanKind.SERVER, attributes: attributesOf(attributes) },
          parentContext(inbound),
        ),
      ),
    async shutdown(timeoutMs) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
      // An unreachable collector must not hold the process: what is not out by then is dropped.
      await Promise.race([provider.shutdown().catch(() => undefined), timeout]).finally(() => clearTimeout(timer));
    },
  };
}
