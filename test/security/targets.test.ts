/**
 * Request-target tricks, method overrides, duplicated and out-of-bounds query parameters against
 * every route. Each trick is built from the route's own valid target, so a trick that slipped
 * through would name a real operation. Every one is refused (400 BAD_REQUEST, 400
 * VALIDATION_ERROR or 404 ROUTE_NOT_FOUND, in the envelope) before the upstream is called —
 * except override headers, which are dropped while the request goes on as the operation its
 * method and path name.
 */
import { API_BASE_PATH } from '../../src/catalog/catalog';
import {
  ROUTES,
  badRequest,
  describeAttacks,
  rawRequest,
  runAttack,
  sanitized,
  stopped,
  useSecurityHarness,
  withQuery,
  type Attack,
  type RouteCase,
} from './attack-suite';

const harness = useSecurityHarness();

/** The route's path below the base path, with its leading slash: `/computes/1/start`. */
const below = (route: RouteCase) => route.path.slice(API_BASE_PATH.length);
/** The route's query again, for tricks that change only the path. */
const query = (route: RouteCase) => (route.query === '' ? '' : `?${route.query}`);
const notFound = (reason: string) => stopped(404, 'ROUTE_NOT_FOUND', { reason });
/** `%XX` of one character, as a client that encodes too much would write it. */
const encoded = (char: string) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`;

/** [name, raw target built from the route, expectation]: sent through Node's client, verbatim. */
type TargetRow = [string, (route: RouteCase) => string, ReturnType<typeof badRequest>];

const TARGET_ROWS: TargetRow[] = [
  // Dot segments.
  ['dot-dot segment', (r) => `${API_BASE_PATH}/x/..${below(r)}${query(r)}`, badRequest('target-dot-segment')],
  ['dot segment', (r) => `${API_BASE_PATH}/.${below(r)}${query(r)}`, badRequest('target-dot-segment')],
  ['trailing dot-dot', (r) => `${r.path}/..${query(r)}`, badRequest('target-dot-segment')],
  ['trailing dot', (r) => `${r.path}/.${query(r)}`, badRequest('target-dot-segment')],
  [
    'dot-dot above the base path',
    (r) => `${API_BASE_PATH}/../..${API_BASE_PATH}${below(r)}${query(r)}`,
    badRequest('target-dot-segment'),
  ],
  // `.` encoded once and twice, and the overlong UTF-8 spelling.
  [
    'encoded dot-dot (%2e%2e)',
    (r) => `${API_BASE_PATH}/x/%2e%2e${below(r)}${query(r)}`,
    badRequest('target-encoded-dot'),
  ],
  [
    'encoded dot-dot (%2E%2E)',
    (r) => `${API_BASE_PATH}/x/%2E%2E${below(r)}${query(r)}`,
    badRequest('target-encoded-dot'),
  ],
  [
    'half-encoded dot-dot (.%2e)',
    (r) => `${API_BASE_PATH}/x/.%2e${below(r)}${query(r)}`,
    badRequest('target-encoded-dot'),
  ],
  ['encoded dot (%2e)', (r) => `${API_BASE_PATH}/%2e${below(r)}${query(r)}`, badRequest('target-encoded-dot')],
  [
    'double-encoded dot-dot (%252e%252e)',
    (r) => `${API_BASE_PATH}/x/%252e%252e${below(r)}${query(r)}`,
    badRequest('target-double-encoding'),
  ],
  [
    'double-encoded dot-dot (%25%32%65)',
    (r) => `${API_BASE_PATH}/x/%25%32%65%25%32%65${below(r)}${query(r)}`,
    badRequest('target-double-encoding'),
  ],
  [
    'overlong UTF-8 dot-dot (%c0%ae%c0%ae)',
    (r) => `${API_BASE_PATH}/x/%c0%ae%c0%ae${below(r)}${query(r)}`,
    badRequest('target-forbidden-byte'),
  ],
  // `/` and `\` encoded once and twice, and a raw backslash.
  [
    'encoded slash (%2f)',
    (r) => `${API_BASE_PATH}%2f${below(r).slice(1)}${query(r)}`,
    badRequest('target-encoded-separator'),
  ],
  [
    'encoded slash (%2F) with traversal',
    (r) => `${API_BASE_PATH}/x%2F..%2F${below(r).slice(1)}${query(r)}`,
    badRequest('target-encoded-separator'),
  ],
  [
    'encoded backslash (%5c)',
    (r) => `${API_BASE_PATH}%5c${below(r).slice(1)}${query(r)}`,
    badRequest('target-encoded-separator'),
  ],
  [
    'encoded backslash (%5C) with traversal',
    (r) => `${API_BASE_PATH}/x%5C..%5C${below(r).slice(1)}${query(r)}`,
    badRequest('target-encoded-separator'),
  ],
  [
    'double-encoded slash (%252f)',
    (r) => `${API_BASE_PATH}%252f${below(r).slice(1)}${query(r)}`,
    badRequest('target-double-encoding'),
  ],
  [
    'double-encoded backslash (%255c)',
    (r) => `${API_BASE_PATH}%255c${below(r).slice(1)}${query(r)}`,
    badRequest('target-double-encoding'),
  ],
  [
    'raw backslash for a slash',
    (r) => `${API_BASE_PATH}\\${below(r).slice(1)}${query(r)}`,
    badRequest('target-backslash'),
  ],
  ['raw backslash traversal', (r) => `${API_BASE_PATH}\\x\\..${below(r)}${query(r)}`, badRequest('target-backslash')],
  // Empty segments.
  ['leading empty segment (//)', (r) => `/${r.target}`, badRequest('target-empty-segment')],
  [
    'empty segment after the base path',
    (r) => `${API_BASE_PATH}/${below(r)}${query(r)}`,
    badRequest('target-empty-segment'),
  ],
  ['trailing slash', (r) => `${r.path}/${query(r)}`, badRequest('target-empty-segment')],
  // `;` parameters.
  [
    'matrix parameter on the last segment',
    (r) => `${r.path};jsessionid=1${query(r)}`,
    badRequest('target-matrix-parameter'),
  ],
  [
    '..; traversal (Tomcat-style)',
    (r) => `${API_BASE_PATH}/x/..;${below(r)}${query(r)}`,
    badRequest('target-matrix-parameter'),
  ],
  [
    'bare ; after the base path',
    (r) => `${API_BASE_PATH};${below(r)}${query(r)}`,
    badRequest('target-matrix-parameter'),
  ],
  // Fragments and encoded delimiters.
  ['fragment', (r) => `${r.target}#fragment`, badRequest('target-fragment')],
  ['fragment hiding a traversal', (r) => `${r.path}#/../../admin`, badRequest('target-fragment')],
  ['encoded fragment (%23)', (r) => `${r.path}%23x${query(r)}`, badRequest('target-encoded-reserved')],
  ['encoded query (%3f)', (r) => `${r.path}%3fx=1`, badRequest('target-encoded-reserved')],
  // Encoded unreserved characters (issue #11: `/%61pi/v1/computes` was decoded and served). No
  // decoding at all is the only rule under which "never normalized" holds.
  [
    'encoded unreserved in the base path (/%61pi/v1)',
    (r) => `/${encoded('a')}${API_BASE_PATH.slice(2)}${below(r)}${query(r)}`,
    badRequest('target-encoded-unreserved'),
  ],
  [
    'encoded unreserved, first letter of the operation path',
    (r) => `${API_BASE_PATH}/${encoded(below(r)[1]!)}${below(r).slice(2)}${query(r)}`,
    badRequest('target-encoded-unreserved'),
  ],
  [
    'encoded unreserved, lower-case hex, last character of the path',
    (r) => `${r.path.slice(0, -1)}${encoded(r.path.slice(-1)).toLowerCase()}${query(r)}`,
    badRequest('target-encoded-unreserved'),
  ],
  ['encoded tilde (%7E)', (r) => `${r.path}%7E${query(r)}`, badRequest('target-encoded-unreserved')],
  ['encoded unreserved in a query name', (r) => withQuery(r, 'p%61ge=1'), badRequest('target-encoded-unreserved')],
  ['encoded unreserved in a query value', (r) => withQuery(r, 'page=%31'), badRequest('target-encoded-unreserved')],
  // Control and non-ASCII bytes, percent-encoded (raw ones are below).
  ['encoded NUL', (r) => `${r.path}%00${query(r)}`, badRequest('target-forbidden-byte')],
  [
    'encoded CRLF header injection',
    (r) => `${r.path}%0d%0aX-Injected:%201${query(r)}`,
    badRequest('target-forbidden-byte'),
  ],
  ['encoded tab', (r) => `${r.path}%09${query(r)}`, badRequest('target-forbidden-byte')],
  ['encoded DEL', (r) => `${r.path}%7f${query(r)}`, badRequest('target-forbidden-byte')],
  ['encoded UTF-8 (é)', (r) => `${r.path}%C3%A9${query(r)}`, badRequest('target-forbidden-byte')],
  ['encoded line separator (U+2028)', (r) => `${r.path}%e2%80%a8${query(r)}`, badRequest('target-forbidden-byte')],
  ['encoded 0xff', (r) => `${r.path}%ff${query(r)}`, badRequest('target-forbidden-byte')],
  ['malformed escape (%)', (r) => `${r.path}%${query(r)}`, badRequest('target-malformed-percent-encoding')],
  ['malformed escape (%zz)', (r) => `${r.path}%zz${query(r)}`, badRequest('target-malformed-percent-encoding')],
  [
    'IIS-style escape (%u002e)',
    (r) => `${API_BASE_PATH}/%u002e%u002e${below(r)}${query(r)}`,
    badRequest('target-malformed-percent-encoding'),
  ],
  ['encoded NUL in the query', (r) => withQuery(r, 'page=1%00'), badRequest('target-forbidden-byte')],
  // Absolute-form and asterisk targets.
  ['absolute-form to another host', (r) => `http://evil.example${r.target}`, badRequest('target-absolute-form')],
  ['absolute-form to the gateway itself', (r) => `http://127.0.0.1${r.target}`, badRequest('target-absolute-form')],
  [
    'absolute-form with credentials',
    (r) => `https://user:pass@api.strettch.cloud${r.target}`,
    badRequest('target-absolute-form'),
  ],
  [
    'absolute-form, upper-case scheme',
    (r) => `HTTPS://api.strettch.cloud${r.target}`,
    badRequest('target-absolute-form'),
  ],
  ['network-path reference (//host/path)', (r) => `//evil.example${r.target}`, badRequest('target-empty-segment')],
  ['asterisk-form', () => '*', badRequest('target-asterisk-form')],
  // Node's parser refuses this one itself: still 400 in the envelope.
  ['a relative target (no leading slash)', (r) => r.target.slice(1), badRequest()],
  [
    '@ in the path',
    (r) => `${API_BASE_PATH}/@evil.example${below(r)}${query(r)}`,
    badRequest('target-forbidden-path-character'),
  ],
  // Case: the catalog is case-sensitive, and nothing is folded.
  ['the base path in upper case', (r) => `/API/v1${below(r)}${query(r)}`, notFound('target-outside-base-path')],
  [
    'the path in upper case',
    (r) => `${API_BASE_PATH}${below(r).toUpperCase()}${query(r)}`,
    notFound('target-no-route'),
  ],
  ['no base path', (r) => `${below(r)}${query(r)}`, notFound('target-outside-base-path')],
  ['another API version', (r) => `/api/v2${below(r)}${query(r)}`, notFound('target-outside-base-path')],
  ['longer than 2048 characters', (r) => `${r.path}?${'x'.repeat(2100)}=1`, badRequest('target-too-long')],
];

