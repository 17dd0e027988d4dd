/**
 * Target classes (issue 3 §1, issue 11 §2) over a real socket: each refused with 400 BAD_REQUEST,
 * 400 VALIDATION_ERROR (a query value outside the document's bounds) or 404 ROUTE_NOT_FOUND in the
 * envelope, never normalized, and never forwarded (the referee sees nothing).
 */
import { startGatewayHarness, type GatewayHarness } from '../../helpers/gateway-harness';

let h: GatewayHarness;
let token: string;
beforeAll(async () => {
  h = await startGatewayHarness({ sandbox: { limits: { readPerSecond: 10_000, writePerSecond: 10_000 } } });
  token = h.mint('operator', { lifetimeSec: 3000 });
});
afterAll(() => h.close());

type Code = 'BAD_REQUEST' | 'VALIDATION_ERROR' | 'ROUTE_NOT_FOUND';
/** [method, raw target as sent on the request line, expected code, reason in the access log]. */
type Row = [string, string, Code, string];

const ROWS: Row[] = [
  // Dot segments, raw and encoded, single and double.
  ['GET', '/api/v1/computes/../regions', 'BAD_REQUEST', 'target-dot-segment'],
  ['GET', '/api/v1/./regions', 'BAD_REQUEST', 'target-dot-segment'],
  ['GET', '/api/v1/computes/1/..', 'BAD_REQUEST', 'target-dot-segment'],
  ['DELETE', '/api/v1/computes/1/../../health', 'BAD_REQUEST', 'target-dot-segment'],
  ['GET', '/api/v1/%2e%2e/regions', 'BAD_REQUEST', 'target-encoded-dot'],
  ['GET', '/api/v1/computes/%2E%2E/1', 'BAD_REQUEST', 'target-encoded-dot'],
  ['GET', '/api/v1/computes/.%2e/regions', 'BAD_REQUEST', 'target-encoded-dot'],
  ['GET', '/api/v1/%2e/regions', 'BAD_REQUEST', 'target-encoded-dot'],
  ['GET', '/api/v1/%252e%252e/regions', 'BAD_REQUEST', 'target-double-encoding'],
  ['GET', '/api/v1/computes/%25%32%65%25%32%65/1', 'BAD_REQUEST', 'target-double-encoding'],
  ['GET', '/api/v1/%c0%ae%c0%ae/regions', 'BAD_REQUEST', 'target-forbidden-byte'],
  // Encoded separators and backslashes.
  ['GET', '/api/v1/computes%2f1', 'BAD_REQUEST', 'target-encoded-separator'],
  ['GET', '/api/v1/computes%2F..%2Fregions', 'BAD_REQUEST', 'target-encoded-separator'],
  ['GET', '/api/v1/computes%5c1', 'BAD_REQUEST', 'target-encoded-separator'],
  ['GET', '/api/v1/computes%255c1', 'BAD_REQUEST', 'target-double-encoding'],
  ['GET', '/api/v1/computes\\1', 'BAD_REQUEST', 'target-backslash'],
  ['GET', '/api/v1\\..\\regions', 'BAD_REQUEST', 'target-backslash'],
  // Empty segments.
  ['GET', '//api/v1/regions', 'BAD_REQUEST', 'target-empty-segment'],
  ['GET', '/api/v1//regions', 'BAD_REQUEST', 'target-empty-segment'],
  ['GET', '/api/v1/regions/', 'BAD_REQUEST', 'target-empty-segment'],
  ['POST', '/api/v1/computes//start', 'BAD_REQUEST', 'target-empty-segment'],
  // `;` parameters.
  ['GET', '/api/v1/regions;jsessionid=1', 'BAD_REQUEST', 'target-matrix-parameter'],
  ['GET', '/api/v1/..;/regions', 'BAD_REQUEST', 'target-matrix-parameter'],
  ['DELETE', '/api/v1/computes/1;x', 'BAD_REQUEST', 'target-matrix-parameter'],
  // Encoded control and non-ASCII bytes (raw ones are below), other odd characters.
  ['GET', '/api/v1/regions%00', 'BAD_REQUEST', 'target-forbidden-byte'],
  ['GET', '/api/v1/regions%0d%0aX-Injected:%201', 'BAD_REQUEST', 'target-forbidden-byte'],
  ['GET', '/api/v1/r%C3%A9gions', 'BAD_REQUEST', 'target-forbidden-byte'],
  ['GET', '/api/v1/regions%e2%80%a8', 'BAD_REQUEST', 'target-forbidden-byte'],
  ['GET', '/api/v1/regions%3fpage=1', 'BAD_REQUEST', 'target-encoded-reserved'],
  // Encoded unreserved characters: decoded and served before issue 11, now refused like the rest.
  ['GET', '/%61pi/v1/computes', 'BAD_REQUEST', 'target-encoded-unreserved'],
  ['GET', '/api/v1/c%6Fmputes', 'BAD_REQUEST', 'target-encoded-unreserved'],
  ['GET', '/api/v1/computes/%31', 'BAD_REQUEST', 'target-encoded-unreserved'],
  ['GET', '/api/v1/computes?p%61ge=2', 'BAD_REQUEST', 'target-encoded-unreserved'],
  ['GET', '/api/v1/computes?limit=%35', 'BAD_REQUEST', 'target-encoded-unreserved'],
  ['GET', '/api/v1/regions%', 'BAD_REQUEST', 'target-malformed-percent-encoding'],
  ['GET', '/api/v1/regions%zz', 'BAD_REQUEST', 'target-malformed-percent-encoding'],
  ['GET', '/api/v1/regions#fragment', 'BAD_REQUEST', 'target-fragment'],
  ['GET', '/api/v1/@evil/regions', 'BAD_REQUEST', 'target-forbidden-path-character'],
  // Absolute-form, authority-form, asterisk.
  ['GET', 'http://evil/api/v1/computes', 'BAD_REQUEST', 'target-absolute-form'],
  ['GET', 'http://127.0.0.1/api/v1/regions', 'BAD_REQUEST', 'target-absolute-form'],
  ['GET', 'HTTPS://api.strettch.cloud/api/v1/regions', 'BAD_REQUEST', 'target-absolute-form'],
  ['OPTIONS', '*', 'BAD_REQUEST', 'target-asterisk-form'],
  // Path parameters outside the pattern.
  ['GET', '/api/v1/computes/abc', 'BAD_REQUEST', 'target-bad-path-parameter'],
  ['GET', '/api/v1/computes/0', 'BAD_REQUEST', 'target-bad-path-parameter'],
  ['GET', '/api/v1/computes/042', 'BAD_REQUEST', 'target-bad-path-parameter'],
  ['POST', '/api/v1/computes/-1/start', 'BAD_REQUEST', 'target-bad-path-parameter'],
  ['DELETE', `/api/v1/computes/${'9'.repeat(20)}`, 'BAD_REQUEST', 'target-bad-path-parameter'],
  // Query parameters: undeclared, bad values, odd syntax.
  ['GET', '/api/v1/computes?status=running', 'BAD_REQUEST', 'target-unknown-query-parameter'],
  ['GET', '/api/v1/computes?_method=DELETE', 'BAD_REQUEST', 'target-unknown-query-parameter'],
  ['GET', '/api/v1/computes?Page=1', 'BAD_REQUEST', 'target-unknown-query-parameter'],
  ['GET', '/api/v1/regions?page=1', 'BAD_REQUEST', 'target-unknown-query-parameter'],
  ['GET', '/api/v1/computes?page=abc', 'BAD_REQUEST', 'target-invalid-query-value'],
  ['GET', '/api/v1/computes?page=01', 'BAD_REQUEST', 'target-invalid-query-value'],
  ['GET', '/api/v1/computes?limit=1e3', 'BAD_REQUEST', 'target-invalid-query-value'],
  ['GET', '/api/v1/computes?page=', 'BAD_REQUEST', 'target-invalid-query-value'],
  // Outside the document's bounds (page ≥ 1, 1 ≤ limit ≤ 100): the provider's own code.
  ['GET', '/api/v1/computes?limit=1000000', 'VALIDATION_ERROR', 'target-query-value-out-of-bounds'],
  ['GET', '/api/v1/computes?limit=101', 'VALIDATION_ERROR', 'target-query-value-out-of-bounds'],
  ['GET', '/api/v1/computes?limit=0', 'VALIDATION_ERROR', 'target-query-value-out-of-bounds'],
  ['GET', '/api/v1/computes?page=0', 'VALIDATION_ERROR', 'target-query-value-out-of-bounds'],
  ['GET', '/api/v1/computes?page=-1', 'VALIDATION_ERROR', 'target-query-value-out-of-bounds'],
  ['GET', '/api/v1/computes?page=1&page=2', 'BAD_REQUEST', 'target-duplicate-query-parameter'],
  ['GET', '/api/v1/computes?page=1+1', 'BAD_REQUEST', 'target-forbidden-query-character'],
  ['GET', '/api/v1/computes?page[]=1', 'BAD_REQUEST', 'target-forbidden-query-character'],
  ['GET', '/api/v1/computes?page=1;limit=2', 'BAD_REQUEST', 'target-forbidden-query-character'],
  ['GET', '/api/v1/computes?&page=1', 'BAD_REQUEST', 'target-empty-query-name'],
  // Unknown routes and methods.
  ['GET', '/api/v1/admin', 'ROUTE_NOT_FOUND', 'target-no-route'],
  ['POST', '/api/v1/computes/1/explode', 'ROUTE_NOT_FOUND', 'target-no-route'],
  ['GET', '/api/v2/computes', 'ROUTE_NOT_FOUND', 'target-outside-base-path'],
  ['GET', '/API/v1/regions', 'ROUTE_NOT_FOUND', 'target-outside-base-path'],
  ['GET', '/api/v1', 'ROUTE_NOT_FOUND', 'target-outside-base-path'],
  ['GET', '/', 'BAD_REQUEST', 'target-empty-segment'],
  ['PUT', '/api/v1/computes', 'ROUTE_NOT_FOUND', 'target-method-not-allowed'],
  ['DELETE', '/api/v1/computes', 'ROUTE_NOT_FOUND', 'target-method-not-allowed'],
  ['GET', '/api/v1/computes/1/start', 'ROUTE_NOT_FOUND', 'target-method-not-allowed'],
  ['POST', '/api/v1/computes/1/upsize', 'ROUTE_NOT_FOUND', 'target-method-not-allowed'],
  ['OPTIONS', '/api/v1/regions', 'ROUTE_NOT_FOUND', 'target-method-not-allowed'],
  ['TRACE', '/api/v1/regions', 'ROUTE_NOT_FOUND', 'target-method-not-allowed'],
];

