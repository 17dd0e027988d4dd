/**
 * The warm-up at start (what the CLI does): before the gateway reports ready, a few requests run
 * through its own public port to the upstream's health operation — no key, no rate slot — so the
 * first real requests find warm code and open upstream connections. An upstream that is down does
 * not stop the start.
 */
import { closedPort, startGatewayHarness, type GatewayHarness } from '../../helpers/gateway-harness';

let h: GatewayHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

test('a warmed gateway has sent the health operation upstream, keyless, before it returned from start', async () => {
  h = await startGatewayHarness({ warmUpConnections: 3 });
  const last = h.stats().lastRequest;
  expect(last).toMatchObject({ method: 'GET', target: '/api/v1/health', key: null });
  expect(last!.headers.authorization).toBeUndefined();
  const lines = h.logLines.map(
    (l) => JSON.parse(l) as { msg: string; level: number; answered?: number; operation?: string; requestId?: string },
  );
  expect(lines.find((l) => l.msg === 'upstream path warmed up')).toMatchObject({ answered: 3, level: 20 });
  // Its access lines are debug: a start prints its banner, not health lines.
  const access = lines.filter((l) => l.msg === 'request' && l.operation === 'health');
  expect(access).toHaveLength(3);
  expect(access.every((l) => l.level === 20 && l.requestId!.startsWith('gateway-warm-up-'))).toBe(true);
  // No rate slot was taken, and the gateway is ready.
  expect(h.gateway.schedule.stats().granted.memory).toBe(0);
  expect((await fetch(`${h.gateway.adminUrl}/readyz`)).status).toBe(200);
});

test('a caller cannot hide its requests with the warm-up prefix: only the public health operation is quiet', async () => {
  h = await startGatewayHarness();
  const reply = await h.request('GET', '/api/v1/computes', {
    headers: { authorization: `Bearer ${h.mint('operator')}`, 'x-request-id': 'gateway-warm-up-1' },
  });
  expect(reply.status).toBe(200);
  const lines = h.logLines.map((l) => JSON.parse(l) as { msg: string; level: number; requestId?: string });
  expect(lines.find((l) => l.msg === 'request' && l.requestId === 'gateway-warm-up-1')).toMatchObject({ level: 30 });
});

test('without a warm-up (the default for embedding and tests) the upstream sees nothing at start', async () => {
  h = await startGatewayHarness();
  expect(h.stats().lastRequest).toBeNull();
});

test('an upstream that is down does not hold the start', async () => {
  const started = Date.now();
  h = await startGatewayHarness({
    warmUpConnections: 3,
    upstream: { baseUrl: `http://127.0.0.1:${await closedPort()}/api/v1` },
  });
  expect(Date.now() - started).toBeLessThan(2500);
  expect((await fetch(`${h.gateway.adminUrl}/readyz`)).status).toBe(200);
});
