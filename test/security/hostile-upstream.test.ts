/**
 * An upstream that does not answer with one bounded, final HTTP response (issue #11 §3): a 101
 * Switching Protocols once held the caller for 100 s despite `upstream.timeoutMs`. Every such head
 * is a 502 UPSTREAM_UNAVAILABLE in the envelope, well within the timeout, sent once (never
 * retried: the upstream did receive it), and nothing of it reaches the caller. The upstream is a
 * raw socket server (test/helpers/raw-upstream.ts) that records every request it receives.
 */
import type net from 'node:net';
import {
  MAX_UPSTREAM_HEADER_BYTES,
  MAX_UPSTREAM_HEADER_COUNT,
} from '../../src/gateway/forward/upstream-response-limits';
import { OWNER_KEY, startGatewayHarness, type GatewayHarness, type Reply } from '../helpers/gateway-harness';
import { okAnswer, startRawUpstream, type RawAnswer, type RawUpstream } from '../helpers/raw-upstream';

/** Generous for a loaded machine; a refusal must come well before it, and the hold was 100 s. */
const UPSTREAM_TIMEOUT_MS = 5000;

let upstream: RawUpstream;
let h: GatewayHarness;
beforeAll(async () => {
  upstream = await startRawUpstream();
  h = await startGatewayHarness({ upstream: { baseUrl: upstream.baseUrl, timeoutMs: UPSTREAM_TIMEOUT_MS } });
});
afterAll(async () => {
  await h?.close();
  await upstream?.close();
});
beforeEach(() => upstream.reset());

/** `count` header lines in all, `Content-Type`, `Content-Length` and `Connection` included. */
const fillerLines = (count: number, valueBytes = 8) =>
  Array.from({ length: count - 3 }, (_, i) => `X-Filler-${i}: ${'v'.repeat(valueBytes)}`);
/** Header lines adding up to about `bytes` bytes. */
const bulkyLines = (bytes: number) => {
  const lineBytes = 1024;
  return Array.from({ length: Math.ceil(bytes / lineBytes) }, (_, i) => `X-Bulk-${i}: ${'b'.repeat(lineBytes - 12)}`);
};

const write =
  (text: string): RawAnswer =>
  (socket: net.Socket) =>
    socket.write(text);
const writeAndEnd =
  (text: string): RawAnswer =>
  (socket: net.Socket) =>
    socket.end(text);

/** [name, method, target, what the upstream writes, access-log reason, upstream status in the log]. */
const REFUSED: Array<[string, string, string, RawAnswer, string, number | undefined]> = [
  [
    '101 Switching Protocols with Upgrade: websocket, then silence',
    'GET',
    '/api/v1/regions',
    write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n'),
    'upstream-upgrade',
    101,
  ],
  [
    '101 with Upgrade, then bytes of another protocol',
    'GET',
    '/api/v1/regions',
    write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n\x00\x00\x12\x04\x00'),
    'upstream-upgrade',
    101,
  ],
  [
    '101 to a write (POST …/start)',
    'POST',
    '/api/v1/computes/1/start',
    write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n'),
    'upstream-upgrade',
    101,
  ],
  [
    '101 without Upgrade headers, then silence',
    'GET',
    '/api/v1/regions',
    write('HTTP/1.1 101 Switching Protocols\r\n\r\n'),
    'upstream-informational',
    101,
  ],
  [
    '102 Processing, then silence',
    'GET',
    '/api/v1/regions',
    write('HTTP/1.1 102 Processing\r\n\r\n'),
    'upstream-informational',
    102,
  ],
  [
    '103 Early Hints, then a 200',
    'GET',
    '/api/v1/regions',
    writeAndEnd(`HTTP/1.1 103 Early Hints\r\nLink: </x.css>; rel=preload\r\n\r\n${okAnswer()}`),
    'upstream-informational',
    103,
  ],
  [
    `${MAX_UPSTREAM_HEADER_COUNT + 1} header lines`,
    'GET',
    '/api/v1/regions',
    writeAndEnd(okAnswer(fillerLines(MAX_UPSTREAM_HEADER_COUNT + 1))),
    'upstream-too-many-headers',
    200,
  ],
  [
    '300 short header lines (within the byte bound)',
    'GET',
    '/api/v1/regions',
    writeAndEnd(okAnswer(fillerLines(300, 1))),
    'upstream-too-many-headers',
    200,
  ],
  [
    // Between the gateway's bound and Node's own default (16 KiB): the bound is the gateway's.
    `a head of about ${MAX_UPSTREAM_HEADER_BYTES + 4096} bytes`,
    'GET',
    '/api/v1/regions',
    writeAndEnd(okAnswer(bulkyLines(MAX_UPSTREAM_HEADER_BYTES + 4096))),
    'upstream-headers-too-large',
    undefined,
  ],
  [
    'one endless header line, never finished',
    'GET',
    '/api/v1/regions',
    write(`HTTP/1.1 200 OK\r\nX-Endless: ${'e'.repeat(4 * MAX_UPSTREAM_HEADER_BYTES)}`),
    'upstream-headers-too-large',
    undefined,
  ],
];

