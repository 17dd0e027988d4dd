/**
 * The security suite's one helper. `ROUTES` holds a concrete, valid request for every operation of
 * the catalog; `describeAttacks` runs a list of attacks against every route through one function,
 * `runAttack`, which judges each attack twice:
 *
 * - by the gateway's answer: the status and the Strettch error envelope (and the access-log line);
 * - by the upstream: for an attack that must be stopped, the sandbox referee's per-key request
 *   counts, its count of unauthenticated requests and its last received request are the same
 *   before and after; for one that is let through, the request the sandbox recorded is the route's
 *   own (same method, same rebuilt target) and carries only the gateway's allow-listed headers,
 *   with `Content-Type` exactly `application/json` when it has a body and none otherwise.
 *
 * Each route also gets a control: its clean request must reach the upstream, so that "the upstream
 * saw nothing" can never pass merely because the route itself is broken.
 */
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { CATALOG, OPERATION_IDS, type HttpMethod, type Operation, type OperationId } from '../../src/catalog/catalog';
import type { GatewayErrorCode } from '../../src/gateway/errors';
import type { RecordedRequest } from '../../src/sandbox';
import {
  createBody,
  startGatewayHarness,
  type AccessLine,
  type GatewayHarness,
  type GatewayHarnessOptions,
  type RequestHeaders,
} from '../helpers/gateway-harness';

/** The caller every route is sent as: granted every scope, on the `main` account. */
export const ATTACK_CALLER = 'operator';
/** The challenge of a refused token; with no credential at all the `error` part is absent. */
export const INVALID_TOKEN_CHALLENGE = 'Bearer realm="strettch-gateway", error="invalid_token"';
export const NO_TOKEN_CHALLENGE = 'Bearer realm="strettch-gateway"';
/** The only headers the gateway may send upstream (its allow-list, plus what Node's client adds). */
export const UPSTREAM_HEADER_ALLOW_LIST: readonly string[] = [
  'host',
  'connection',
  'content-type',
  'content-length',
  'accept',
  'accept-encoding',
  'idempotency-key',
  'x-request-id',
  'user-agent',
  'authorization',
  // W3C Trace Context, forwarded deliberately (issue #13) and only in canonical form.
  'traceparent',
  'tracestate',
];

// ---------------------------------------------------------------------------------------------
// Routes
// ---------------------------------------------------------------------------------------------

export interface RouteCase {
  /** For test titles: `computes.start POST /api/v1/computes/1/start`. */
  name: string;
  operation: Operation;
  id: OperationId;
  method: HttpMethod;
  /** The path exactly as sent, without the query. */
  path: string;
  /** The query of the valid request (without `?`), '' when it has none. */
  query: string;
  /** `path` plus `?query`: also what the upstream must receive, since this target is canonical. */
  target: string;
  requiresAuth: boolean;
  /** Whether the operation declares this query parameter (`page`, `limit`). */
  declaresQuery(name: string): boolean;
  /** Content-Type and a fresh Idempotency-Key where the operation needs them. */
  headers(): Record<string, string>;
  body: string | undefined;
}

/** What each operation needs besides its path; a Record, so a new operation fails to compile here. */
const SAMPLES: Record<OperationId, { query?: string; body?: string }> = {
  'computes.list': { query: 'page=1&limit=20' },
  'computes.create': { body: createBody('security-suite') },
  'computes.get': {},
  'computes.delete': {},
  'computes.start': {},
  'computes.stop': {},
  'computes.reboot': {},
  'computes.upsize': { body: JSON.stringify({ newSpecification: 'S-2C-4G' }) },
  'specifications.list': {},
  'images.list': {},
  'regions.list': {},
  health: {},
};
/** The path parameter every route uses: a well-formed id (whether the compute exists is the upstream's business). */
const SAMPLE_ID = '1';

