/**
 * SIGTERM-like drain: `close()` stops taking connections at once, lets the request in flight finish
 * with its real answer, and cuts only what is still running when the grace period ends.
 */
import { startGatewayHarness, type GatewayHarness } from '../../helpers/gateway-harness';

const LATENCY_MS = 400;

/** Resolves once the sandbox has received a request (it then holds it for its latency). */
async function upstreamReceived(h: GatewayHarness): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    if (h.stats().lastRequest !== null) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error('the upstream never received the request');
}

describe('close() while a slow request is in flight', () => {
  let h: GatewayHarness;
  beforeAll(async () => {
    h = await startGatewayHarness({ sandbox: { latencyMs: LATENCY_MS } });
  });
  afterAll(() => h.close());

  it('the in-flight request completes with 200; a new connection is refused; close resolves after it', async () => {
    h.resetUpstream();
    const startedMs = Date.now();
    const inFlight = h.as('operator', 'GET', '/api/v1/regions');
    await upstreamReceived(h);

    let closedAtMs: number | undefined;
    const closing = h.closeGateway().then(() => (closedAtMs = Date.now()));
    await new Promise((resolve) => setImmediate(resolve));

    await expect(h.as('operator', 'GET', '/api/v1/regions')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await expect(h.request('GET', '/api/v1/health')).rejects.toMatchObject({ code: 'ECONNREFUSED' });

    const reply = await inFlight;
    const answeredAtMs = Date.now();
    expect([reply.status, reply.body.success]).toEqual([200, true]);
    expect(reply.body.data[0]).toMatchObject({ region: 'KGL-1' });
    expect(answeredAtMs - startedMs).toBeGreaterThanOrEqual(LATENCY_MS - 20);
    expect(await h.accessLine(reply.requestId)).toMatchObject({ status: 200, upstreamStatus: 200, completed: true });

    await closing;
    expect(closedAtMs!).toBeGreaterThanOrEqual(answeredAtMs - 50);
    // Nothing idles until a keep-alive timeout: close is prompt once the last response is out.
    expect(closedAtMs! - answeredAtMs).toBeLessThan(1000);
    // Only the sandbox saw the one request: the refused ones never reached it.
    expect(h.stats().keys[h.labelOf('main')]!.classes.all.admitted).toBe(1);
  });
});

describe('close() past its grace period', () => {
  let h: GatewayHarness;
  beforeAll(async () => {
    h = await startGatewayHarness({ sandbox: { latencyMs: 2_000 }, drainMs: 100 });
  });
  afterAll(() => h.close());

  it('cuts a request still running when the grace period ends, and resolves', async () => {
    h.resetUpstream();
    const inFlight = h.as('operator', 'GET', '/api/v1/regions');
    await upstreamReceived(h);
    const startedMs = Date.now();
    await h.closeGateway();
    expect(Date.now() - startedMs).toBeLessThan(1000);
    await expect(inFlight).rejects.toMatchObject({ code: 'ECONNRESET' });
  });
});
