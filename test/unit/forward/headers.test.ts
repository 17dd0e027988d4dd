import type { IncomingHttpHeaders } from 'node:http';
import { operationById, type OperationId } from '../../../src/catalog/catalog';
import {
  buildUpstreamHeaders,
  connectionTokens,
  HEADER_REJECT_REASONS,
  namespacedIdempotencyKey,
  responseHeadersToReturn,
  type UpstreamHeaderContext,
} from '../../../src/gateway/forward/headers';

const API_KEY = 'sk_live_SENTINEL_do_not_leak';
const KEY = '3f2b8c1e-9a4d-4e6f-8b7a-1c2d3e4f5a6b';

function ctx(id: OperationId, extra: Partial<UpstreamHeaderContext> = {}): UpstreamHeaderContext {
  return {
    apiKey: API_KEY,
    requestId: 'req-0123456789',
    callerId: 'autoscaler',
    userAgent: 'strettch-gateway/0.1.0',
    operation: operationById(id),
    ...extra,
  };
}

function headersOf(
  inbound: IncomingHttpHeaders,
  id: OperationId = 'computes.list',
  extra: Partial<UpstreamHeaderContext> = {},
): Record<string, string> {
  const decision = buildUpstreamHeaders(inbound, ctx(id, extra));
  if (!decision.ok) throw new Error(`refused: ${decision.reason}`);
  return decision.headers;
}