function routeFor(operation: Operation): RouteCase {
  const sample = SAMPLES[operation.id];
  const path = `/api/v1/${operation.segments.map((s) => (s.kind === 'literal' ? s.value : SAMPLE_ID)).join('/')}`;
  const query = sample.query ?? '';
  const target = query === '' ? path : `${path}?${query}`;
  const needsKey = operation.headerParameters.some((p) => p.name.toLowerCase() === 'idempotency-key');
  return {
    name: `${operation.id} ${operation.method} ${target}`,
    operation,
    id: operation.id,
    method: operation.method,
    path,
    query,
    target,
    requiresAuth: operation.requiresAuth,
    declaresQuery: (name) => operation.queryParameters.some((p) => p.name === name),
    headers: () => ({
      ...(sample.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(needsKey ? { 'idempotency-key': randomUUID() } : {}),
    }),
    body: sample.body,
  };
}

/** Every operation of the catalog, in its order. */
export const ROUTES: readonly RouteCase[] = CATALOG.map(routeFor);
export const PROTECTED_ROUTES = ROUTES.filter((r) => r.requiresAuth);

/** The route's target with one more query part appended (`?x` or `&x`). */
export function withQuery(route: RouteCase, extra: string): string {
  return `${route.target}${route.query === '' ? '?' : '&'}${extra}`;
}

// ---------------------------------------------------------------------------------------------
// Attacks and what is expected of them
// ---------------------------------------------------------------------------------------------

/** One request: through Node's client (`http`), or bytes on a raw socket (`raw`). */
export type AttackRequest =
  | {
      kind: 'http';
      method: string;
      /** Sent verbatim on the request line. */
      target: string;
      headers: RequestHeaders;
      body?: string | Buffer;
      /** Strings that must not appear in the answer or in any log line (tokens, mostly). */
      secrets?: readonly string[];
    }
  | {
      kind: 'raw';
      bytes: Buffer;
      /** Write one byte every `dripMs` instead of all at once (a slow client)… */
      dripMs?: number;
      /** …after writing this many at once (default 0). */
      dripAfterBytes?: number;
      /** Wait for the gateway to close the connection after its answer (framing errors must). */
      awaitClose?: boolean;
      secrets?: readonly string[];
    };

/** The attack is refused by the gateway: nothing reaches the upstream. */
export interface Stopped {
  kind: 'stopped';
  status: number;
  code: GatewayErrorCode;
  /** The access-log reason (exact, or a prefix when a string ending in `*`, or a pattern). */
  reason?: string | RegExp;
  /** Exact values of response headers (`undefined`: must be absent). */
  headers?: Record<string, string | undefined>;
  /** Raw attacks: the gateway must close the connection after answering. */
  closes?: boolean;
  /** The upstream status in the access log, when the refusal comes after an upstream answer (a redirect). */
  upstreamStatus?: number;
}

/** The attack's request is legitimate underneath: it is forwarded, cleaned. */
export interface Sanitized {
  kind: 'sanitized';
  /** Extra checks on what the sandbox received (the generic ones always run). */
  check?: (seen: RecordedRequest, route: RouteCase) => void;
}

export type Expectation = Stopped | Sanitized;

export interface Attack {
  name: string;
  /** Default: every route. */
  appliesTo?: (route: RouteCase) => boolean;
  build: (s: SecurityHarness, route: RouteCase) => AttackRequest;
  expect: Expectation | ((route: RouteCase) => Expectation);
  /** Anything else to check once the attack is judged (another server's counters, say). */
  verify?: (answer: Answer, route: RouteCase) => void | Promise<void>;
}

export const stopped = (
  status: number,
  code: GatewayErrorCode,
  more: Omit<Stopped, 'kind' | 'status' | 'code'> = {},
): Stopped => ({ kind: 'stopped', status, code, ...more });
export const badRequest = (
  reason?: string | RegExp,
  more: Omit<Stopped, 'kind' | 'status' | 'code' | 'reason'> = {},
): Stopped => stopped(400, 'BAD_REQUEST', { ...(reason !== undefined ? { reason } : {}), ...more });
export const sanitized = (check?: Sanitized['check']): Sanitized => ({
  kind: 'sanitized',
  ...(check ? { check } : {}),
});

// ---------------------------------------------------------------------------------------------
// The harness: one gateway (and sandbox) per test file
// ---------------------------------------------------------------------------------------------

/** A gateway answer, from Node's client or parsed from raw bytes. */
export interface Answer {
  status: number;
  /** Lower-case names. */
  headers: Record<string, string | string[] | undefined>;
  text: string;
  body: unknown;
  /** The `x-request-id` response header ('' when absent: Node's parser refused the request). */
  requestId: string;
  elapsedMs: number;
  /** Raw requests only: whether the gateway closed the connection. */
  closedByGateway?: boolean;
}

/** What the upstream has seen so far, as the referee counts it. */
export interface UpstreamFootprint {
  /** Per key label: every request that reached the rate limiter (admitted or not). */
  requestsByKey: Record<string, number>;
  unauthenticated: number;
  /** The referee's record of the last request, kept by identity: a new request replaces it. */
  last: RecordedRequest | null;
}

export interface SecurityHarness {
  h: GatewayHarness;
  /** A valid token of ATTACK_CALLER. */
  token(): string;
  /** The route's valid request, with changes. */
  clean(
    route: RouteCase,
    change?: {
      headers?: RequestHeaders;
      target?: string;
      method?: string;
      body?: string | Buffer;
      token?: string | null;
    },
  ): AttackRequest;
  /** The route's valid request as header lines for a raw request (Host, Authorization, route headers). */
  rawHeaderLines(route: RouteCase, token?: string | null): string[];
  deliver(request: AttackRequest): Promise<Answer>;
  footprint(): UpstreamFootprint;
  accessLine(requestId: string): Promise<AccessLine>;
  close(): Promise<void>;
}

const TOKEN_REFRESH_MS = 240_000;

export async function startSecurityHarness(options: GatewayHarnessOptions = {}): Promise<SecurityHarness> {
  const h = await startGatewayHarness({
    sandbox: { limits: { readPerSecond: 100_000, writePerSecond: 100_000 } },
    ...options,
  });
  const gatewayPort = Number(new URL(h.gateway.url).port);
  let cached: { token: string; mintedAtMs: number } | undefined;
  const token = (): string => {
    if (!cached || Date.now() - cached.mintedAtMs > TOKEN_REFRESH_MS)
      cached = { token: h.mint(ATTACK_CALLER, { lifetimeSec: 600 }), mintedAtMs: Date.now() };
    return cached.token;
  };

  // Access lines indexed as they come, so that waiting for one does not re-parse the whole log.
  const lines = new Map<string, AccessLine>();
  let scanned = 0;
  const accessLine = async (requestId: string): Promise<AccessLine> => {
    for (let attempt = 0; attempt < 400; attempt++) {
      for (; scanned < h.logLines.length; scanned++) {
        const line = JSON.parse(h.logLines[scanned]!) as AccessLine;
        if (line.msg === 'request') lines.set(line.requestId, line);
      }
      const found = lines.get(requestId);
      if (found) return found;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    throw new Error(`no access-log line for request ${requestId}`);
  };

  return {
    h,
    token,
    clean(route, change = {}) {
      const credential = change.token === undefined ? token() : change.token;
      const body = change.body ?? route.body;
      return {
        kind: 'http',
        method: change.method ?? route.method,
        target: change.target ?? route.target,
        // An `undefined` in `change.headers` removes the route's own header.
        headers: Object.fromEntries(
          Object.entries({
            ...(credential !== null ? { authorization: `Bearer ${credential}` } : {}),
            ...route.headers(),
            ...change.headers,
          }).filter(([, value]) => value !== undefined),
        ),
        ...(body !== undefined ? { body } : {}),
      };
    },
    rawHeaderLines(route, credential = token()) {
      return [
        'Host: gateway.test',
        ...(credential !== null ? [`Authorization: Bearer ${credential}`] : []),
        ...Object.entries(route.headers()).map(([name, value]) => `${name}: ${value}`),
      ];
    },
    async deliver(request) {
      const startedMs = Date.now();
      if (request.kind === 'http') {
        const reply = await h.request(request.method, request.target, {
          headers: request.headers,
          ...(request.body !== undefined ? { body: request.body } : {}),
        });
        return {
          status: reply.status,
          headers: reply.headers,
          text: reply.text,
          body: reply.body,
          requestId: reply.requestId,
          elapsedMs: Date.now() - startedMs,
        };
      }
      const exchange = await rawExchange(gatewayPort, request.bytes, {
        dripMs: request.dripMs,
        dripAfterBytes: request.dripAfterBytes,
        awaitClose: request.awaitClose,
      });
      return {
        ...parseRawAnswer(exchange.text),
        elapsedMs: Date.now() - startedMs,
        closedByGateway: exchange.closedByGateway,
      };
    },
    footprint() {
      const stats = h.stats();
      const requestsByKey: Record<string, number> = {};
      for (const [label, key] of Object.entries(stats.keys))
        requestsByKey[label] = key.classes.all.admitted + key.classes.all.rejected;
      return { requestsByKey, unauthenticated: stats.unauthenticated, last: stats.lastRequest };
    },
    accessLine,
    close: () => h.close(),
  };
}

/**
 * Starts one security harness for the test file (in `beforeAll`) and closes it after. `options` may
 * be a function, for settings known only once something else listens (an upstream of the test's own).
 */
export function useSecurityHarness(
  options: GatewayHarnessOptions | (() => Promise<GatewayHarnessOptions>) = {},
): () => SecurityHarness {
  let harness: SecurityHarness | undefined;
  beforeAll(async () => {
    harness = await startSecurityHarness(typeof options === 'function' ? await options() : options);
  });
  afterAll(async () => {
    await harness?.close();
  });
  return () => {
    if (!harness) throw new Error('the security harness is not started');
    return harness;
  };
}

// ---------------------------------------------------------------------------------------------
// The one function
// ---------------------------------------------------------------------------------------------

const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

function reasonMatches(reason: string | undefined, expected: string | RegExp): boolean {
  if (reason === undefined) return false;
  if (expected instanceof RegExp) return expected.test(reason);
  return expected.endsWith('*') ? reason.startsWith(expected.slice(0, -1)) : reason === expected;
}

function requestLabel(seen: RecordedRequest | null): string {
  return seen === null ? 'nothing' : `${seen.method} ${seen.target}`;
}

/** The gateway answered this itself, in the Strettch error envelope, and the upstream saw nothing. */
async function judgeStopped(
  s: SecurityHarness,
  expected: Stopped,
  answer: Answer,
  before: UpstreamFootprint,
): Promise<void> {
  expect({ status: answer.status, code: (answer.body as { code?: unknown } | undefined)?.code }).toEqual({
    status: expected.status,
    code: expected.code,
  });
  expect(answer.body).toEqual({
    success: false,
    code: expected.code,
    message: expect.any(String),
    requestId: expect.any(String),
    timestamp: expect.stringMatching(TIMESTAMP),
  });
  expect(answer.headers['content-type']).toBe('application/json; charset=utf-8');
  for (const [name, value] of Object.entries(expected.headers ?? {}))
    expect([name, answer.headers[name]]).toEqual([name, value]);
  if (expected.closes) expect(answer.closedByGateway).toBe(true);
  if (answer.requestId !== '') {
    // Answered on the request path (not by Node's parser): the same id in the envelope, and a log line.
    expect((answer.body as { requestId: string }).requestId).toBe(answer.requestId);
    const line = await s.accessLine(answer.requestId);
    expect(line.status).toBe(expected.status);
    expect(line.upstreamStatus).toBe(expected.upstreamStatus);
    if (expected.reason !== undefined && !reasonMatches(line.reason, expected.reason)) {
      throw new Error(`access-log reason ${JSON.stringify(line.reason)} does not match ${String(expected.reason)}`);
    }
  } else if (expected.reason !== undefined) {
    throw new Error(`expected the request path to refuse it (${String(expected.reason)}), but Node's parser did`);
  }
  const after = s.footprint();
  if (after.last !== before.last) throw new Error(`the upstream received ${requestLabel(after.last)}`);
  expect(after.requestsByKey).toEqual(before.requestsByKey);
  expect(after.unauthenticated).toBe(before.unauthenticated);
}

/** The upstream received the route's own request, with nothing but the allow-listed headers. */
async function judgeSanitized(
  s: SecurityHarness,
  expected: Sanitized,
  answer: Answer,
  before: UpstreamFootprint,
  route: RouteCase,
): Promise<void> {
  const seen = s.footprint().last;
  if (seen === null || seen === before.last) {
    throw new Error(
      `expected the request to be forwarded, but the gateway answered ${answer.status} ${JSON.stringify(answer.body)}`,
    );
  }
  // Whatever the upstream answered (a 404 for a compute that does not exist, say) is relayed as it is.
  if (answer.requestId !== '') expect((await s.accessLine(answer.requestId)).upstreamStatus).toBe(answer.status);
  expect([seen.method, seen.target]).toEqual([route.method, route.target]);
  const names = seen.rawHeaders.map(([name]) => name.toLowerCase());
  expect(names.filter((name) => !UPSTREAM_HEADER_ALLOW_LIST.includes(name))).toEqual([]);
  // Each header once: nothing of the caller's was merged into the gateway's own.
  expect(names.length).toBe(new Set(names).size);
  const { h } = s;
  expect(seen.headers.host).toBe(new URL(h.sandbox.url).host);
  expect(seen.headers['user-agent']).toMatch(/^strettch-gateway\//);
  // A body goes as exactly application/json, whatever the caller declared; no body, no Content-Type (issue #11).
  const bodyBytes = Buffer.from(seen.bodyBase64 ?? '', 'base64').length;
  expect(seen.headers['content-type']).toBe(bodyBytes > 0 ? 'application/json' : undefined);
  expect(seen.headers.authorization).toBe(route.requiresAuth ? `Bearer key(${h.labelOf('main')})` : undefined);
  expected.check?.(seen, route);
}

/** Sends one attack at one route and judges it; the one function behind every security test. */
export async function runAttack(s: SecurityHarness, route: RouteCase, attack: Attack): Promise<Answer> {
  const expected = typeof attack.expect === 'function' ? attack.expect(route) : attack.expect;
  const request = attack.build(s, route);
  const before = s.footprint();
  const logMark = s.h.logLines.length;
  const answer = await s.deliver(request);
  if (expected.kind === 'stopped') await judgeStopped(s, expected, answer, before);
  else await judgeSanitized(s, expected, answer, before, route);
  for (const secret of request.secrets ?? []) {
    if (answer.text.includes(secret) || JSON.stringify(answer.headers).includes(secret))
      throw new Error('a secret of the request was echoed in the answer');
    if (s.h.logLines.slice(logMark).some((line) => line.includes(secret)))
      throw new Error('a secret of the request was logged');
  }
  await attack.verify?.(answer, route);
  return answer;
}

/** The control of a route: its clean request reaches the upstream, unchanged. */
export const CONTROL: Attack = {
  name: 'control: the clean request reaches the upstream',
  build: (s, route) => s.clean(route),
  expect: sanitized(),
};

export interface DescribeOptions {
  routes?: readonly RouteCase[];
  /** Default true: run CONTROL on every route first. */
  control?: boolean;
  /**
   * Run the attacks concurrently (slow clients spend most of their time waiting). Only for attacks
   * that must all be stopped and without controls: a request let through while another attack is
   * judged would be blamed on it.
   */
  concurrent?: boolean;
}

/** `describe` a family: every applicable attack against every route, each through `runAttack`. */
export function describeAttacks(
  family: string,
  harness: () => SecurityHarness,
  attacks: readonly Attack[],
  options: DescribeOptions = {},
): void {
  const routes = options.routes ?? ROUTES;
  const applicable = (route: RouteCase) => attacks.filter((a) => a.appliesTo?.(route) ?? true);
  describe(family, () => {
    if (options.concurrent) {
      // One flat table: Jest runs concurrent tests together only within one describe block.
      const table = routes.flatMap((route) =>
        applicable(route).map((attack) => [`${route.name} › ${attack.name}`, route, attack] as const),
      );
      if (table.length > 0)
        it.concurrent.each(table)('%s', async (_title, route, attack) =>
          runAttack(harness(), route, attack).then(() => undefined),
        );
      return;
    }
    describe.each(routes.map((route) => [route.name, route] as const))('%s', (_name, route) => {
      const table = [...(options.control === false ? [] : [CONTROL]), ...applicable(route)].map(
        (attack) => [attack.name, attack] as const,
      );
      if (table.length === 0) return;
      it.each(table)('%s', async (_attackName, attack) => {
        await runAttack(harness(), route, attack);
      });
    });
  });
}

/** Fails the suite if the route table and the catalog ever disagree. */
export function expectEveryOperationCovered(): void {
  expect(ROUTES.map((r) => r.id).sort()).toEqual([...OPERATION_IDS].sort());
}

// ---------------------------------------------------------------------------------------------
// Raw sockets
// ---------------------------------------------------------------------------------------------

interface RawExchange {
  text: string;
  closedByGateway: boolean;
}

/** Longest a raw exchange may take; an attack the gateway neither answers nor closes fails on it. */
const RAW_EXCHANGE_LIMIT_MS = 8_000;
/** After a complete answer, how long to wait for the gateway to close when that is expected. */
const CLOSE_WAIT_MS = 2_000;

/**
 * Writes `bytes` (at once, or one byte every `dripMs`) and reads until the gateway closes, or — unless
 * a close is awaited — until one complete response has arrived. The write side is never closed
 * first: a half-closed socket would hide what a slow or stalled client looks like.
 */
export function rawExchange(
  port: number,
  bytes: Buffer,
  options: { dripMs?: number; dripAfterBytes?: number; awaitClose?: boolean } = {},
): Promise<RawExchange> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let received = Buffer.alloc(0);
    let closedByGateway = false;
    let drip: NodeJS.Timeout | undefined;
    let closeWait: NodeJS.Timeout | undefined;
    const limit = setTimeout(
      () => socket.destroy(new Error(`no answer and no close within ${RAW_EXCHANGE_LIMIT_MS} ms`)),
      RAW_EXCHANGE_LIMIT_MS,
    );
    socket.on('connect', () => {
      if (options.dripMs === undefined) {
        socket.write(bytes);
        return;
      }
      let next = Math.min(options.dripAfterBytes ?? 0, bytes.length);
      socket.write(bytes.subarray(0, next));
      drip = setInterval(() => {
        if (next >= bytes.length || !socket.writable || received.length > 0) {
          clearInterval(drip);
          return;
        }
        socket.write(bytes.subarray(next, next + 1));
        next++;
      }, options.dripMs);
    });
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (!responseComplete(received.toString('latin1'))) return;
      if (!options.awaitClose) socket.end();
      else closeWait ??= setTimeout(() => socket.end(), CLOSE_WAIT_MS);
    });
    socket.on('end', () => {
      closedByGateway = true;
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      // A reset after the answer is a close too (the gateway may destroy rather than end).
      if (error.code === 'ECONNRESET' || error.code === 'EPIPE') closedByGateway = true;
      else if (received.length === 0) reject(error);
    });
    socket.on('close', () => {
      clearTimeout(limit);
      clearInterval(drip);
      clearTimeout(closeWait);
      resolve({ text: received.toString('latin1'), closedByGateway });
    });
  });
}

