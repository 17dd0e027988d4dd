/**
 * Request smuggling and oversized requests on raw sockets, against every route. Framing that two
 * hops could read differently (Content-Length with Transfer-Encoding, obs-fold, repeated or odd
 * lengths, bare LF) is refused with 400 in the envelope and the connection closed, so no byte of
 * it can be read as a next request; oversized headers, targets and bodies get 431, 400 or 413.
 * The upstream sees none of it.
 */
import {
  badRequest,
  describeAttacks,
  rawRequest,
  stopped,
  useSecurityHarness,
  type Attack,
  type RouteCase,
  type SecurityHarness,
} from './attack-suite';

const harness = useSecurityHarness();

/** A body for every route: its own where it has one, else a small JSON one (the framing is the attack). */
const bodyOf = (route: RouteCase) => route.body ?? '{}';
const requestLine = (route: RouteCase) => `${route.method} ${route.target} HTTP/1.1`;

/**
 * [name, extra header lines, body as sent]: the route's own lines (Host, Authorization, its headers)
 * come first. `%body%` and `%length%` stand for the route's body and its length.
 */
type FramingRow = [string, string[], string];

const SMUGGLED = 'GET /api/v1/computes/1 HTTP/1.1\r\nHost: gateway.test\r\n\r\n';
const chunked = (body: string) => `${Buffer.byteLength(body).toString(16)}\r\n${body}\r\n0\r\n\r\n`;

const FRAMING_ROWS: FramingRow[] = [
  [
    'Content-Length with Transfer-Encoding: chunked (CL.TE)',
    ['Content-Length: %length%', 'Transfer-Encoding: chunked'],
    `%chunked%${SMUGGLED}`,
  ],
  [
    'Transfer-Encoding: chunked with Content-Length (TE.CL)',
    ['Transfer-Encoding: chunked', 'Content-Length: 4'],
    `%chunked%${SMUGGLED}`,
  ],
  ['Transfer-Encoding folded onto the next line (obs-fold)', ['Transfer-Encoding:', ' chunked'], '%chunked%'],
  [
    'Transfer-Encoding: identity, then chunked on a folded line',
    ['Transfer-Encoding: identity', ' chunked', 'Content-Length: %length%'],
    '%body%',
  ],
  ['Transfer-Encoding twice', ['Transfer-Encoding: chunked', 'Transfer-Encoding: chunked'], '%chunked%'],
  ['Transfer-Encoding: chunked, identity', ['Transfer-Encoding: chunked, identity'], '%chunked%'],
  ['Transfer-Encoding: xchunked', ['Transfer-Encoding: xchunked'], '%chunked%'],
  ['Transfer-Encoding with a space before the colon', ['Transfer-Encoding : chunked'], '%chunked%'],
  ['Content-Length twice, same value', ['Content-Length: %length%', 'Content-Length: %length%'], '%body%'],
  ['Content-Length twice, different values', ['Content-Length: %length%', `Content-Length: 0`], `%body%${SMUGGLED}`],
  ['Content-Length as a list', ['Content-Length: %length%, %length%'], '%body%'],
  ['Content-Length with a sign', ['Content-Length: +%length%'], '%body%'],
  ['Content-Length negative', ['Content-Length: -1'], '%body%'],
  ['Content-Length in hex', ['Content-Length: 0x10'], '%body%'],
  ['Content-Length with a space before the colon', ['Content-Length : %length%'], '%body%'],
  ['an obs-fold continuation of another header', ['X-Note: first', ' continued'], ''],
  ['an obs-fold continuation of Authorization (the token on the next line)', ['%fold-authorization%'], ''],
  ['a chunk size with a non-hex digit', ['Transfer-Encoding: chunked'], 'g\r\nx\r\n0\r\n\r\n'],
  ['a chunk size that overflows', ['Transfer-Encoding: chunked'], 'fffffffffffffffffff\r\nx\r\n0\r\n\r\n'],
  ['a NUL in a header value', ['X-Note: a\u0000b'], ''],
  ['a bare CR in a header value', ['X-Note: a\rb'], ''],
  ['a space inside a header name', ['X Note: 1'], ''],
  ['no Host header', ['%no-host%'], ''],
  ['two Host headers', ['Host: evil.example'], ''],
];

function framingRequest(s: SecurityHarness, route: RouteCase, extra: readonly string[], bodyTemplate: string): Buffer {
  const body = bodyOf(route);
  const expand = (text: string) =>
    text
      .replaceAll('%length%', String(Buffer.byteLength(body)))
      .replaceAll('%chunked%', chunked(body))
      .replaceAll('%body%', body);
  let lines = [...s.rawHeaderLines(route), ...extra.map(expand)];
  if (extra.includes('%no-host%')) lines = lines.filter((line) => line !== '%no-host%' && !line.startsWith('Host:'));
  if (extra.includes('%fold-authorization%')) {
    lines = lines
      .filter((line) => line !== '%fold-authorization%')
      .map((line) => line.replace(/^Authorization: Bearer /, 'Authorization: Bearer\r\n '));
  }
  return rawRequest(requestLine(route), lines, expand(bodyTemplate));
}

const FRAMING_ATTACKS: Attack[] = FRAMING_ROWS.map(([name, extra, body]) => ({
  name,
  build: (s, route) => ({ kind: 'raw', bytes: framingRequest(s, route, extra, body), awaitClose: true }),
  expect: badRequest(undefined, { closes: true }),
}));