describe('buildUpstreamHeaders', () => {
  it('builds exactly the allow-list plus the gateway headers', () => {
    expect(
      headersOf(
        {
          'content-type': 'application/json; charset=utf-8',
          accept: 'application/json',
          'accept-encoding': 'gzip, br',
          'content-length': '99',
          'idempotency-key': KEY,
          'x-request-id': 'caller-chosen-id',
        },
        'computes.create',
        { bodyBytes: 27 },
      ),
    ).toEqual({
      'content-type': 'application/json',
      accept: 'application/json',
      'accept-encoding': 'gzip, br',
      'content-length': '27',
      'idempotency-key': namespacedIdempotencyKey('autoscaler', KEY),
      'x-request-id': 'req-0123456789',
      'user-agent': 'strettch-gateway/0.1.0',
      authorization: `Bearer ${API_KEY}`,
    });
  });

  it.each([
    ['authorization', 'Bearer internal.jwt.token'],
    ['Authorization', 'Bearer internal.jwt.token'],
    ['cookie', 'session=abc'],
    ['proxy-authorization', 'Basic eDp5'],
    ['connection', 'keep-alive'],
    ['keep-alive', 'timeout=5'],
    ['te', 'trailers'],
    ['trailer', 'x-checksum'],
    ['transfer-encoding', 'chunked'],
    ['upgrade', 'websocket'],
    ['proxy-connection', 'keep-alive'],
    ['x-http-method-override', 'DELETE'],
    ['x-http-method', 'DELETE'],
    ['x-method-override', 'DELETE'],
    ['forwarded', 'for=10.0.0.1;host=evil.example'],
    ['x-forwarded-for', '10.0.0.1'],
    ['x-forwarded-host', 'evil.example'],
    ['x-forwarded-proto', 'http'],
    ['x-real-ip', '10.0.0.1'],
    ['host', 'evil.example'],
    ['origin', 'https://evil.example'],
    ['referer', 'https://evil.example/'],
    ['x-api-key', 'someone-elses-key'],
    ['x-caller-header', 'anything'],
  ])('never forwards the caller’s %s', (name, value) => {
    const headers = headersOf({ [name.toLowerCase()]: value }, 'computes.delete');
    expect(Object.keys(headers).sort()).toEqual(['authorization', 'user-agent', 'x-request-id']);
    expect(Object.values(headers)).not.toContain(value);
    expect(headers.authorization).toBe(`Bearer ${API_KEY}`);
  });

  it('replaces the caller’s credential and identity headers rather than adding to them', () => {
    const headers = headersOf({
      authorization: 'Bearer caller.jwt',
      'user-agent': 'curl/8',
      'x-request-id': 'caller-id-123',
    });
    expect(headers).toMatchObject({
      authorization: `Bearer ${API_KEY}`,
      'user-agent': 'strettch-gateway/0.1.0',
      'x-request-id': 'req-0123456789',
    });
  });

  it('drops allowed headers the caller names in Connection', () => {
    const headers = headersOf(
      { connection: 'close, Accept', accept: 'application/json', 'accept-encoding': 'gzip' },
      'computes.upsize',
    );
    expect(headers).not.toHaveProperty('accept');
    expect(headers['accept-encoding']).toBe('gzip');
  });

  describe('content-type is the gateway’s, never the caller’s (issue #11)', () => {
    it.each(['application/json; charset=utf-7', 'application/json; charset=utf-16', 'text/plain', 'application/json'])(
      'a body goes as exactly application/json, whatever the caller said (%s)',
      (sent) => {
        expect(headersOf({ 'content-type': sent }, 'computes.upsize', { bodyBytes: 30 })['content-type']).toBe(
          'application/json',
        );
      },
    );

    it('no body, no content-type (a caller’s is dropped, repeated or malformed ones too)', () => {
      for (const inbound of [
        { 'content-type': 'application/json; charset=utf-7' },
        { 'content-type': ['application/json', 'text/plain'] } as unknown as IncomingHttpHeaders,
        { 'content-type': 'application/json\u00ff' },
      ]) {
        expect(headersOf(inbound, 'computes.start', { bodyBytes: 0 })).not.toHaveProperty('content-type');
        expect(headersOf(inbound, 'computes.get')).not.toHaveProperty('content-type');
      }
    });
  });

  it('refuses a required Idempotency-Key the caller hid behind Connection', () => {
    expect(
      buildUpstreamHeaders({ connection: 'idempotency-key', 'idempotency-key': KEY }, ctx('computes.create')),
    ).toMatchObject({
      ok: false,
      reason: 'missing-idempotency-key',
    });
  });

  describe('content-length', () => {
    it.each([
      [{ 'content-length': '10' }, 'computes.create', undefined, '10'],
      [{ 'content-length': '0' }, 'computes.start', undefined, '0'],
      [{}, 'computes.start', undefined, undefined],
      [{ 'content-length': '10', 'transfer-encoding': 'chunked' }, 'computes.create', undefined, undefined],
      [{ 'transfer-encoding': 'chunked' }, 'computes.create', 42, '42'],
      [{ 'content-length': '999' }, 'computes.create', 10, '10'],
      [{}, 'computes.start', 0, '0'],
      [{}, 'computes.upsize', 0, '0'],
      [{}, 'computes.delete', 0, undefined],
      [{}, 'computes.list', 0, undefined],
      [{}, 'computes.delete', 5, '5'],
    ] as const)('%j on %s with bodyBytes %s → %s', (inbound, id, bodyBytes, expected) => {
      const headers = headersOf(
        { ...inbound, 'idempotency-key': KEY },
        id,
        bodyBytes === undefined ? {} : { bodyBytes },
      );
      expect(headers['content-length']).toBe(expected);
    });

    it('refuses a content-length that is not a decimal length', () => {
      expect(buildUpstreamHeaders({ 'content-length': '1e3' }, ctx('computes.upsize'))).toMatchObject({
        ok: false,
        reason: 'invalid-header-value',
      });
    });

    it('throws on an impossible bodyBytes (a programming error, not a caller denial)', () => {
      expect(() => buildUpstreamHeaders({}, ctx('computes.upsize', { bodyBytes: -1 }))).toThrow(/bodyBytes/);
    });
  });

  describe('Idempotency-Key', () => {
    it.each([
      ['computes.create', KEY, namespacedIdempotencyKey('autoscaler', KEY)],
      ['computes.create', KEY.toUpperCase(), namespacedIdempotencyKey('autoscaler', KEY)],
      ['computes.start', KEY, namespacedIdempotencyKey('autoscaler', KEY)],
      ['computes.delete', KEY, namespacedIdempotencyKey('autoscaler', KEY)],
      ['computes.start', undefined, undefined],
      ['computes.list', KEY, undefined],
      ['computes.get', 'not-a-uuid', undefined],
    ] as const)('%s with %s → %s', (id, key, expected) => {
      const headers = headersOf(key === undefined ? {} : { 'idempotency-key': key }, id);
      expect(headers['idempotency-key']).toBe(expected);
    });

    it('never forwards the caller’s own key', () => {
      expect(headersOf({ 'idempotency-key': KEY }, 'computes.create')['idempotency-key']).not.toBe(KEY);
    });
  });

  describe('refusals', () => {
    const rows: Array<[string, IncomingHttpHeaders, OperationId]> = [
      ['missing-idempotency-key', {}, 'computes.create'],
      ['invalid-idempotency-key', { 'idempotency-key': '' }, 'computes.create'],
      ['invalid-idempotency-key', { 'idempotency-key': '' }, 'computes.start'],
      ['invalid-idempotency-key', { 'idempotency-key': 'retry-1' }, 'computes.create'],
      ['invalid-idempotency-key', { 'idempotency-key': '3f2b8c1e-9a4d-1e6f-8b7a-1c2d3e4f5a6b' }, 'computes.create'],
      ['invalid-idempotency-key', { 'idempotency-key': '3f2b8c1e-9a4d-4e6f-7b7a-1c2d3e4f5a6b' }, 'computes.create'],
      ['invalid-idempotency-key', { 'idempotency-key': `${KEY}, ${KEY}` }, 'computes.create'],
      ['invalid-idempotency-key', { 'idempotency-key': ` ${KEY}` }, 'computes.create'],
      ['invalid-idempotency-key', { 'idempotency-key': '{3f2b8c1e-9a4d-4e6f-8b7a-1c2d3e4f5a6b}' }, 'computes.stop'],
      ['duplicate-header', { 'idempotency-key': [KEY, KEY] } as unknown as IncomingHttpHeaders, 'computes.create'],
      [
        'duplicate-header',
        { 'content-length': ['2', '3'], 'idempotency-key': KEY } as unknown as IncomingHttpHeaders,
        'computes.create',
      ],
      ['duplicate-header', { 'content-length': ['1', '1'] } as unknown as IncomingHttpHeaders, 'computes.upsize'],
      ['invalid-header-value', { 'content-length': '1e3' }, 'computes.upsize'],
      ['invalid-header-value', { accept: 'application/json\u0000' }, 'computes.list'],
      ['invalid-header-value', { 'accept-encoding': 'gzip\r\nx-evil: 1' }, 'computes.list'],
    ];

    it('has a row for every reason', () => {
      expect(new Set(rows.map((r) => r[0]))).toEqual(new Set(HEADER_REJECT_REASONS));
    });

    it.each(rows)('%s: %j on %s', (reason, inbound, id) => {
      const decision = buildUpstreamHeaders(inbound, ctx(id));
      expect(decision).toEqual({ ok: false, status: 400, code: 'BAD_REQUEST', reason, message: expect.any(String) });
      const sent = inbound['idempotency-key'];
      if (!decision.ok && typeof sent === 'string' && sent !== '') expect(decision.message).not.toContain(sent);
    });
  });

  it('joins repeated list-valued headers instead of refusing them', () => {
    const inbound = {
      accept: ['application/json', 'text/plain'],
      'accept-encoding': ['gzip', 'br'],
    } as unknown as IncomingHttpHeaders;
    expect(headersOf(inbound)).toMatchObject({ accept: 'application/json, text/plain', 'accept-encoding': 'gzip, br' });
  });

  it.each([
    ['the upstream API key', { apiKey: '' }],
    ['the upstream API key', { apiKey: `${API_KEY}\r\nx-evil: 1` }],
    ['the request id', { requestId: 'a b' }],
    ['the user agent', { userAgent: '' }],
  ])('throws, without the value, when %s is not header-safe', (what, extra) => {
    expect(() => buildUpstreamHeaders({}, ctx('health', extra))).toThrow(what);
    try {
      buildUpstreamHeaders({}, ctx('health', extra));
    } catch (err) {
      expect(String(err)).not.toContain('SENTINEL');
    }
  });
});