/** Skips interim (1xx) responses; true once a final response's body is complete by its Content-Length. */
function finalResponse(text: string): { head: string; body: string } | undefined {
  let rest = text;
  for (;;) {
    const end = rest.indexOf('\r\n\r\n');
    if (end === -1) return undefined;
    const head = rest.slice(0, end);
    if (/^HTTP\/1\.[01] 1\d\d/.test(head)) {
      rest = rest.slice(end + 4);
      continue;
    }
    return { head, body: rest.slice(end + 4) };
  }
}

function responseComplete(text: string): boolean {
  const response = finalResponse(text);
  if (!response) return false;
  const length = /\r\ncontent-length: *(\d+)/i.exec(response.head);
  if (length) return Buffer.byteLength(response.body, 'latin1') >= Number(length[1]);
  if (/\r\ntransfer-encoding: *chunked/i.test(response.head)) return response.body.endsWith('0\r\n\r\n');
  return false;
}

export function parseRawAnswer(text: string): Omit<Answer, 'elapsedMs'> {
  const response = finalResponse(text);
  if (!response) return { status: 0, headers: {}, text, body: undefined, requestId: '' };
  const [statusLine, ...headerLines] = response.head.split('\r\n');
  const headers: Record<string, string | string[] | undefined> = {};
  for (const line of headerLines) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    const existing = headers[name];
    headers[name] = existing === undefined ? value : [existing, value].flat();
  }
  // Only this response's body: more responses may follow on the connection.
  const length = Number(headers['content-length'] ?? Number.NaN);
  const bodyText = Number.isInteger(length)
    ? Buffer.from(response.body, 'latin1').subarray(0, length).toString('utf8')
    : response.body;
  let body: unknown;
  try {
    body = JSON.parse(bodyText);
  } catch {
    body = undefined;
  }
  const requestId = headers['x-request-id'];
  return {
    status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '')?.[1] ?? 0),
    headers,
    text,
    body,
    requestId: typeof requestId === 'string' ? requestId : '',
  };
}

/** A raw request from a request line, header lines and an optional body (CRLF line ends). */
export function rawRequest(requestLine: string, headerLines: readonly string[], body = ''): Buffer {
  return Buffer.from(`${requestLine}\r\n${headerLines.map((line) => `${line}\r\n`).join('')}\r\n${body}`, 'latin1');
}
