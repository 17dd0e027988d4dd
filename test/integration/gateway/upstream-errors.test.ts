/**
 * Upstream failures map to the gateway's codes (502, 504, 413); upstream answers — errors and
 * rate-limit headers included — stream back unchanged; redirects are neither followed nor relayed.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  OWNER_KEY,
  closedPort,
  createBody,
  startGatewayHarness,
  type GatewayHarness,
  type Reply,
} from '../../helpers/gateway-harness';

const UPSTREAM_TIMEOUT_MS = 300;
const READ_LIMIT = 3;
const MAX_BODY_BYTES = 64 * 1024;

let h: GatewayHarness;
beforeAll(async () => {
  h = await startGatewayHarness({
    sandbox: { limits: { readPerSecond: READ_LIMIT, writePerSecond: 1000 } },
    upstream: { timeoutMs: UPSTREAM_TIMEOUT_MS },
  });
});
afterAll(() => h.close());
beforeEach(() => h.resetUpstream());

/** The same request straight to the sandbox, with the account's real key. */
const direct = (method: string, target: string, headers: Record<string, string> = {}, body?: string): Promise<Reply> =>
  h.request(method, target, {
    port: h.sandbox.port,
    headers: { authorization: `Bearer ${OWNER_KEY.key}`, ...headers },
    ...(body !== undefined ? { body } : {}),
  });

const withoutTimestamp = (body: Record<string, unknown>) => ({ ...body, timestamp: undefined });
const rateHeaders = (reply: Reply) =>
  Object.keys(reply.headers)
    .filter((name) => name.startsWith('x-ratelimit-') || name === 'retry-after')
    .sort();