describe('connectionTokens', () => {
  it.each([
    [undefined, []],
    ['close', ['close']],
    [' Keep-Alive , X-Foo,,', ['keep-alive', 'x-foo']],
    [
      ['a', 'B, c'],
      ['a', 'b', 'c'],
    ],
  ] as const)('%j → %j', (value, tokens) => {
    expect([...connectionTokens(value as string | string[] | undefined)]).toEqual(tokens);
  });
});

describe('responseHeadersToReturn', () => {
  it('returns the upstream headers unchanged except hop-by-hop, connection-named, set-cookie, www-authenticate, alt-svc', () => {
    const upstream: IncomingHttpHeaders = {
      'content-type': 'application/json; charset=utf-8',
      'content-length': '123',
      'x-request-id': 'req-0123456789',
      'x-ratelimit-limit': '2',
      'x-ratelimit-remaining': '0',
      'x-ratelimit-reset': '1767225600',
      'x-ratelimit-limit-second': '30',
      'x-ratelimit-remaining-second': '29',
      'x-ratelimit-reset-second': '1',
      'retry-after': '1',
      'cache-control': 'no-store',
      date: 'Thu, 01 Jan 2026 00:00:00 GMT',
      etag: '"abc"',
      vary: 'Accept-Encoding',
      'content-encoding': 'gzip',
      connection: 'keep-alive, x-upstream-hop',
      'x-upstream-hop': '1',
      'keep-alive': 'timeout=5',
      'transfer-encoding': 'chunked',
      trailer: 'x-checksum',
      upgrade: 'h2c',
      'proxy-authenticate': 'Basic',
      'proxy-connection': 'keep-alive',
      te: 'trailers',
      'set-cookie': ['__cf_bm=abc; HttpOnly', 'session=def'],
      'www-authenticate': 'Bearer realm="strettch"',
      'alt-svc': 'h3=":443"',
    };
    expect(responseHeadersToReturn(upstream)).toEqual({
      'content-type': 'application/json; charset=utf-8',
      'content-length': '123',
      'x-request-id': 'req-0123456789',
      'x-ratelimit-limit': '2',
      'x-ratelimit-remaining': '0',
      'x-ratelimit-reset': '1767225600',
      'x-ratelimit-limit-second': '30',
      'x-ratelimit-remaining-second': '29',
      'x-ratelimit-reset-second': '1',
      'retry-after': '1',
      'cache-control': 'no-store',
      date: 'Thu, 01 Jan 2026 00:00:00 GMT',
      etag: '"abc"',
      vary: 'Accept-Encoding',
      'content-encoding': 'gzip',
    });
  });

  it('copies repeated values rather than sharing the upstream’s array', () => {
    const upstream = { link: ['<a>', '<b>'] } as unknown as IncomingHttpHeaders;
    const returned = responseHeadersToReturn(upstream);
    expect(returned.link).toEqual(['<a>', '<b>']);
    expect(returned.link).not.toBe(upstream.link);
  });
});

