/**
 * Slow clients on every route: headers sent a byte at a time slower than the header timeout, a body
 * that stops halfway, a body that trickles in, a connection that never says anything. Each is
 * answered (408 or 400, in the envelope) or closed within a bounded time, and the upstream sees
 * nothing. The production timeouts (10 s for headers, 60 s per request, 10 s per body) are
 * shortened here so that the same code paths run in well under a second.
 */
import {
  CONTROL,
  ROUTES,
  badRequest,
  describeAttacks,
  rawExchange,
  rawRequest,
  runAttack,
  stopped,
  useSecurityHarness,
  type Attack,
  type RouteCase,
  type SecurityHarness,
} from './attack-suite';

const HEADERS_TIMEOUT_MS = 300;
/**
 * Well above the body timeout, so that the gateway's own 400 comes first even when a busy machine
 * starts its body timer late (at 900 ms a loaded CI run saw Node's 408 instead).
 */
const REQUEST_TIMEOUT_MS = 1_500;
const BODY_TIMEOUT_MS = 300;
/** How late a timeout may fire: Node sweeps its connections every headersTimeout / 4, plus a busy machine. */
const SLACK_MS = 1_500;

const harness = useSecurityHarness({
  pipeline: { bodyTimeoutMs: BODY_TIMEOUT_MS },
  server: { headersTimeoutMs: HEADERS_TIMEOUT_MS, requestTimeoutMs: REQUEST_TIMEOUT_MS },
});

// Controls first, one after the other, before the concurrent attacks below start.
beforeAll(async () => {
  for (const route of ROUTES) await runAttack(harness(), route, CONTROL);
});

const withBody = (route: RouteCase) => route.body ?? '{"note":"a body the route does not need"}';

/** The route's headers and a body declared by `framing`, of which only `sentBytes` are sent (then nothing). */
function stalledBody(s: SecurityHarness, route: RouteCase, framing: 'content-length' | 'chunked'): Buffer {
  const body = withBody(route);
  if (framing === 'content-length') {
    return rawRequest(
      `${route.method} ${route.target} HTTP/1.1`,
      [...s.rawHeaderLines(route), `Content-Length: ${Buffer.byteLength(body)}`],
      body.slice(0, 5),
    );
  }
  return rawRequest(
    `${route.method} ${route.target} HTTP/1.1`,
    [...s.rawHeaderLines(route), 'Transfer-Encoding: chunked'],
    `${Buffer.byteLength(body).toString(16)}\r\n${body.slice(0, 5)}`,
  );
}

const within = (minMs: number, maxMs: number) => (answer: { elapsedMs: number }) => {
  expect(answer.elapsedMs).toBeGreaterThanOrEqual(minMs);
  expect(answer.elapsedMs).toBeLessThan(maxMs);
};

const ATTACKS: Attack[] = [
  {
    name: 'headers a byte every 40 ms (slow-loris) → 408 and closed after the header timeout',
    build: (s, route) => ({
      kind: 'raw',
      bytes: rawRequest(
        `${route.method} ${route.target} HTTP/1.1`,
        s.rawHeaderLines(route).concat(`X-Slow: ${'s'.repeat(200)}`),
      ),
      // The request line goes at once, then every header byte crawls.
      dripAfterBytes: route.target.length + 20,
      dripMs: 40,
      awaitClose: true,
    }),
    expect: stopped(408, 'BAD_REQUEST', { closes: true }),
    verify: within(HEADERS_TIMEOUT_MS * 0.8, HEADERS_TIMEOUT_MS + SLACK_MS),
  },
  {
    name: 'a Content-Length body that stops halfway → 400 after the body timeout',
    build: (s, route) => ({ kind: 'raw', bytes: stalledBody(s, route, 'content-length') }),
    expect: badRequest('body-timeout'),
    verify: within(BODY_TIMEOUT_MS * 0.8, BODY_TIMEOUT_MS + SLACK_MS),
  },
  {
    name: 'a chunked body that stops halfway → 400 after the body timeout',
    build: (s, route) => ({ kind: 'raw', bytes: stalledBody(s, route, 'chunked') }),
    expect: badRequest('body-timeout'),
    verify: within(BODY_TIMEOUT_MS * 0.8, BODY_TIMEOUT_MS + SLACK_MS),
  },
  {
    name: 'a body trickling a byte every 40 ms → 400 after the body timeout (a total, not an idle timeout)',
    build: (s, route) => {
      const body = withBody(route);
      const bytes = rawRequest(
        `${route.method} ${route.target} HTTP/1.1`,
        [...s.rawHeaderLines(route), `Content-Length: ${Buffer.byteLength(body)}`],
        body,
      );
      return { kind: 'raw', bytes, dripAfterBytes: bytes.length - Buffer.byteLength(body), dripMs: 40 };
    },
    expect: badRequest('body-timeout'),
    verify: within(BODY_TIMEOUT_MS * 0.8, BODY_TIMEOUT_MS + SLACK_MS),
  },
];

/** Waits for the request timeout, so kept apart: Jest runs concurrent tests a few at a time, in order. */
const CLOSE_ATTACKS: Attack[] = [
  {
    name: 'a stalled body keeps no socket: answered, then closed after the request timeout',
    build: (s, route) => ({ kind: 'raw', bytes: stalledBody(s, route, 'content-length'), awaitClose: true }),
    expect: badRequest('body-timeout', { closes: true }),
    verify: within(BODY_TIMEOUT_MS * 0.8, REQUEST_TIMEOUT_MS + SLACK_MS),
  },
];

describeAttacks('slow clients', harness, ATTACKS, { concurrent: true });
describeAttacks('stalled connections', harness, CLOSE_ATTACKS, { concurrent: true });

describe('a connection that never sends a byte', () => {
  it('is closed within the request timeout', async () => {
    const startedMs = Date.now();
    const exchange = await rawExchange(Number(new URL(harness().h.gateway.url).port), Buffer.alloc(0), {
      awaitClose: true,
    });
    expect(exchange.closedByGateway).toBe(true);
    expect(Date.now() - startedMs).toBeLessThan(REQUEST_TIMEOUT_MS + SLACK_MS);
  });
});