const TARGET_ATTACKS: Attack[] = TARGET_ROWS.map(([name, target, expected]) => ({
  name,
  build: (s, route) => s.clean(route, { target: target(route) }),
  expect: expected,
}));

/** Ids outside `^[1-9][0-9]{0,18}$`, on the routes that have one. */
const ID_ATTACKS: Attack[] = ['0', '01', '-1', '1.0', '1e3', '0x1', 'abc', 'null', `1${'0'.repeat(19)}`].map((id) => ({
  name: `id ${id}`,
  build: (s, route) => s.clean(route, { target: `${route.path.replace(/\/1(?=\/|$)/, `/${id}`)}${query(route)}` }),
  expect: badRequest('target-bad-path-parameter'),
}));
const ID_CHARACTER_ATTACKS: Attack[] = ['+1', '1,2', '1!', "1'", '(1)'].map((id) => ({
  name: `id ${id}`,
  build: (s, route) => s.clean(route, { target: `${route.path.replace(/\/1(?=\/|$)/, `/${id}`)}${query(route)}` }),
  expect: badRequest('target-forbidden-path-character'),
}));

/** Bytes Node's client refuses to put on a request line: written on a raw socket. */
const RAW_TARGET_ROWS: Array<[string, (route: RouteCase) => string]> = [
  ['a raw NUL', (r) => `${r.path}\x00${query(r)}`],
  ['a raw C0 control byte', (r) => `${r.path}\x01${query(r)}`],
  ['a raw DEL', (r) => `${r.path}\x7f${query(r)}`],
  ['a raw tab', (r) => `${r.path}\tx${query(r)}`],
  ['a raw bare CR', (r) => `${r.path}\rX${query(r)}`],
  ['a raw latin-1 byte', (r) => `${r.path}\xe9${query(r)}`],
  ['raw UTF-8 bytes', (r) => `${r.path}${Buffer.from('é', 'utf8').toString('latin1')}${query(r)}`],
  ['a raw space', (r) => `${r.path} x${query(r)}`],
];

