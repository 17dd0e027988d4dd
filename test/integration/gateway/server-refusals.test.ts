/**
 * What the HTTP server refuses before the request path (issue #11 §3: "requests refused by Node's
 * HTTP parser get an access line and a metric; today they get neither"). For each reason: the
 * answer in the envelope with an `X-Request-Id`, an access line with that id and the reason, one
 * more in `strettch_gateway_connection_refusals_total{reason}`, no header value of the request in
 * any log line, and nothing at the sandbox. Connection caps have their own file
 * (`connection-limits.test.ts`).
 */
import type { AnsweredRefusal } from '../../../src/shared/connection-refusals';
import { CONNECTION_REFUSALS, REFUSAL_REASONS } from '../../../src/shared/connection-refusals';
import { startGatewayHarness, type GatewayHarness } from '../../helpers/gateway-harness';
import { connectFrom, parseAnswer, refusalCount } from '../../helpers/raw-connections';

const HEADERS_TIMEOUT_MS = 300;
const REQUEST_TIMEOUT_MS = 900;
/** In a header value of every request below: it must never reach a log line. */
const SENTINEL = 'sentinel-header-value-7f3a9c';

let h: GatewayHarness;
let port: number;

beforeAll(async () => {
  h = await startGatewayHarness({
    server: { headersTimeoutMs: HEADERS_TIMEOUT_MS, requestTimeoutMs: REQUEST_TIMEOUT_MS },
    // Longer than Node's request timeout, so that a stalled body meets Node's timeout first.
    pipeline: { bodyTimeoutMs: 10_000 },
  });
  port = Number(new URL(h.gateway.url).port);
});

afterAll(async () => {
  await h.close();
});

const token = () => h.mint('operator');
const createHead = (extra: string[] = []) =>
  [
    'POST /api/v1/computes HTTP/1.1',
    'Host: gateway.test',
    `Authorization: Bearer ${token()}`,
    'Content-Type: application/json',
    'Idempotency-Key: 3f1c2b9e-8a47-4d6b-9c1e-2f3a4b5c6d7e',
    `X-Secret: ${SENTINEL}`,
    ...extra,
  ].join('\r\n');

interface Case {
  reason: AnsweredRefusal;
  /** The bytes to write (built when the test runs: they hold a freshly minted token). */
  send: () => string;
}

const CASES: Case[] = [
  {
    reason: 'too-many-header-lines',
    send: () => `${createHead(Array.from({ length: 100 }, (_, i) => `X-F${i}: v`))}\r\nContent-Length: 2\r\n\r\n{}`,
  },
  { reason: 'headers-too-large', send: () => `${createHead([`X-Big: ${SENTINEL}${'a'.repeat(20_000)}`])}\r\n\r\n` },
  { reason: 'invalid-http', send: () => `${createHead([`Bad Name: ${SENTINEL}`])}\r\nContent-Length: 2\r\n\r\n{}` },
  { reason: 'missing-host', send: () => `GET /api/v1/health HTTP/1.1\r\nX-Secret: ${SENTINEL}\r\n\r\n` },
  {
    reason: 'repeated-host',
    send: () => `GET /api/v1/health HTTP/1.1\r\nHost: a.test\r\nHost: ${SENTINEL}.test\r\n\r\n`,
  },
  { reason: 'authority-form-target', send: () => `CONNECT ${SENTINEL}.example:443 HTTP/1.1\r\nHost: x.test\r\n\r\n` },
  // Headers that stop halfway, then nothing: the header timeout.
  { reason: 'header-timeout', send: () => `${createHead()}\r\nX-More: ` },
  // Complete headers, 5 of 100 body bytes, then nothing: Node's request timeout, while the request path reads.
  { reason: 'body-timeout', send: () => `${createHead()}\r\nContent-Length: 100\r\n\r\n{"na` },
];

describe.each(CASES.map((c) => [c.reason, c] as const))('%s', (reason, c) => {
  const { status } = CONNECTION_REFUSALS[reason];
  it(`is answered ${status} in the envelope, logged and counted, no header value logged`, async () => {
    const before = await h.metricsText();
    const logMark = h.logLines.length;
    h.resetUpstream();

    const connection = await connectFrom(port, '127.0.0.1');
    connection.socket.write(c.send());
    const { text, closedByServer } = await connection.received();
    const answer = parseAnswer(text);

    const { code, message } = CONNECTION_REFUSALS[reason];
    expect(answer.status).toBe(status);
    expect(answer.body).toEqual({
      success: false,
      code,
      message,
      requestId: answer.headers['x-request-id'],
      timestamp: expect.any(String),
    });
    expect(answer.headers.connection).toBe('close');
    expect(closedByServer).toBe(true);

    const line = await h.accessLine(answer.headers['x-request-id']!);
    expect(line).toMatchObject({ status, reason, refusedBy: 'server', clientAddress: '127.0.0.1' });
    const after = await h.metricsText();
    expect(refusalCount(after, reason)).toBe(refusalCount(before, reason) + 1);
    expect(h.logLines.slice(logMark).filter((l) => l.includes(SENTINEL))).toEqual([]);
    expect(h.stats().lastRequest).toBeNull();
  });
});

it('counts a connection reset while its headers are read as aborted (no answer can reach it)', async () => {
  const before = refusalCount(await h.metricsText(), 'aborted');
  const connection = await connectFrom(port, '127.0.0.1');
  connection.socket.write(`${createHead()}\r\nX-Half: ${SENTINEL}`);
  // Let the server read the partial headers, then reset (RST) instead of closing.
  await new Promise((resolve) => setTimeout(resolve, 50));
  connection.socket.resetAndDestroy();
  let after = before;
  for (let attempt = 0; attempt < 100 && after === before; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    after = refusalCount(await h.metricsText(), 'aborted');
  }
  expect(after).toBe(before + 1);
});

it('does not count an idle keep-alive connection reset after its answer: nothing was refused', async () => {
  const before = await h.metricsText();
  const logMark = h.logLines.length;
  const connection = await connectFrom(port, '127.0.0.1');
  connection.socket.write('GET /api/v1/health HTTP/1.1\r\nHost: gateway.test\r\n\r\n');
  await new Promise<void>((resolve) => connection.socket.once('data', () => resolve()));
  await new Promise((resolve) => setTimeout(resolve, 50));
  connection.socket.resetAndDestroy();
  // Long enough for the server to see the reset (the reset of partial headers above is seen within this).
  await new Promise((resolve) => setTimeout(resolve, 300));
  const after = await h.metricsText();
  for (const reason of REFUSAL_REASONS)
    expect([reason, refusalCount(after, reason)]).toEqual([reason, refusalCount(before, reason)]);
  expect(h.logLines.slice(logMark).filter((line) => line.includes('"refusedBy"'))).toEqual([]);
});

it('shows every reason from the start, at zero until it happens', async () => {
  const fresh = await startGatewayHarness();
  try {
    const text = await fresh.metricsText();
    for (const reason of REFUSAL_REASONS) expect([reason, refusalCount(text, reason)]).toEqual([reason, 0]);
  } finally {
    await fresh.close();
  }
});
