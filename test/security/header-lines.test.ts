/**
 * Header lines past the count Node keeps. Node's default keeps the first 1,000 header lines of a
 * request and drops the rest unseen, so a second Authorization, Host, Content-Length or
 * Transfer-Encoding placed after them passed every check of the gateway (a Content-Length there made
 * it forward an empty create). Now the gateway sees every line and refuses a request with more than
 * `MAX_HEADER_LINES` (100) with 431: on every route, the sandbox referee receives nothing. A request
 * with exactly 100 lines is still forwarded, so the bound is where the docs say.
 */
import { MAX_HEADER_LINES } from '../../src/shared/http-server';
import {
  describeAttacks,
  rawRequest,
  sanitized,
  stopped,
  useSecurityHarness,
  type Attack,
  type RouteCase,
  type SecurityHarness,
} from './attack-suite';

const harness = useSecurityHarness();

/** `count` short, distinct header lines: 1,000 of them take about 11 KB, well under the 16 KiB bound. */
const filler = (count: number) => Array.from({ length: count }, (_, i) => `X-F${i}: v`);

/** The route's own header lines (Host, Authorization, its headers, Content-Length when it has a body). */
function ownLines(s: SecurityHarness, route: RouteCase): string[] {
  const length = route.body === undefined ? [] : [`Content-Length: ${Buffer.byteLength(route.body)}`];
  return [...s.rawHeaderLines(route), ...length];
}

/** The route's request with `after` placed behind 1,000 filler lines, where Node used to stop looking. */
function behindTheThousandth(s: SecurityHarness, route: RouteCase, after: string[], body = route.body ?? '') {
  const lines = [...ownLines(s, route), ...filler(1000), ...after];
  return rawRequest(`${route.method} ${route.target} HTTP/1.1`, lines, body);
}

const TOO_MANY = stopped(431, 'BAD_REQUEST', { closes: true, reason: 'too-many-header-lines' });

const ATTACKS: Attack[] = [
  {
    name: `exactly ${MAX_HEADER_LINES} header lines → forwarded (the bound is inclusive)`,
    build: (s, route) => {
      const own = ownLines(s, route);
      const lines = [...own, ...filler(MAX_HEADER_LINES - own.length)];
      return { kind: 'raw', bytes: rawRequest(`${route.method} ${route.target} HTTP/1.1`, lines, route.body ?? '') };
    },
    expect: sanitized(),
  },
  {
    name: `${MAX_HEADER_LINES + 1} header lines → 431`,
    build: (s, route) => {
      const own = ownLines(s, route);
      const lines = [...own, ...filler(MAX_HEADER_LINES + 1 - own.length)];
      return {
        kind: 'raw',
        bytes: rawRequest(`${route.method} ${route.target} HTTP/1.1`, lines, route.body ?? ''),
        awaitClose: true,
      };
    },
    expect: TOO_MANY,
  },
  {
    name: "a second Authorization (another caller's token) after the 1,000th header → 431",
    build: (s, route) => {
      const other = s.h.mint('sentinel-caller');
      return {
        kind: 'raw',
        bytes: behindTheThousandth(s, route, [`Authorization: Bearer ${other}`]),
        awaitClose: true,
        secrets: [other, s.token()],
      };
    },
    expect: TOO_MANY,
  },
  {
    name: 'a second Host after the 1,000th header → 431',
    build: (s, route) => ({
      kind: 'raw',
      bytes: behindTheThousandth(s, route, ['Host: evil.example']),
      awaitClose: true,
    }),
    expect: TOO_MANY,
  },
  {
    name: 'the only Content-Length after the 1,000th header (the empty create) → 431',
    build: (s, route) => {
      const body = route.body ?? '{"note":"a body the route does not need"}';
      const lines = [...s.rawHeaderLines(route), ...filler(1000), `Content-Length: ${Buffer.byteLength(body)}`];
      return {
        kind: 'raw',
        bytes: rawRequest(`${route.method} ${route.target} HTTP/1.1`, lines, body),
        awaitClose: true,
      };
    },
    expect: TOO_MANY,
  },
  {
    name: 'a second, different Content-Length after the 1,000th header → 431 (or 400 from the parser)',
    build: (s, route) => ({
      kind: 'raw',
      bytes: behindTheThousandth(s, route, ['Content-Length: 0']),
      awaitClose: true,
    }),
    // Node's parser itself refuses two different lengths before any handler: either way, nothing goes up.
    expect: (route) => (route.body === undefined ? TOO_MANY : stopped(400, 'BAD_REQUEST', { closes: true })),
  },
  {
    name: 'Transfer-Encoding: chunked after the 1,000th header → 431',
    build: (s, route) => {
      const body = route.body ?? '';
      const chunked = `${Buffer.byteLength(body).toString(16)}\r\n${body}\r\n0\r\n\r\n`;
      const lines = [...s.rawHeaderLines(route), ...filler(1000), 'Transfer-Encoding: chunked'];
      return {
        kind: 'raw',
        bytes: rawRequest(`${route.method} ${route.target} HTTP/1.1`, lines, body === '' ? '0\r\n\r\n' : chunked),
        awaitClose: true,
      };
    },
    expect: TOO_MANY,
  },
];

describeAttacks('header lines past the 1,000th (issue #11 §3)', harness, ATTACKS);
