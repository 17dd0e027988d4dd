/**
 * Headers a caller may send but the upstream must never receive, on every route: hop-by-hop
 * headers, headers named in Connection, spoofed identity and forwarding headers, protocol upgrades.
 * These requests are legitimate underneath, so they are forwarded — and the sandbox's record of
 * what it received shows only the gateway's allow-list, with the account's key and the gateway's
 * own Host, User-Agent and X-Request-Id.
 */
import { describeAttacks, rawRequest, sanitized, stopped, useSecurityHarness, type Attack } from './attack-suite';

const harness = useSecurityHarness();

/** The marker every spoofed value carries, so one search finds any that got through. */
const EVIL = 'evil-marker';
/** A caller's valid trace context (tracing is off in this suite: it is forwarded unchanged). */
const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

const HOP_BY_HOP = {
  connection: 'keep-alive, x-custom-hop, upgrade, te',
  'keep-alive': `timeout=5, max=1000, ${EVIL}`,
  te: 'trailers',
  upgrade: `websocket, ${EVIL}`,
  'proxy-connection': `keep-alive ${EVIL}`,
  'proxy-authorization': `Basic ${Buffer.from(`proxy:${EVIL}`).toString('base64')}`,
  'proxy-authenticate': `Basic realm="${EVIL}"`,
  'x-custom-hop': EVIL,
};

/** Who the caller claims to be, where it claims to come from, and where it claims it was sent. */
const SPOOFED_IDENTITY = {
  'x-forwarded-for': `203.0.113.9, ${EVIL}`,
  'x-forwarded-host': `${EVIL}.example`,
  'x-forwarded-proto': 'https',
  'x-forwarded-port': '443',
  'x-forwarded-prefix': `/${EVIL}`,
  'x-forwarded-server': EVIL,
  'x-forwarded-user': `admin-${EVIL}`,
  'x-forwarded-email': `root@${EVIL}.example`,
  forwarded: `for=203.0.113.9;host=${EVIL}.example;proto=https`,
  'x-real-ip': '203.0.113.9',
  'x-client-ip': '203.0.113.9',
  'true-client-ip': '203.0.113.9',
  'cf-connecting-ip': '203.0.113.9',
  'fastly-client-ip': '203.0.113.9',
  'x-cluster-client-ip': '203.0.113.9',
  'x-original-forwarded-for': '203.0.113.9',
  via: `1.1 ${EVIL}`,
  'x-original-url': `/api/v1/computes/1?${EVIL}`,
  'x-rewrite-url': `/api/v1/computes/1?${EVIL}`,
  'x-original-host': `${EVIL}.example`,
  'x-host': `${EVIL}.example`,
  'x-strettch-caller': `operator-${EVIL}`,
  'x-strettch-account': `sentinel-${EVIL}`,
  'x-strettch-team': `team-b-${EVIL}`,
  'x-strettch-role': `owner-${EVIL}`,
  'x-strettch-api-key': `sandbox-other-key-${EVIL}`,
  'x-api-key': `sandbox-other-key-${EVIL}`,
  'x-auth-request-user': `admin-${EVIL}`,
  'x-remote-user': `admin-${EVIL}`,
  'remote-user': `admin-${EVIL}`,
  'x-user-id': `1-${EVIL}`,
  'x-authenticated-userid': `admin-${EVIL}`,
  'x-caller': `admin-${EVIL}`,
  cookie: `session=${EVIL}; strettch_key=sandbox-other-key`,
  'x-max-wait-ms': '500',
};

/** Nothing of the attack reached the upstream: no marker, no name outside the allow-list (checked by the judge). */
const clean = sanitized((seen) => {
  expect(JSON.stringify(seen)).not.toContain(EVIL);
  expect(JSON.stringify(seen)).not.toContain('203.0.113.9');
});