describe('refused targets: envelope, access-log reason, upstream never called', () => {
  it.each(ROWS)('%s %s → %s', async (method, target, code, reason) => {
    const reply = await h.withoutUpstream(() =>
      h.request(method, target, { headers: { authorization: `Bearer ${token}` } }),
    );
    expect(reply.status).toBe(code === 'ROUTE_NOT_FOUND' ? 404 : 400);
    expect(reply.body).toEqual({
      success: false,
      code,
      message: expect.any(String),
      requestId: reply.requestId,
      timestamp: expect.any(String),
    });
    // The public message is fixed per reason: no byte of the target is echoed.
    expect(reply.body.message).not.toContain('evil');
    expect(await h.accessLine(reply.requestId)).toMatchObject({ status: reply.status, reason });
  });

  it('HEAD is not GET: 404 without a body, upstream never called', async () => {
    const reply = await h.withoutUpstream(() => h.request('HEAD', '/api/v1/health'));
    expect(reply.status).toBe(404);
    expect(await h.accessLine(reply.requestId)).toMatchObject({ reason: 'target-method-not-allowed' });
  });

  it('target checks come before authentication: a bad target without a token is 400, not 401', async () => {
    const reply = await h.withoutUpstream(() => h.request('GET', '/api/v1/computes/../regions'));
    expect([reply.status, reply.body.code]).toEqual([400, 'BAD_REQUEST']);
  });

  it('the query in any order, at the edges of its bounds, is forwarded rebuilt in the catalog order', async () => {
    h.resetUpstream();
    const reply = await h.request('GET', '/api/v1/computes?limit=100&page=1', {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(reply.status).toBe(200);
    expect(h.stats().lastRequest!.target).toBe('/api/v1/computes?page=1&limit=100');
  });
});

/** Bytes Node's client refuses to send: written on a raw socket. */
const RAW_ROWS: Array<[string, Buffer]> = [
  ['a C0 control byte', Buffer.from('GET /api/v1/regions\x01 HTTP/1.1\r\n', 'latin1')],
  ['NUL', Buffer.from('GET /api/v1/comp\x00utes HTTP/1.1\r\n', 'latin1')],
  ['DEL', Buffer.from('GET /api/v1/regions\x7f HTTP/1.1\r\n', 'latin1')],
  ['a tab', Buffer.from('GET /api/v1/regions\tx HTTP/1.1\r\n', 'latin1')],
  ['a latin-1 byte', Buffer.from('GET /api/v1/r\xe9gions HTTP/1.1\r\n', 'latin1')],
  [
    'UTF-8 bytes',
    Buffer.concat([Buffer.from('GET /api/v1/r'), Buffer.from('é', 'utf8'), Buffer.from('gions HTTP/1.1\r\n')]),
  ],
  ['a bare CR in the target', Buffer.from('GET /api/v1/regions\rX HTTP/1.1\r\n', 'latin1')],
  ['a space in the target', Buffer.from('GET /api/v1/re gions HTTP/1.1\r\n', 'latin1')],
  ['a relative target', Buffer.from('GET api/v1/regions HTTP/1.1\r\n', 'latin1')],
  ['a lower-case method', Buffer.from('get /api/v1/regions HTTP/1.1\r\n', 'latin1')],
];

function parseRaw(text: string): { status: number; body: { code?: string; success?: boolean } } {
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
  const body = text.slice(text.indexOf('\r\n\r\n') + 4);
  return { status, body: JSON.parse(body) as { code?: string; success?: boolean } };
}

describe('raw control and non-ASCII bytes on the request line', () => {
  it.each(RAW_ROWS)('%s → 400 BAD_REQUEST in the envelope, upstream never called', async (_name, requestLine) => {
    const text = await h.withoutUpstream(() =>
      h.raw(
        Buffer.concat([
          requestLine,
          Buffer.from(`Host: gw\r\nAuthorization: Bearer ${token}\r\nConnection: close\r\n\r\n`),
        ]),
      ),
    );
    const reply = parseRaw(text);
    expect(reply.status).toBe(400);
    expect(reply.body).toMatchObject({ success: false, code: 'BAD_REQUEST' });
  });

  it('oversized headers → 431 in the envelope', async () => {
    const text = await h.withoutUpstream(() =>
      h.raw(`GET /api/v1/regions HTTP/1.1\r\nHost: gw\r\nX-Big: ${'a'.repeat(20_000)}\r\nConnection: close\r\n\r\n`),
    );
    const reply = parseRaw(text);
    expect(reply.status).toBe(431);
    expect(reply.body).toMatchObject({ success: false, code: 'BAD_REQUEST' });
  });

  it('the gateway keeps serving afterwards', async () => {
    expect((await h.request('GET', '/api/v1/health')).status).toBe(200);
  });
});