async function send(method: string, target: string): Promise<{ reply: Reply; elapsedMs: number }> {
  const startedMs = Date.now();
  const reply = await h.as('operator', method, target);
  return { reply, elapsedMs: Date.now() - startedMs };
}

describe('an upstream answer that is not one bounded final response → 502, in time, sent once', () => {
  it.each(REFUSED)('%s', async (_name, method, target, answer, reason, upstreamStatus) => {
    upstream.answerWith(answer);
    const { reply, elapsedMs } = await send(method, target);
    expect(reply.body).toEqual({
      success: false,
      code: 'UPSTREAM_UNAVAILABLE',
      message: 'The upstream API could not be reached.',
      requestId: reply.requestId,
      timestamp: expect.any(String),
    });
    expect(reply.status).toBe(502);
    // Refused on arrival, not by the timer (which would answer 504 UPSTREAM_TIMEOUT).
    expect(elapsedMs).toBeLessThan(UPSTREAM_TIMEOUT_MS);
    // Nothing of the upstream's head reaches the caller.
    expect(reply.headers.upgrade).toBeUndefined();
    expect(
      Object.keys(reply.headers).filter((name) => name.startsWith('x-filler') || name.startsWith('x-bulk')),
    ).toEqual([]);
    // What the upstream received: this one request, once (a refused head is not retried), rebuilt.
    expect(upstream.received).toHaveLength(1);
    expect(upstream.received[0]!.split('\r\n')[0]).toBe(`${method} ${target} HTTP/1.1`);
    const line = await h.accessLine(reply.requestId);
    expect(line).toMatchObject({ status: 502, reason });
    expect(line.upstreamStatus).toBe(upstreamStatus);
    // The account's real key went to the upstream only.
    expect(upstream.received[0]!.toLowerCase()).toContain(`authorization: bearer ${OWNER_KEY.key.toLowerCase()}`);
    expect(reply.text).not.toContain(OWNER_KEY.key);
    expect(h.logLines.some((logged) => logged.includes(OWNER_KEY.key))).toBe(false);
  });
});

describe('what stays allowed', () => {
  it.each([
    ['a plain 200', writeAndEnd(okAnswer())],
    [
      '100 Continue, then a 200 (the one informational answer HTTP/1.1 allows unasked)',
      writeAndEnd(`HTTP/1.1 100 Continue\r\n\r\n${okAnswer()}`),
    ],
    [
      `exactly ${MAX_UPSTREAM_HEADER_COUNT} header lines`,
      writeAndEnd(okAnswer(fillerLines(MAX_UPSTREAM_HEADER_COUNT))),
    ],
    [
      `a head of about ${MAX_UPSTREAM_HEADER_BYTES - 2048} bytes`,
      writeAndEnd(okAnswer(bulkyLines(MAX_UPSTREAM_HEADER_BYTES - 2048))),
    ],
  ])('%s is relayed', async (_name, answer) => {
    upstream.answerWith(answer);
    const { reply } = await send('GET', '/api/v1/regions');
    expect([reply.status, reply.text]).toEqual([200, '{"success":true,"data":[]}']);
    expect(upstream.received).toHaveLength(1);
    expect(await h.accessLine(reply.requestId)).toMatchObject({ status: 200, upstreamStatus: 200 });
  });
});
