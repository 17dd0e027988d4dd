/**
 * What the upstream receives, read from the sandbox referee: the account's real key and nothing of
 * the caller's credentials, no override/forwarding/hop-by-hop headers, the gateway's request id, and
 * Idempotency-Key namespaced per caller so that one caller can never replay another's create.
 */
import { UUID_V4 } from '../../../src/gateway/forward/headers';
import { createBody, startGatewayHarness, type GatewayHarness } from '../../helpers/gateway-harness';

let h: GatewayHarness;
beforeAll(async () => {
  h = await startGatewayHarness({ sandbox: { limits: { readPerSecond: 10_000, writePerSecond: 10_000 } } });
});
afterAll(() => h.close());
beforeEach(() => h.resetUpstream());

const received = () => h.stats().lastRequest!;

/** Headers a caller might send that must never reach the upstream. */
const HOSTILE_HEADERS = {
  cookie: 'session=caller-session-cookie',
  'x-http-method-override': 'DELETE',
  'x-method-override': 'DELETE',
  'x-http-method': 'DELETE',
  forwarded: 'for=203.0.113.9;host=evil.example;proto=https',
  'x-forwarded-for': '203.0.113.9',
  'x-forwarded-host': 'evil.example',
  'x-forwarded-proto': 'https',
  'x-forwarded-port': '443',
  'x-forwarded-prefix': '/admin',
  'x-real-ip': '203.0.113.9',
  'proxy-authorization': 'Basic cHJveHk6c2VjcmV0',
  'x-api-key': 'caller-api-key',
  'x-original-url': '/api/v1/computes/1',
  'x-rewrite-url': '/api/v1/computes/1',
  'x-custom-hop': 'listed-in-connection',
  'keep-alive': 'timeout=5',
  te: 'trailers',
  upgrade: 'websocket',
  connection: 'close, x-custom-hop, accept, keep-alive, te, upgrade',
  accept: 'application/json',
};

const FORBIDDEN_UPSTREAM_HEADERS = [
  'cookie',
  'x-http-method-override',
  'x-method-override',
  'x-http-method',
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  'x-forwarded-port',
  'x-forwarded-prefix',
  'x-real-ip',
  'proxy-authorization',
  'x-api-key',
  'x-original-url',
  'x-rewrite-url',
  'x-custom-hop',
  'keep-alive',
  'te',
  'upgrade',
  // Named in the caller's Connection header, so hop-by-hop for this message even though allowed.
  'accept',
];

describe('headers received by the upstream', () => {
  it.each([
    ['GET', '/api/v1/computes', undefined],
    ['POST', '/api/v1/computes', createBody('hdr')],
  ] as const)(
    '%s %s: the real key, no caller credential, no override/forwarding/hop-by-hop header',
    async (method, target, body) => {
      const token = h.mint('operator');
      const reply = await h.request(method, target, {
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'idempotency-key': crypto.randomUUID(),
          ...HOSTILE_HEADERS,
        },
        ...(body !== undefined ? { body } : {}),
      });
      expect(reply.status).toBe(method === 'GET' ? 200 : 202);
      const seen = received();
      expect(seen.method).toBe(method);
      expect(seen.headers.authorization).toBe(`Bearer key(${h.labelOf('main')})`);
      expect(seen.rawHeaders.filter(([name]) => name.toLowerCase() === 'authorization')).toHaveLength(1);
      for (const name of FORBIDDEN_UPSTREAM_HEADERS) expect(seen.headers).not.toHaveProperty(name);
      expect(
        Object.keys(seen.headers).filter((name) => name.startsWith('x-forwarded') || name.startsWith('x-http')),
      ).toEqual([]);
      expect(seen.headers['user-agent']).toMatch(/^strettch-gateway\//);
      // The caller's token, whole or in part, appears nowhere the upstream saw.
      const recorded = JSON.stringify(seen);
      for (const part of [token, ...token.split('.')]) expect(recorded).not.toContain(part);
      expect(recorded).not.toContain('caller-session-cookie');
      expect(recorded).not.toContain('evil.example');
    },
  );

  it('the caller token under other header names is dropped too', async () => {
    const token = h.mint('operator');
    await h.request('GET', '/api/v1/regions', {
      headers: {
        authorization: `Bearer ${token}`,
        'x-auth-token': token,
        'x-access-token': `Bearer ${token}`,
        cookie: `jwt=${token}`,
      },
    });
    expect(JSON.stringify(received())).not.toContain(token.split('.')[2]);
  });

  it('each caller reaches the upstream with its own account key', async () => {
    await h.as('reader', 'GET', '/api/v1/regions');
    expect(received().headers.authorization).toBe(`Bearer key(${h.labelOf('members')})`);
    await h.as('sentinel-caller', 'GET', '/api/v1/regions');
    expect(received().headers.authorization).toBe(`Bearer key(${h.labelOf('sentinel')})`);
  });
});