describe('upstream answers stream back unchanged', () => {
  const JSON_HEADERS = { 'content-type': 'application/json' };
  it.each([
    ['GET', '/api/v1/computes/999999', 404, 'RESOURCE_NOT_FOUND', {}, undefined],
    ['POST', '/api/v1/computes/999999/start', 404, 'RESOURCE_NOT_FOUND', {}, undefined],
    [
      'POST',
      '/api/v1/computes',
      400,
      'VALIDATION_ERROR',
      { ...JSON_HEADERS, 'idempotency-key': '6f1c5c6e-1d2b-4c3a-9e8f-0a1b2c3d4e5f' },
      '{"hostName":"x"}',
    ],
    [
      'PATCH',
      '/api/v1/computes/999999/upsize',
      404,
      'RESOURCE_NOT_FOUND',
      JSON_HEADERS,
      '{"newSpecification":"S-2C-4G"}',
    ],
  ] as const)(
    '%s %s → %d %s, as the sandbox answers it directly',
    async (method, target, status, code, headers, body) => {
      const requestId = `compare-${crypto.randomUUID()}`;
      const proxied = await h.as('operator', method, target, {
        headers: { ...headers, 'x-request-id': requestId },
        ...(body !== undefined ? { body } : {}),
      });
      h.resetUpstream();
      const straight = await direct(method, target, { ...headers, 'x-request-id': requestId }, body);
      expect([proxied.status, proxied.body.code]).toEqual([status, code]);
      expect(proxied.status).toBe(straight.status);
      expect(withoutTimestamp(proxied.body)).toEqual(withoutTimestamp(straight.body));
      expect(proxied.headers['content-type']).toBe(straight.headers['content-type']);
      expect(proxied.headers['cache-control']).toBe(straight.headers['cache-control']);
      expect(rateHeaders(proxied)).toEqual(rateHeaders(straight));
      expect(rateHeaders(proxied)).toContain('x-ratelimit-limit-second');
      expect(await h.accessLine(proxied.requestId)).toMatchObject({ status, upstreamStatus: status });
    },
  );

  it('a limit above the documented 100 is answered by the gateway with the code the sandbox gives', async () => {
    const proxied = await h.withoutUpstream(() => h.as('operator', 'GET', '/api/v1/computes?limit=101'));
    const straight = await direct('GET', '/api/v1/computes?limit=101');
    expect([proxied.status, proxied.body.code]).toEqual([400, 'VALIDATION_ERROR']);
    expect([proxied.status, proxied.body.code]).toEqual([straight.status, straight.body.code]);
    expect(proxied.body.message).toBe('Query parameter "limit" must be a whole number from 1 to 100.');
  });

  it('a 429 with its rate-limit headers and Retry-After passes through unchanged', async () => {
    let limited: Reply | undefined;
    // A fixed one-second window may restart in between; a few more tries get past it.
    for (let attempt = 0; attempt < 3 * READ_LIMIT + 3 && !limited; attempt++) {
      const reply = await h.as('operator', 'GET', '/api/v1/regions');
      if (reply.status === 429) limited = reply;
      else expect(reply.status).toBe(200);
    }
    expect(limited).toBeDefined();
    // The direct call may land in the next fixed window too; a few more tries reach its limit.
    let straight = await direct('GET', '/api/v1/regions');
    for (let attempt = 0; attempt < READ_LIMIT + 1 && straight.status !== 429; attempt++)
      straight = await direct('GET', '/api/v1/regions');
    expect(straight.status).toBe(429);
    expect(limited!.body).toMatchObject({ success: false, code: 'TOO_MANY_REQUESTS' });
    expect(limited!.body.message).toBe(straight.body.message);
    expect(rateHeaders(limited!)).toEqual([
      'retry-after',
      'x-ratelimit-limit-second',
      'x-ratelimit-remaining-second',
      'x-ratelimit-reset-second',
    ]);
    expect(limited!.headers['x-ratelimit-limit-second']).toBe(String(READ_LIMIT));
    expect(limited!.headers['x-ratelimit-remaining-second']).toBe('0');
    expect(Number(limited!.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(await h.accessLine(limited!.requestId)).toMatchObject({ status: 429, upstreamStatus: 429 });
  });

  it('an injected upstream 500 is the upstream\u2019s answer, relayed as it is', async () => {
    h.sandbox.referee.setFaults({ errorRate: 1 });
    const reply = await h.as('operator', 'GET', '/api/v1/images');
    expect([reply.status, reply.body.code]).toEqual([500, 'INTERNAL_SERVER_ERROR']);
    expect(reply.body.message).not.toBe('The gateway failed to handle the request.');
    expect(await h.accessLine(reply.requestId)).toMatchObject({ upstreamStatus: 500 });
  });
});

describe('upstream failures', () => {
  it('an upstream slower than upstream.timeoutMs → 504 UPSTREAM_TIMEOUT, in time', async () => {
    h.sandbox.referee.setFaults({ latencyMs: 5 * UPSTREAM_TIMEOUT_MS });
    const startedMs = Date.now();
    const reply = await h.as('operator', 'GET', '/api/v1/regions');
    const elapsedMs = Date.now() - startedMs;
    expect([reply.status, reply.body.code]).toEqual([504, 'UPSTREAM_TIMEOUT']);
    expect(elapsedMs).toBeGreaterThanOrEqual(UPSTREAM_TIMEOUT_MS - 20);
    expect(elapsedMs).toBeLessThan(3 * UPSTREAM_TIMEOUT_MS);
    expect(await h.accessLine(reply.requestId)).toMatchObject({ status: 504, reason: 'upstream-timeout' });
  });

  it('an upstream that drops the connection → 502 UPSTREAM_UNAVAILABLE', async () => {
    h.sandbox.referee.setFaults({ dropRate: 1 });
    const reply = await h.as('operator', 'GET', '/api/v1/regions');
    expect([reply.status, reply.body.code]).toEqual([502, 'UPSTREAM_UNAVAILABLE']);
    expect((await h.accessLine(reply.requestId)).reason).toMatch(/^upstream-/);
  });

  it.each([
    ['declared with Content-Length', false],
    ['streamed with chunked encoding', true],
  ])('a body over 64 KiB (%s) → 413 PAYLOAD_TOO_LARGE, upstream never called', async (_name, chunked) => {
    const body = createBody('x'.repeat(MAX_BODY_BYTES));
    const reply = await h.withoutUpstream(() =>
      h.as('operator', 'POST', '/api/v1/computes', {
        headers: {
          'content-type': 'application/json',
          'idempotency-key': crypto.randomUUID(),
          ...(chunked ? { 'transfer-encoding': 'chunked' } : {}),
        },
        body,
      }),
    );
    expect([reply.status, reply.body.code]).toEqual([413, 'PAYLOAD_TOO_LARGE']);
  });

  it('a body of exactly 64 KiB is forwarded whole', async () => {
    const padding = MAX_BODY_BYTES - Buffer.byteLength(JSON.stringify({ ...JSON.parse(createBody()), tags: [''] }));
    const body = JSON.stringify({ ...JSON.parse(createBody()), tags: ['t'.repeat(padding)] });
    expect(Buffer.byteLength(body)).toBe(MAX_BODY_BYTES);
    const reply = await h.as('operator', 'POST', '/api/v1/computes', {
      headers: { 'content-type': 'application/json', 'idempotency-key': crypto.randomUUID() },
      body,
    });
    expect(reply.status).toBe(202);
    expect(h.stats().lastRequest!.headers['content-length']).toBe(String(MAX_BODY_BYTES));
  });
});

describe('an unreachable or misbehaving upstream', () => {
  const harnesses: GatewayHarness[] = [];
  let redirector: http.Server | undefined;
  afterAll(async () => {
    await Promise.all(harnesses.map((x) => x.close()));
    if (redirector) await new Promise<void>((resolve) => redirector!.close(() => resolve()));
  });

  it('the sandbox stopped → 502 UPSTREAM_UNAVAILABLE', async () => {
    const stopped = await startGatewayHarness();
    harnesses.push(stopped);
    expect((await stopped.as('operator', 'GET', '/api/v1/regions')).status).toBe(200);
    await stopped.sandbox.close();
    const reply = await stopped.as('operator', 'GET', '/api/v1/regions');
    expect([reply.status, reply.body.code]).toEqual([502, 'UPSTREAM_UNAVAILABLE']);
    expect((await stopped.accessLine(reply.requestId)).reason).toMatch(/^upstream-(ECONNREFUSED|ECONNRESET|EPIPE)/);
  });

  it('an upstream base URL on a closed port → 502 UPSTREAM_UNAVAILABLE', async () => {
    const refused = await startGatewayHarness({
      upstream: { baseUrl: `http://127.0.0.1:${await closedPort()}/api/v1` },
    });
    harnesses.push(refused);
    const reply = await refused.as('operator', 'GET', '/api/v1/computes');
    expect([reply.status, reply.body.code]).toEqual([502, 'UPSTREAM_UNAVAILABLE']);
    expect(await refused.accessLine(reply.requestId)).toMatchObject({ reason: 'upstream-ECONNREFUSED' });
  });

  it('an upstream answering 302 → 502, the redirect neither followed nor relayed', async () => {
    let followed = 0;
    redirector = http.createServer((req, res) => {
      if (req.url?.startsWith('/followed')) followed++;
      res.writeHead(302, {
        location: `http://127.0.0.1:${(redirector!.address() as AddressInfo).port}/followed`,
        'set-cookie': 'upstream=1',
      });
      res.end('redirecting');
    });
    await new Promise<void>((resolve) => redirector!.listen(0, '127.0.0.1', resolve));
    const redirecting = await startGatewayHarness({
      upstream: { baseUrl: `http://127.0.0.1:${(redirector.address() as AddressInfo).port}/api/v1` },
    });
    harnesses.push(redirecting);
    const reply = await redirecting.as('operator', 'GET', '/api/v1/regions');
    expect([reply.status, reply.body.code]).toEqual([502, 'UPSTREAM_UNAVAILABLE']);
    expect(reply.headers.location).toBeUndefined();
    expect(reply.headers['set-cookie']).toBeUndefined();
    expect(reply.text).not.toContain('followed');
    expect(followed).toBe(0);
    expect(await redirecting.accessLine(reply.requestId)).toMatchObject({
      status: 502,
      upstreamStatus: 302,
      reason: 'upstream-redirect',
    });
  });
});