const RAW_TARGET_ATTACKS: Attack[] = [
  ...RAW_TARGET_ROWS.map(([name, target]): Attack => ({
    name,
    build: (s, route) => ({
      kind: 'raw',
      bytes: rawRequest(
        `${route.method} ${target(route)} HTTP/1.1`,
        [...s.rawHeaderLines(route), 'Connection: close'],
        route.body,
      ),
    }),
    // Node's parser refuses most of these, the target check the rest: either way 400 in the envelope.
    expect: badRequest(),
  })),
  {
    name: 'a lower-case method',
    build: (s, route) => ({
      kind: 'raw',
      bytes: rawRequest(
        `${route.method.toLowerCase()} ${route.target} HTTP/1.1`,
        [...s.rawHeaderLines(route), 'Connection: close'],
        route.body,
      ),
    }),
    expect: badRequest(),
  },
];

/** Another method than the route's: what an override would try to turn the request into. */
const otherMethod = (route: RouteCase) => (route.method === 'DELETE' ? 'POST' : 'DELETE');
const OVERRIDE_HEADERS = ['x-http-method-override', 'x-http-method', 'x-method-override'] as const;

const METHOD_OVERRIDE_ATTACKS: Attack[] = [
  ...OVERRIDE_HEADERS.map((header): Attack => ({
    name: `${header} header: dropped, the operation unchanged`,
    build: (s, route) => s.clean(route, { headers: { [header]: otherMethod(route) } }),
    expect: sanitized((seen) =>
      expect(Object.keys(seen.headers).filter((name) => name.includes('method'))).toEqual([]),
    ),
  })),
  {
    name: 'all three override headers at once',
    build: (s, route) =>
      s.clean(route, { headers: Object.fromEntries(OVERRIDE_HEADERS.map((h) => [h, otherMethod(route)])) }),
    expect: sanitized((seen) =>
      expect(Object.keys(seen.headers).filter((name) => name.includes('method'))).toEqual([]),
    ),
  },
  ...['_method', 'method', '_METHOD', 'X-HTTP-Method-Override'].map((param): Attack => ({
    name: `?${param}= parameter`,
    build: (s, route) => s.clean(route, { target: withQuery(route, `${param}=${otherMethod(route)}`) }),
    expect: badRequest('target-unknown-query-parameter'),
  })),
];

