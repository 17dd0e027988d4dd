/**
 * The gateway's own view of a trace: what the request path needs from a span, and nothing of
 * OpenTelemetry's types. With tracing off there is no tracer and no span at all (`undefined`), so
 * the request path pays one property check per step; the SDK is never loaded (`index.ts`).
 */
import type { InboundTraceContext } from './trace-context';

export type SpanAttributeValue = string | number | boolean;
/** Undefined values are skipped, so call sites can pass optional facts as they are. */
export type SpanAttributes = Readonly<Record<string, SpanAttributeValue | undefined>>;

export interface GatewaySpan {
  readonly traceId: string;
  readonly spanId: string;
  /** `traceparent` naming this span, for the request it stands for (an upstream attempt). */
  readonly traceparent: string;
  rename(name: string): void;
  set(attributes: SpanAttributes): void;
  /** Marks the span as failed (status ERROR), with a reason from the gateway's closed set. */
  fail(reason: string): void;
  child(name: string, options?: { kind?: 'internal' | 'client'; attributes?: SpanAttributes }): GatewaySpan;
  end(): void;
}

export interface RequestTracer {
  /** The request's root (`SERVER`) span: a child of the caller's span when it sent a valid `traceparent`. */
  startRequest(inbound: InboundTraceContext | undefined, attributes: SpanAttributes): GatewaySpan;
  /** Exports what is queued and stops; bounded by `timeoutMs`, after which the rest is dropped. */
  shutdown(timeoutMs: number): Promise<void>;
}

/** Runs `step` inside a child span of `parent` (none when tracing is off) and ends it, whatever happens. */
export async function inChildSpan<T>(
  parent: GatewaySpan | undefined,
  name: string,
  step: (span: GatewaySpan | undefined) => Promise<T>,
  describe?: (result: T, span: GatewaySpan) => void,
): Promise<T> {
  if (!parent) return step(undefined);
  const span = parent.child(name);
  try {
    const result = await step(span);
    describe?.(result, span);
    return result;
  } catch (error) {
    span.fail('exception');
    throw error;
  } finally {
    span.end();
  }
}

/** The outcome of a `Checked` step on its span: passed, or denied with the rejection's code and reason. */
export function describeChecked(
  checked: { ok: true } | { ok: false; rejection: { code: string; reason?: string } },
  span: GatewaySpan,
): void {
  if (checked.ok) span.set({ 'gateway.outcome': 'passed' });
  else
    span.set({
      'gateway.outcome': 'denied',
      'gateway.rejection.code': checked.rejection.code,
      'gateway.rejection.reason': checked.rejection.reason,
    });
}
