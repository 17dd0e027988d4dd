/**
 * Tracing off (the default): no OpenTelemetry module is loaded, no span work, no trace fields in
 * the logs — and a caller's valid trace context still reaches the upstream, written back in
 * canonical form, while a malformed one is dropped and none is ever invented.
 */
import { startGatewayHarness, type GatewayHarness } from '../../helpers/gateway-harness';

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

describe('tracing off', () => {
  let h: GatewayHarness;
  beforeAll(async () => {
    h = await startGatewayHarness();
  });
  afterAll(() => h.close());

  const upstreamHeaders = async (headers: Record<string, string>) => {
    h.resetUpstream();
    const reply = await h.as('operator', 'GET', '/api/v1/computes', { headers });
    expect(reply.status).toBe(200);
    return { seen: h.stats().lastRequest!.headers, line: await h.accessLine(reply.requestId) };
  };

  it("forwards a caller's valid traceparent and tracestate, and invents none", async () => {
    const continued = await upstreamHeaders({ traceparent: TRACEPARENT, tracestate: ' vendor=abc , other=x ' });
    expect(continued.seen.traceparent).toBe(TRACEPARENT);
    expect(continued.seen.tracestate).toBe('vendor=abc,other=x');
    const none = await upstreamHeaders({});
    expect(none.seen).not.toHaveProperty('traceparent');
    expect(none.seen).not.toHaveProperty('tracestate');
  });

  it('drops a malformed traceparent (and its tracestate), a later version is written back as 00', async () => {
    const upper = await upstreamHeaders({ traceparent: TRACEPARENT.toUpperCase(), tracestate: 'vendor=abc' });
    expect(upper.seen).not.toHaveProperty('traceparent');
    expect(upper.seen).not.toHaveProperty('tracestate');
    const later = await upstreamHeaders({ traceparent: `${TRACEPARENT.replace(/^00/, '01')}-future` });
    expect(later.seen.traceparent).toBe(TRACEPARENT);
  });

  it('writes no trace fields in the access line', async () => {
    const { line } = await upstreamHeaders({ traceparent: TRACEPARENT });
    expect(line).not.toHaveProperty('trace_id');
    expect(line).not.toHaveProperty('span_id');
  });

  it('never loads the OpenTelemetry SDK, its exporter or the gateway’s SDK module', () => {
    // Jest's require.cache lists this test file's module registry: everything the gateway loaded.
    const loaded = Object.keys(require.cache);
    expect(loaded.some((file) => file.includes('/src/gateway/pipeline.ts'))).toBe(true);
    // prom-client itself requires @opentelemetry/api (for exemplars), traced or not; nothing else may load.
    const sdk = loaded.filter((file) => /@opentelemetry\/(?!api\/)|tracing\/otel-sdk/.test(file));
    expect(sdk).toEqual([]);
  });
});