/** A repeated parameter is refused, never resolved to the first or the last. */
const DUPLICATE_QUERY_ATTACKS: Attack[] = [
  ...[
    ['page=1&page=2', 'page'],
    ['limit=5&limit=500', 'limit'],
    ['limit=5&limit=5', 'limit'],
    ['page=1&page (the second without a value)', 'page'],
  ].map(([pairs, name]): Attack => ({
    name: `?${pairs}`,
    build: (s, route) => s.clean(route, { target: `${route.path}?${pairs!.split(' ')[0]}` }),
    expect: (route) =>
      badRequest(route.declaresQuery(name!) ? 'target-duplicate-query-parameter' : 'target-unknown-query-parameter'),
  })),
  {
    // Nothing is decoded, so the encoded spelling is refused before it could be compared as a name.
    name: '?page=1&p%61ge=2 (the same name, encoded)',
    build: (s, route) => s.clean(route, { target: `${route.path}?page=1&p%61ge=2` }),
    expect: badRequest('target-encoded-unreserved'),
  },
];

/**
 * Values outside the bounds the vendored OpenAPI document declares (page ≥ 1, 1 ≤ limit ≤ 100;
 * issue #11: `limit=1000000` was forwarded). The provider's own code, VALIDATION_ERROR, and the
 * upstream never sees them; a route without the parameter refuses it as undeclared.
 */
