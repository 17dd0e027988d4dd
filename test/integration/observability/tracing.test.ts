/**
 * Tracing on, end to end: the real gateway exporting to an OTLP/HTTP receiver inside the test, the
 * real sandbox upstream, a real Redis behind the rate schedule. Judged by what the receiver got
 * (span tree, names, kinds, attributes, no secret anywhere in the export) and by what the upstream
 * received (a `traceparent` naming the attempt span).
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { namespacedIdempotencyKey } from '../../../src/gateway/forward/headers';
import type { TracingSettings } from '../../../src/gateway/observability/tracing';
import {
  closedPort,
  createBody,
  MEMBER_KEY,
  OWNER_KEY,
  startGatewayHarness,
  type GatewayHarness,
  type Reply,
} from '../../helpers/gateway-harness';
import { SPAN_KIND, startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../../helpers/otlp-receiver';
import { startRedisServer, type RedisServer } from '../../helpers/redis-server';

const CALLER_TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN_ID = '00f067aa0ba902b7';
const CALLER_TRACEPARENT = `00-${CALLER_TRACE_ID}-${CALLER_SPAN_ID}-01`;

const tracingTo = (receiver: OtlpReceiver): TracingSettings => ({
  enabled: true,
  tracesUrl: receiver.tracesUrl,
  serviceName: 'gateway-under-test',
  sampler: { kind: 'parentbased_always_on' },
});

const byId = (spans: ReceivedSpan[]) => new Map(spans.map((s) => [s.spanId, s]));
const childrenOf = (spans: ReceivedSpan[], parent: ReceivedSpan) =>
  spans.filter((s) => s.parentSpanId === parent.spanId && s.traceId === parent.traceId);
const rootOf = (spans: ReceivedSpan[], requestId: string) => {
  const roots = spans.filter((s) => s.kind === SPAN_KIND.server && s.attributes['gateway.request_id'] === requestId);
  expect(roots).toHaveLength(1);
  return roots[0]!;
};

describe('tracing on: spans of the request path, exported over OTLP/HTTP', () => {
  let redis: RedisServer;
  let receiver: OtlpReceiver;
  let h: GatewayHarness;
  let spans: ReceivedSpan[];
  const secrets: string[] = [];
  const replies: Record<string, Reply> = {};
  const upstreamSaw: Record<string, Record<string, string>> = {};
  let burst: Reply[] = [];
  let idempotencyKey: string;

  beforeAll(async () => {
    redis = await startRedisServer();
    receiver = await startOtlpReceiver();
    h = await startGatewayHarness({
      sandbox: { limits: { readPerSecond: 1000, writePerSecond: 1000 } },
      schedule: { redisUrl: redis.url, expectedReplicas: 1 },
      // The gateway's own warm-up requests are not traffic: they must leave no trace.
      warmUpConnections: 2,
      // Slow enough that a burst of reads must queue for its slots.
      readPerSecond: 50,
      // Its would-be denials are only logged: a warning written deep in least privilege, mid-request.
      extraCallers: `  shadowed: { account: main, scopes: ["*"], constraints: { create: { regions: [NOWHERE-1] } }, shadow: true }\n`,
      tracing: tracingTo(receiver),
    });
    const token = (caller: string) => {
      const minted = h.mint(caller);
      secrets.push(minted);
      return `Bearer ${minted}`;
    };
    const lastUpstreamHeaders = () => ({ ...h.stats().lastRequest!.headers });

    // A caller's trace continued; its tracestate forwarded.
    replies.continued = await h.request('GET', '/api/v1/computes', {
      headers: { authorization: token('operator'), traceparent: CALLER_TRACEPARENT, tracestate: 'vendor=abc' },
    });
    upstreamSaw.continued = lastUpstreamHeaders();
    // A caller that did not sample its trace: the gateway follows (the default sampler is parent-based).
    replies.unsampled = await h.request('GET', '/api/v1/computes', {
      headers: { authorization: token('operator'), traceparent: CALLER_TRACEPARENT.replace(/01$/, '00') },
    });
    upstreamSaw.unsampled = lastUpstreamHeaders();
    // A malformed traceparent: a new trace, nothing of it forwarded.
    replies.malformed = await h.request('GET', '/api/v1/computes', {
      headers: { authorization: token('operator'), traceparent: `00-${'Z'.repeat(32)}-evil-01`, tracestate: 'a=b' },
    });
    upstreamSaw.malformed = lastUpstreamHeaders();
    // A write with a body and an Idempotency-Key: neither may reach a span.
    idempotencyKey = randomUUID();
    secrets.push(idempotencyKey, namespacedIdempotencyKey('operator', idempotencyKey), 'trace-secret-host');
    replies.create = await h.request('POST', '/api/v1/computes', {
      headers: {
        authorization: token('operator'),
        'content-type': 'application/json',
        'idempotency-key': idempotencyKey,
      },
      body: createBody('trace-secret-host'),
    });
    replies.shadowed = await h.request('POST', '/api/v1/computes', {
      headers: {
        authorization: token('shadowed'),
        'content-type': 'application/json',
        'idempotency-key': randomUUID(),
      },
      body: createBody('shadowed-host'),
    });
    // Denied after authentication (scope), and at authentication (a forged token).
    replies.forbidden = await h.request('POST', '/api/v1/computes/1/stop', {
      headers: { authorization: token('reader') },
    });
    const forged = `${h.mint('operator').slice(0, -4)}AAAA`;
    secrets.push(forged);
    replies.unauthorized = await h.request('GET', '/api/v1/computes', {
      headers: { authorization: `Bearer ${forged}` },
    });
    // A burst, so that some requests wait for their slot on the shared schedule.
    const burstToken = token('operator');
    burst = await Promise.all(
      Array.from({ length: 12 }, () => h.request('GET', '/api/v1/images', { headers: { authorization: burstToken } })),
    );
    secrets.push(OWNER_KEY.key, MEMBER_KEY.key, h.keys.hmacSecret, h.keys.sentinelApiKey);
    // Closing flushes the batch processor: everything the gateway traced is at the receiver after this.
    await h.close();
    spans = receiver.spans();
  }, 60_000);

  afterAll(async () => {
    await h?.close();
    await receiver?.close();
    await redis?.stop();
  });

  it('answers as without tracing', () => {
    expect(replies.continued!.status).toBe(200);
    expect(replies.malformed!.status).toBe(200);
    expect(replies.create!.status).toBe(202);
    expect(replies.forbidden!.status).toBe(403);
    expect(replies.unauthorized!.status).toBe(401);
    expect(burst.map((r) => r.status)).toEqual(burst.map(() => 200));
  });

  it("continues the caller's trace: root SERVER span under the caller's span, children under it", () => {
    const root = rootOf(spans, replies.continued!.requestId);
    expect(root).toMatchObject({
      traceId: CALLER_TRACE_ID,
      parentSpanId: CALLER_SPAN_ID,
      name: 'computes.list',
      resource: { 'service.name': 'gateway-under-test' },
    });
    expect(root.attributes).toMatchObject({
      'http.request.method': 'GET',
      'http.route': 'GET /computes',
      'gateway.operation': 'computes.list',
      'gateway.caller': 'operator',
      'gateway.account': 'main',
      'http.response.status_code': 200,
      'gateway.upstream_status': 200,
      'gateway.attempts': 1,
    });
    const children = childrenOf(spans, root);
    // A slot released late (a stalled event loop on a busy machine) is not used: the request waits
    // for another, in a rate_slot span of its own. Those are the only extra spans allowed.
    const slotWaits = children.filter((s) => s.name === 'gateway.rate_slot');
    expect(slotWaits.map((s) => s.attributes['gateway.rate_slot.outcome']).sort()).toEqual([
      ...slotWaits.slice(1).map(() => 'late'),
      'slot',
    ]);
    expect(children.map((s) => s.name).sort()).toEqual([
      'gateway.authenticate',
      'gateway.least_privilege',
      'gateway.least_privilege',
      ...slotWaits.map(() => 'gateway.rate_slot'),
      'gateway.upstream_attempt',
    ]);
    expect(children.find((s) => s.name === 'gateway.authenticate')!.attributes).toMatchObject({
      'gateway.outcome': 'passed',
    });
    expect(
      children
        .filter((s) => s.name === 'gateway.least_privilege')
        .map((s) => s.attributes['gateway.least_privilege.check']),
    ).toEqual(expect.arrayContaining(['body', 'target']));
    const slot = slotWaits.find((s) => s.attributes['gateway.rate_slot.outcome'] === 'slot')!;
    expect(slot.kind).toBe(SPAN_KIND.internal);
    expect(slot.attributes).toMatchObject({
      'gateway.rate_class': 'read',
      'gateway.account': 'main',
      'gateway.rate_slot.outcome': 'slot',
      'gateway.rate_slot.wait_ms': expect.any(Number),
    });
    const attempt = children.find((s) => s.name === 'gateway.upstream_attempt')!;
    expect(attempt.kind).toBe(SPAN_KIND.client);
    expect(attempt.attributes).toMatchObject({ 'gateway.attempt': 1, 'http.response.status_code': 200 });
  });

  it('forwards upstream a traceparent naming the attempt span, and the caller’s tracestate', () => {
    const root = rootOf(spans, replies.continued!.requestId);
    const attempt = childrenOf(spans, root).find((s) => s.name === 'gateway.upstream_attempt')!;
    expect(upstreamSaw.continued!.traceparent).toBe(`00-${CALLER_TRACE_ID}-${attempt.spanId}-01`);
    expect(upstreamSaw.continued!.tracestate).toBe('vendor=abc');
  });

  it("follows a caller's decision not to sample: nothing exported, the trace still propagated unsampled", () => {
    expect(replies.unsampled!.status).toBe(200);
    expect(spans.filter((s) => s.attributes['gateway.request_id'] === replies.unsampled!.requestId)).toEqual([]);
    const forwarded = upstreamSaw.unsampled!.traceparent!;
    expect(forwarded).toMatch(new RegExp(`^00-${CALLER_TRACE_ID}-[0-9a-f]{16}-00$`));
    expect(forwarded).not.toContain(CALLER_SPAN_ID);
  });

  it("traces none of the gateway's own warm-up requests", async () => {
    const warmUps = h.logLines.filter((line) => line.includes('gateway-warm-up-'));
    expect(warmUps.length).toBeGreaterThan(0);
    expect(spans.filter((s) => String(s.attributes['gateway.request_id']).startsWith('gateway-warm-up-'))).toEqual([]);
  });

  it('starts a new trace for a malformed traceparent and forwards none of it', () => {
    const root = rootOf(spans, replies.malformed!.requestId);
    expect(root.parentSpanId).toBeUndefined();
    expect(root.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(root.traceId).not.toBe(CALLER_TRACE_ID);
    const attempt = childrenOf(spans, root).find((s) => s.name === 'gateway.upstream_attempt')!;
    expect(upstreamSaw.malformed!.traceparent).toBe(`00-${root.traceId}-${attempt.spanId}-01`);
    // A tracestate beside a traceparent the gateway could not read belongs to no trace it knows.
    expect(upstreamSaw.malformed).not.toHaveProperty('tracestate');
    expect(JSON.stringify(upstreamSaw.malformed)).not.toContain('evil');
  });

  it('records the slot wait of every request, as the access line does', async () => {
    let waited = 0;
    for (const reply of burst) {
      const root = rootOf(spans, reply.requestId);
      const slot = childrenOf(spans, root).find((s) => s.name === 'gateway.rate_slot')!;
      const line = await h.accessLine(reply.requestId);
      expect(slot.attributes['gateway.rate_slot.wait_ms']).toBe(line.queueWaitMs);
      expect(root.attributes['gateway.queue_wait_ms']).toBe(line.queueWaitMs);
      if (Number(line.queueWaitMs) > 0) waited += 1;
    }
    // Twelve reads at once on a 50/s schedule: most wait for their slot.
    expect(waited).toBeGreaterThan(6);
  });

  it('gives a denied request a root span with the rejection, and stops where the request stopped', () => {
    const forbidden = rootOf(spans, replies.forbidden!.requestId);
    expect(forbidden.attributes).toMatchObject({
      'gateway.rejection.code': 'FORBIDDEN',
      'gateway.rejection.reason': 'missing-scope:computes:power',
      'http.response.status_code': 403,
      'gateway.caller': 'reader',
    });
    expect(childrenOf(spans, forbidden).map((s) => s.name)).toEqual(['gateway.authenticate']);

    const unauthorized = rootOf(spans, replies.unauthorized!.requestId);
    expect(unauthorized.attributes).toMatchObject({
      'gateway.rejection.code': 'UNAUTHORIZED',
      'http.response.status_code': 401,
    });
    expect(unauthorized.attributes).not.toHaveProperty('gateway.caller');
    const [authenticate] = childrenOf(spans, unauthorized);
    expect(authenticate).toMatchObject({ name: 'gateway.authenticate' });
    expect(authenticate!.attributes).toMatchObject({
      'gateway.outcome': 'denied',
      'gateway.rejection.code': 'UNAUTHORIZED',
    });
  });

  it('puts the trace id and the root span id in the access line', async () => {
    for (const reply of [replies.continued!, replies.forbidden!, replies.unauthorized!]) {
      const root = rootOf(spans, reply.requestId);
      const line = await h.accessLine(reply.requestId);
      expect([line.trace_id, line.span_id]).toEqual([root.traceId, root.spanId]);
    }
  });

  it('puts the trace id in a warning logged deep in the request path on its behalf', () => {
    expect(replies.shadowed!.status).toBe(202);
    const root = rootOf(spans, replies.shadowed!.requestId);
    const warnings = h.logLines
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((line) => line.msg === 'shadow mode: this request would have been denied');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ caller: 'shadowed', trace_id: root.traceId, span_id: root.spanId });
  });

  it('exports no token, key, secret, idempotency key or body, in any attribute or resource attribute', () => {
    expect(receiver.rawBodies.length).toBeGreaterThan(0);
    const exported = receiver.rawBodies.join('\n');
    for (const secret of secrets) expect(exported).not.toContain(secret);
    expect(exported).not.toMatch(/Bearer /i);
    const names = new Set(spans.flatMap((s) => [...Object.keys(s.attributes), ...Object.keys(s.resource)]));
    for (const name of names) expect(name).not.toMatch(/authorization|token|key|secret|body|idempotency/i);
  });
});

describe('tracing on: a retried request has one attempt span per attempt', () => {
  let receiver: OtlpReceiver;
  let h: GatewayHarness;
  let upstream: http.Server;
  const traceparents: string[] = [];

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    // The first attempt of each request gets a 503, the second an answer.
    const seen = new Set<string>();
    upstream = http.createServer((req, res) => {
      traceparents.push(String(req.headers.traceparent));
      const requestId = String(req.headers['x-request-id']);
      const first = !seen.has(requestId);
      seen.add(requestId);
      res.writeHead(first ? 503 : 200, { 'content-type': 'application/json' });
      res.end(first ? '{"error":"no healthy backend"}' : '[]');
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const { port } = upstream.address() as AddressInfo;
    h = await startGatewayHarness({
      upstream: { baseUrl: `http://127.0.0.1:${port}/api/v1` },
      tracing: tracingTo(receiver),
    });
  });

  afterAll(async () => {
    await h?.close();
    await receiver?.close();
    await new Promise<void>((resolve) => upstream?.close(() => resolve()));
  });

  it('two CLIENT spans, attempt 1 (503) and 2 (200, retried after status-503), each the upstream’s parent', async () => {
    const reply = await h.as('operator', 'GET', '/api/v1/images');
    expect(reply.status).toBe(200);
    await h.close();
    const spans = receiver.spans();
    const root = rootOf(spans, reply.requestId);
    expect(root.attributes).toMatchObject({ 'gateway.attempts': 2, 'http.response.status_code': 200 });
    const attempts = childrenOf(spans, root)
      .filter((s) => s.name === 'gateway.upstream_attempt')
      .sort((a, b) => Number(a.attributes['gateway.attempt']) - Number(b.attributes['gateway.attempt']));
    expect(
      attempts.map((s) => [s.kind, s.attributes['gateway.attempt'], s.attributes['http.response.status_code']]),
    ).toEqual([
      [SPAN_KIND.client, 1, 503],
      [SPAN_KIND.client, 2, 200],
    ]);
    expect(attempts[0]!.attributes).not.toHaveProperty('gateway.retry.reason');
    expect(attempts[1]!.attributes['gateway.retry.reason']).toBe('status-503');
    expect(attempts[0]!.status.code).toBe(2); // ERROR
    expect(childrenOf(spans, root).filter((s) => s.name === 'gateway.rate_slot')).toHaveLength(2);
    expect(traceparents).toEqual(attempts.map((s) => `00-${root.traceId}-${s.spanId}-01`));
    expect(byId(spans).size).toBe(spans.length);
  });
});

describe('tracing on, the collector unreachable', () => {
  it('answers every request as usual, and a stop waits for the spans at most its bound', async () => {
    const h = await startGatewayHarness({
      tracing: {
        enabled: true,
        tracesUrl: `http://127.0.0.1:${await closedPort()}/v1/traces`,
        serviceName: 'gateway-under-test',
        sampler: { kind: 'always_on' },
      },
    });
    try {
      const replies = await Promise.all(Array.from({ length: 20 }, () => h.as('operator', 'GET', '/api/v1/regions')));
      expect(replies.map((r) => r.status)).toEqual(replies.map(() => 200));
      expect((await h.accessLine(replies[0]!.requestId)).trace_id).toMatch(/^[0-9a-f]{32}$/);
    } finally {
      const stoppingAt = Date.now();
      await h.close();
      // The flush is bounded to 2 s; the drain and the sandbox take a little more.
      expect(Date.now() - stoppingAt).toBeLessThan(4000);
    }
  });
});
