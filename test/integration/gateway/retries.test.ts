/**
 * Retries through the real gateway: the sandbox drops connections after performing the operation
 * (the case idempotent retries exist for), a small upstream answers 503 then recovers. Reads and
 * keyed creates are retried and the referee shows no duplicate create; other writes are sent once.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { seededRandom } from '../../../src/sandbox/random';
import { createBody, startGatewayHarness, type GatewayHarness, type Reply } from '../../helpers/gateway-harness';

const JSON_HEADERS = { 'content-type': 'application/json' };

describe('the sandbox drops half the connections after performing the operation', () => {
  let h: GatewayHarness;
  beforeAll(async () => {
    // Sandbox limits out of the way: the harness's gateway schedule is deliberately loose.
    h = await startGatewayHarness({
      sandbox: { random: seededRandom(7), limits: { readPerSecond: 1000, writePerSecond: 1000 } },
    });
  });
  afterAll(() => h.close());

  const dropHalf = async () => {
    h.resetUpstream();
    await fetch(`${h.sandbox.url}/_sandbox/faults`, {
      method: 'PUT',
      headers: JSON_HEADERS,
      body: JSON.stringify({ dropRate: 0.5 }),
    });
  };
  const noFaults = () =>
    fetch(`${h.sandbox.url}/_sandbox/faults`, {
      method: 'PUT',
      headers: JSON_HEADERS,
      body: JSON.stringify({ dropRate: 0 }),
    });
  const upstreamRequests = () =>
    Object.values(h.stats().keys).reduce((sum, k) => sum + k.classes.read.admitted + k.classes.write.admitted, 0);

  it('reads: each attempt reaches the upstream, a dropped one is tried again, at most three times', async () => {
    await dropHalf();
    const replies: Reply[] = [];
    for (let i = 0; i < 24; i += 1) replies.push(await h.as('operator', 'GET', '/api/v1/images'));
    const lines = await Promise.all(replies.map((r) => h.accessLine(String(r.headers['x-request-id']))));
    const attempts = lines.map((l) => Number(l.attempts));
    expect(upstreamRequests()).toBe(attempts.reduce((a, b) => a + b, 0));
    expect(h.stats().faultsInjected.drop).toBe(
      attempts.reduce((a, b) => a + b, 0) - replies.filter((r) => r.status === 200).length,
    );
    expect(Math.max(...attempts)).toBeLessThanOrEqual(3);
    // Retries rescued requests whose first attempt was dropped.
    expect(replies.filter((r, i) => r.status === 200 && attempts[i]! > 1).length).toBeGreaterThan(0);
    replies.forEach((r, i) => {
      expect([200, 502]).toContain(r.status);
      if (r.status === 502) expect([attempts[i], r.body.code]).toEqual([3, 'UPSTREAM_UNAVAILABLE']);
    });
    expect(await h.metricsText()).toMatch(
      /strettch_gateway_upstream_retries_total\{operation="images.list",reason="connection"\} [1-9]/,
    );
    await noFaults();
  });

  it('keyed creates: retried, each 202 is the compute its first attempt made, no duplicate create', async () => {
    await dropHalf();
    const replies: Reply[] = [];
    for (let i = 0; i < 16; i += 1) {
      replies.push(
        await h.as('operator', 'POST', '/api/v1/computes', {
          headers: { ...JSON_HEADERS, 'idempotency-key': crypto.randomUUID() },
          body: createBody(`retry-${i}`),
        }),
      );
    }
    await noFaults();
    const stats = h.stats();
    expect(stats.duplicateCreates.total).toBe(0);
    const accepted = replies.filter((r) => r.status === 202);
    expect(accepted.length).toBeGreaterThan(8);
    const lines = await Promise.all(replies.map((r) => h.accessLine(String(r.headers['x-request-id']))));
    expect(lines.some((l, i) => Number(l.attempts) > 1 && replies[i]!.status === 202)).toBe(true);
    // Every create the upstream performed is one caller request's compute; none was made twice.
    const listed = await h.as('operator', 'GET', '/api/v1/computes?limit=100');
    const byHost = new Map<string, string[]>();
    for (const c of listed.body.data as { id: string; hostName: string }[])
      byHost.set(c.hostName, [...(byHost.get(c.hostName) ?? []), c.id]);
    for (const reply of accepted) expect(byHost.get(reply.body.data.hostName)).toEqual([reply.body.data.id]);
    const performed = Object.values(stats.keys).reduce((sum, k) => sum + k.createsPerformed, 0);
    expect([...byHost.entries()].filter(([host]) => host.startsWith('retry-')).length).toBe(performed);
  });

  it('an unkeyed write (stop) is sent once even when its connection drops', async () => {
    const created = await h.as('operator', 'POST', '/api/v1/computes', {
      headers: { ...JSON_HEADERS, 'idempotency-key': crypto.randomUUID() },
      body: createBody('once'),
    });
    h.resetUpstream();
    await fetch(`${h.sandbox.url}/_sandbox/faults`, {
      method: 'PUT',
      headers: JSON_HEADERS,
      body: JSON.stringify({ dropRate: 1 }),
    });
    const stop = await h.as('operator', 'POST', `/api/v1/computes/${created.body.data.id}/stop`);
    await noFaults();
    expect([stop.status, stop.body.code]).toEqual([502, 'UPSTREAM_UNAVAILABLE']);
    expect(h.stats().keys[h.labelOf('main')]!.classes.write.admitted).toBe(1);
    expect((await h.accessLine(String(stop.headers['x-request-id']))).attempts).toBe(1);
  });
});

describe('an upstream that answers 503 a few times, then recovers', () => {
  let h: GatewayHarness;
  let upstream: http.Server;
  let unavailableLeft = 0;
  let received = 0;
  beforeAll(async () => {
    upstream = http.createServer((req, res) => {
      received += 1;
      req.resume();
      if (unavailableLeft > 0) {
        unavailableLeft -= 1;
        res.writeHead(503, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            success: false,
            code: 'SERVICE_UNAVAILABLE',
            message: 'try again',
            requestId: 'u',
            timestamp: 'now',
          }),
        );
        return;
      }
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ success: true, message: 'ok', data: [], requestId: 'u', timestamp: 'now' }));
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    h = await startGatewayHarness({
      upstream: { baseUrl: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/api/v1` },
    });
  });
  afterAll(async () => {
    await h.close();
    await new Promise((resolve) => upstream.close(resolve));
  });
  beforeEach(() => {
    received = 0;
  });

  it('a read gets the recovered answer after two 503s', async () => {
    unavailableLeft = 2;
    const reply = await h.as('operator', 'GET', '/api/v1/regions');
    expect([reply.status, received]).toEqual([200, 3]);
    expect((await h.accessLine(String(reply.headers['x-request-id']))).attempts).toBe(3);
  });

  it('three 503s: the caller gets the upstream’s own 503 answer, as it came', async () => {
    unavailableLeft = 5;
    const reply = await h.as('operator', 'GET', '/api/v1/regions');
    expect([reply.status, reply.body.code, reply.body.message, received]).toEqual([
      503,
      'SERVICE_UNAVAILABLE',
      'try again',
      3,
    ]);
  });

  it('a 503 on a power action is relayed at once, not retried', async () => {
    unavailableLeft = 1;
    const reply = await h.as('operator', 'POST', '/api/v1/computes/42/reboot');
    expect([reply.status, received]).toEqual([503, 1]);
  });

  it('a short deadline leaves no room for a retry', async () => {
    unavailableLeft = 1;
    const reply = await h.as('operator', 'GET', '/api/v1/regions', { headers: { 'x-max-wait-ms': '0' } });
    expect([reply.status, received]).toEqual([503, 1]);
  });
});