const QUERY_BOUND_ATTACKS: Attack[] = [
  ['limit', '101'],
  ['limit', '1000000'],
  ['limit', '0'],
  ['limit', '-1'],
  ['limit', '99999999999999999999'],
  ['page', '0'],
  ['page', '-1'],
  ['page', '2147483648'],
].map(([name, value]): Attack => ({
  name: `?${name}=${value}`,
  build: (s, route) => s.clean(route, { target: `${route.path}?${name}=${value}` }),
  expect: (route) =>
    route.declaresQuery(name!)
      ? stopped(400, 'VALIDATION_ERROR', { reason: 'target-query-value-out-of-bounds' })
      : badRequest('target-unknown-query-parameter'),
}));

describe('request-target tricks on every route', () => {
  describeAttacks('path and target tricks', harness, TARGET_ATTACKS);
  describeAttacks('path parameter tricks', harness, [...ID_ATTACKS, ...ID_CHARACTER_ATTACKS], {
    control: false,
    routes: ROUTES.filter((r) => r.operation.segments.some((s) => s.kind === 'param')),
  });
  describeAttacks('raw bytes on the request line', harness, RAW_TARGET_ATTACKS, { control: false });
  describeAttacks('method override headers and parameters', harness, METHOD_OVERRIDE_ATTACKS, { control: false });
  describeAttacks('duplicated query parameters', harness, DUPLICATE_QUERY_ATTACKS, { control: false });
  describeAttacks('query values outside the documented bounds', harness, QUERY_BOUND_ATTACKS, { control: false });

  // The other side of the bounds: their edges reach the upstream, so the refusals above are not
  // a route that refuses everything.
  it.each(ROUTES.filter((r) => r.declaresQuery('page') && r.declaresQuery('limit')).map((r) => [r.name, r] as const))(
    '%s › the edges of the bounds (page=1&limit=100, limit=1) reach the upstream',
    async (_name, route) => {
      for (const edge of ['page=1&limit=100', 'limit=1']) {
        const atEdge = { ...route, query: edge, target: `${route.path}?${edge}` };
        await runAttack(harness(), atEdge, { name: edge, build: (s) => s.clean(atEdge), expect: sanitized() });
      }
    },
  );

  it('an authority-form target (CONNECT) → 400 in the envelope, the connection closed, upstream untouched', async () => {
    await runAttack(harness(), ROUTES[0]!, {
      name: 'CONNECT',
      build: (s) => ({
        kind: 'raw',
        bytes: rawRequest('CONNECT api.strettch.cloud:443 HTTP/1.1', [
          'Host: api.strettch.cloud:443',
          `Authorization: Bearer ${s.token()}`,
        ]),
        awaitClose: true,
      }),
      expect: badRequest(undefined, { closes: true }),
    });
  });
});