describe('buildUpstreamHeaders: W3C trace context', () => {
  const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

  it.each<[string, IncomingHttpHeaders, Record<string, string>]>([
    [
      'a valid pair is forwarded, tracestate normalized',
      { traceparent: TRACEPARENT, tracestate: ' a=1 , b=2' },
      { traceparent: TRACEPARENT, tracestate: 'a=1,b=2' },
    ],
    [
      'a later version is written back as 00',
      { traceparent: `${TRACEPARENT.replace(/^00/, '7f')}-x` },
      { traceparent: TRACEPARENT },
    ],
    ['a malformed traceparent drops both', { traceparent: TRACEPARENT.toUpperCase(), tracestate: 'a=1' }, {}],
    [
      'a malformed tracestate is dropped alone',
      { traceparent: TRACEPARENT, tracestate: 'a=1,a=2' },
      { traceparent: TRACEPARENT },
    ],
    ['a tracestate alone is dropped', { tracestate: 'a=1' }, {}],
    ['named in Connection: dropped', { connection: 'traceparent', traceparent: TRACEPARENT, tracestate: 'a=1' }, {}],
  ])('%s (never refused)', (_name, inbound, expected) => {
    const headers = headersOf(inbound);
    expect({ traceparent: headers.traceparent, tracestate: headers.tracestate }).toEqual({
      traceparent: expected.traceparent,
      tracestate: expected.tracestate,
    });
  });
});