describe('X-Request-Id', () => {
  it('a well-formed inbound id is accepted, echoed and forwarded', async () => {
    const id = 'caller-trace:0001.abc_DEF-2';
    const reply = await h.as('operator', 'GET', '/api/v1/regions', { headers: { 'x-request-id': id } });
    expect(reply.requestId).toBe(id);
    expect(received().headers['x-request-id']).toBe(id);
    expect(reply.body.requestId).toBe(id);
  });

  it.each([
    ['too short', 'short'],
    ['with spaces', 'has spaces in it'],
    ['with a CRLF-looking payload', 'abcdefgh%0d%0aX-Evil:1'],
    ['too long', 'a'.repeat(129)],
    ['repeated (joined by Node)', ['caller-trace-0001', 'caller-trace-0002']],
  ])('a malformed inbound id (%s) is replaced, and the replacement is what the upstream sees', async (_name, id) => {
    const reply = await h.as('operator', 'GET', '/api/v1/regions', { headers: { 'x-request-id': id } });
    expect(reply.status).toBe(200);
    expect(reply.requestId).toMatch(UUID_V4);
    expect(received().headers['x-request-id']).toBe(reply.requestId);
    expect(received().rawHeaders.filter(([name]) => name.toLowerCase() === 'x-request-id')).toHaveLength(1);
  });

  it('gateway errors carry the id too, in the header and the envelope', async () => {
    const id = 'caller-trace-denied-01';
    const reply = await h.request('GET', '/api/v1/regions', { headers: { 'x-request-id': id } });
    expect([reply.status, reply.requestId, reply.body.requestId]).toEqual([401, id, id]);
  });
});

describe('Idempotency-Key is namespaced per caller', () => {
  const create = (caller: 'operator' | 'operator-b', key: string, hostName = 'idem') =>
    h.as(caller, 'POST', '/api/v1/computes', {
      headers: { 'content-type': 'application/json', 'idempotency-key': key },
      body: createBody(hostName),
    });

  it('differs from the caller\u2019s, differs between callers, is stable on retry; no cross-caller replay', async () => {
    const key = crypto.randomUUID();

    const first = await create('operator', key);
    expect(first.status).toBe(202);
    const upstreamKeyA = received().headers['idempotency-key']!;
    expect(upstreamKeyA).toMatch(UUID_V4);
    expect(upstreamKeyA).not.toBe(key);

    // Caller B, same account (same real key), same Idempotency-Key, same body: its own new compute.
    const other = await create('operator-b', key);
    expect(other.status).toBe(202);
    expect(other.headers['idempotent-replayed']).toBeUndefined();
    const upstreamKeyB = received().headers['idempotency-key']!;
    expect(upstreamKeyB).toMatch(UUID_V4);
    expect(upstreamKeyB).not.toBe(upstreamKeyA);
    expect(received().key).toBe(h.labelOf('main'));
    expect(other.body.data.id).not.toBe(first.body.data.id);
    expect(other.body.requestId).not.toBe(first.body.requestId);

    // Caller A retries: the upstream sees the same namespaced key and replays A's original body.
    const retry = await create('operator', key);
    expect(retry.status).toBe(202);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(received().headers['idempotency-key']).toBe(upstreamKeyA);
    expect(retry.text).toBe(first.text);

    // Upper case is the same UUID, so the same upstream key.
    await create('operator', key.toUpperCase());
    expect(received().headers['idempotency-key']).toBe(upstreamKeyA);

    const stats = h.stats();
    expect(stats.keys[h.labelOf('main')]!.createsPerformed).toBe(2);
    expect(stats.duplicateCreates.total).toBe(0);
    const listed = await h.as('operator', 'GET', '/api/v1/computes');
    expect(listed.body.data.map((c: { id: string }) => c.id).sort()).toEqual(
      [first.body.data.id, other.body.data.id].sort(),
    );
  });

  it('caller A replaying with another body gets the upstream 422, nothing performed', async () => {
    const key = crypto.randomUUID();
    expect((await create('operator', key, 'one')).status).toBe(202);
    const changed = await create('operator', key, 'two');
    expect([changed.status, changed.body.code]).toEqual([422, 'UNPROCESSABLE_ENTITY']);
    expect(h.stats().keys[h.labelOf('main')]!.createsPerformed).toBe(1);
  });

  it.each([
    ['missing', undefined, 'INVALID_IDEMPOTENCY_KEY'],
    ['not a UUID v4', 'not-a-uuid', 'INVALID_IDEMPOTENCY_KEY'],
    ['a UUID v1', 'c232ab00-9414-11ec-b3c8-9f6bdeced846', 'INVALID_IDEMPOTENCY_KEY'],
    [
      'repeated',
      ['6f1c5c6e-1d2b-4c3a-9e8f-0a1b2c3d4e5f', '7f1c5c6e-1d2b-4c3a-9e8f-0a1b2c3d4e5f'],
      'INVALID_IDEMPOTENCY_KEY',
    ],
  ])('a create with the key %s is refused by the gateway, upstream never called', async (_name, key, code) => {
    const reply = await h.withoutUpstream(() =>
      h.as('operator', 'POST', '/api/v1/computes', {
        headers: { 'content-type': 'application/json', ...(key !== undefined ? { 'idempotency-key': key } : {}) },
        body: createBody(),
      }),
    );
    expect([reply.status, reply.body.code]).toEqual([400, code]);
  });

  it('is not forwarded on reads', async () => {
    await h.as('operator', 'GET', '/api/v1/computes', { headers: { 'idempotency-key': crypto.randomUUID() } });
    expect(received().headers).not.toHaveProperty('idempotency-key');
  });
});