const ATTACKS: Attack[] = [
  { name: 'hop-by-hop headers', build: (s, route) => s.clean(route, { headers: HOP_BY_HOP }), expect: clean },
  {
    name: 'spoofed identity and forwarding headers',
    build: (s, route) => s.clean(route, { headers: SPOOFED_IDENTITY }),
    expect: clean,
  },
  {
    name: 'a spoofed Host (the upstream sees its own)',
    build: (s, route) => s.clean(route, { headers: { host: `${EVIL}.example` } }),
    expect: clean,
  },
  {
    name: 'allowed headers named in Connection are dropped too',
    build: (s, route) =>
      s.clean(route, {
        headers: {
          connection: 'accept, accept-encoding, x-custom-hop',
          accept: `application/${EVIL}`,
          'accept-encoding': `gzip, ${EVIL}`,
          'x-custom-hop': EVIL,
        },
      }),
    expect: sanitized((seen) => {
      expect(seen.headers).not.toHaveProperty('accept');
      expect(seen.headers).not.toHaveProperty('accept-encoding');
      expect(JSON.stringify(seen)).not.toContain(EVIL);
    }),
  },
  {
    name: 'Idempotency-Key named in Connection',
    build: (s, route) =>
      s.clean(route, { headers: { connection: 'idempotency-key', 'idempotency-key': crypto.randomUUID() } }),
    // Where the key is required (create), naming it hop-by-hop leaves the request without one.
    expect: (route) =>
      route.id === 'computes.create'
        ? stopped(400, 'INVALID_IDEMPOTENCY_KEY', { reason: 'header-missing-idempotency-key' })
        : sanitized((seen) => expect(seen.headers).not.toHaveProperty('idempotency-key')),
  },
  {
    name: 'an h2c upgrade (Upgrade, HTTP2-Settings, Connection)',
    build: (s, route) =>
      s.clean(route, {
        headers: { upgrade: 'h2c', 'http2-settings': 'AAMAAABkAAQAAP__', connection: 'Upgrade, HTTP2-Settings' },
      }),
    expect: sanitized((seen) => {
      expect(seen.headers).not.toHaveProperty('upgrade');
      expect(seen.headers).not.toHaveProperty('http2-settings');
    }),
    verify: (answer) => expect(answer.status).not.toBe(101),
  },
  {
    name: 'a websocket upgrade',
    build: (s, route) =>
      s.clean(route, {
        headers: {
          upgrade: 'websocket',
          connection: 'Upgrade',
          'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
          'sec-websocket-version': '13',
        },
      }),
    expect: sanitized((seen) =>
      expect(
        Object.keys(seen.headers).filter((name) => name.startsWith('sec-websocket') || name === 'upgrade'),
      ).toEqual([]),
    ),
    verify: (answer) => expect(answer.status).not.toBe(101),
  },
  {
    name: 'a chunked body with a Trailer and a trailer field (raw)',
    build: (s, route) => {
      const body = route.body ?? '';
      const chunks = `${body.length > 0 ? `${Buffer.byteLength(body).toString(16)}\r\n${body}\r\n` : ''}0\r\nx-evil-trailer: ${EVIL}\r\n\r\n`;
      return {
        kind: 'raw',
        bytes: rawRequest(
          `${route.method} ${route.target} HTTP/1.1`,
          [
            ...s.rawHeaderLines(route),
            'Transfer-Encoding: chunked',
            'Trailer: x-evil-trailer',
            'TE: trailers',
            'Connection: close, TE',
          ],
          chunks,
        ),
      };
    },
    expect: clean,
  },
  {
    name: 'a malformed traceparent, and the tracestate beside it, are dropped',
    build: (s, route) =>
      s.clean(route, {
        headers: { traceparent: `00-${EVIL}-00f067aa0ba902b7-01`, tracestate: `vendor=${EVIL}` },
      }),
    expect: sanitized((seen) => {
      expect(seen.headers).not.toHaveProperty('traceparent');
      expect(seen.headers).not.toHaveProperty('tracestate');
      expect(JSON.stringify(seen)).not.toContain(EVIL);
    }),
  },
  {
    name: 'a valid traceparent is forwarded as sent; a tracestate with a malformed member is dropped',
    build: (s, route) =>
      s.clean(route, {
        headers: { traceparent: TRACEPARENT, tracestate: `vendor=ok,Evil=${EVIL}` },
      }),
    expect: sanitized((seen) => {
      expect(seen.headers.traceparent).toBe(TRACEPARENT);
      expect(seen.headers).not.toHaveProperty('tracestate');
      expect(JSON.stringify(seen)).not.toContain(EVIL);
    }),
  },
  {
    name: 'a traceparent with a CRLF-looking payload, or named in Connection, is dropped',
    build: (s, route) =>
      s.clean(route, {
        headers: { traceparent: `${TRACEPARENT}%0d%0aX-Evil:${EVIL}`, connection: 'tracestate', tracestate: 'a=b' },
      }),
    expect: sanitized((seen) => {
      expect(seen.headers).not.toHaveProperty('traceparent');
      expect(seen.headers).not.toHaveProperty('tracestate');
    }),
  },
  {
    name: 'a caller X-Request-Id with a CRLF-looking payload is replaced',
    build: (s, route) => s.clean(route, { headers: { 'x-request-id': `abcdefgh%0d%0aX-Evil:${EVIL}` } }),
    expect: clean,
  },
];

describeAttacks('headers that never reach the upstream', harness, ATTACKS);