/** Bare LF line endings everywhere: a parser that accepts them splits requests differently. */
const BARE_LF: Attack = {
  name: 'bare LF line endings',
  build: (s, route) => ({
    kind: 'raw',
    bytes: Buffer.from(
      `${requestLine(route)}\n${s.rawHeaderLines(route).join('\n')}\nContent-Length: ${Buffer.byteLength(bodyOf(route))}\n\n${bodyOf(route)}`,
      'latin1',
    ),
    awaitClose: true,
  }),
  expect: badRequest(undefined, { closes: true }),
};

/**
 * A refused request whose body is a complete request with a valid token, then a last request that
 * closes the connection. The body is never read as a request: refused before it was read (401), the
 * answer closes the connection, so nothing after it is parsed; read and refused (health's GET
 * body), it was consumed as a body and the last request is answered on its own (400). Either way the
 * request inside the body never reaches the upstream.
 */
const HIDDEN_IN_BODY: Attack = {
  name: 'a request hidden in the body of a refused one is never read as a request',
  build: (s, route) => {
    const hidden = `GET /api/v1/computes/1 HTTP/1.1\r\nHost: gateway.test\r\nAuthorization: Bearer ${s.token()}\r\n\r\n`;
    const refused = rawRequest(
      requestLine(route),
      [...s.rawHeaderLines(route, null), `Content-Length: ${Buffer.byteLength(hidden)}`],
      hidden,
    );
    const last = rawRequest('GET /api/v1/x/../regions HTTP/1.1', ['Host: gateway.test', 'Connection: close']);
    return { kind: 'raw', bytes: Buffer.concat([refused, last]), awaitClose: true };
  },
  // Protected routes refuse the missing token before reading the body; health refuses a GET body.
  expect: (route) =>
    route.requiresAuth ? stopped(401, 'UNAUTHORIZED', { reason: 'auth-missing' }) : badRequest('body-not-expected'),
  verify: (answer) => {
    // Status lines, wherever they start: a response follows the previous body without a line break.
    const statuses = [...answer.text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((match) => match[1]);
    expect(statuses).toEqual(answer.status === 401 ? ['401'] : [String(answer.status), '400']);
    if (answer.status === 401) expect(answer.text).toMatch(/\r\nconnection: close\r\n/i);
    expect(answer.closedByGateway).toBe(true);
  },
};

const MAX_BODY_BYTES = 64 * 1024;
const raw = (s: SecurityHarness, route: RouteCase, extra: string[], body = '', target = route.target): Buffer =>
  rawRequest(`${route.method} ${target} HTTP/1.1`, [...s.rawHeaderLines(route), ...extra], body);

const OVERSIZE_ATTACKS: Attack[] = [
  {
    name: 'one header of 20 KB (over the 16 KiB limit) → 431',
    build: (s, route) => ({ kind: 'raw', bytes: raw(s, route, [`X-Big: ${'a'.repeat(20_000)}`]), awaitClose: true }),
    expect: stopped(431, 'BAD_REQUEST', { closes: true }),
  },
  {
    name: '1000 small headers (over the 16 KiB limit) → 431',
    build: (s, route) => ({
      kind: 'raw',
      bytes: raw(
        s,
        route,
        Array.from({ length: 1000 }, (_, i) => `X-H${i}: ${'v'.repeat(12)}`),
      ),
      awaitClose: true,
    }),
    expect: stopped(431, 'BAD_REQUEST', { closes: true }),
  },
  {
    name: 'a request line of 20 KB → 431',
    build: (s, route) => ({
      kind: 'raw',
      bytes: raw(s, route, [], '', `${route.path}?${'q'.repeat(20_000)}=1`),
      awaitClose: true,
    }),
    expect: stopped(431, 'BAD_REQUEST', { closes: true }),
  },
  {
    name: 'a query string of 4 KB (over the 2048-character target limit) → 400',
    build: (s, route) => s.clean(route, { target: `${route.path}?${'page=1&'.repeat(600)}limit=1` }),
    expect: badRequest('target-too-long'),
  },
  {
    name: 'a path of 4 KB → 400',
    build: (s, route) => s.clean(route, { target: `${route.path}${'/x'.repeat(2000)}` }),
    expect: badRequest('target-too-long'),
  },
  {
    name: 'a body over 64 KiB, declared with Content-Length → 413',
    build: (s, route) => s.clean(route, { body: `{"pad":"${'x'.repeat(MAX_BODY_BYTES)}"}` }),
    expect: stopped(413, 'PAYLOAD_TOO_LARGE', { reason: 'body-too-large' }),
  },
  {
    name: 'a body over 64 KiB, streamed chunked → 413',
    build: (s, route) =>
      s.clean(route, { headers: { 'transfer-encoding': 'chunked' }, body: `{"pad":"${'x'.repeat(MAX_BODY_BYTES)}"}` }),
    expect: stopped(413, 'PAYLOAD_TOO_LARGE', { reason: 'body-too-large' }),
  },
  {
    name: 'a Content-Length of 10 GB (nothing sent) → 413 at once',
    build: (s, route) => ({ kind: 'raw', bytes: raw(s, route, ['Content-Length: 10000000000', 'Connection: close']) }),
    expect: stopped(413, 'PAYLOAD_TOO_LARGE', { reason: 'body-too-large' }),
    verify: (answer) => expect(answer.elapsedMs).toBeLessThan(2_000),
  },
];

describeAttacks('request smuggling and malformed framing', harness, [...FRAMING_ATTACKS, BARE_LF, HIDDEN_IN_BODY]);
describeAttacks('oversized headers, targets and bodies', harness, OVERSIZE_ATTACKS, { control: false });
