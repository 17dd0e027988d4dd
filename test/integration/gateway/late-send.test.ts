/**
 * The forwarder's last-moment check: a request whose slot tolerance (`sendByMs`) has passed by the
 * time its upstream request is about to be written leaves nothing on the wire — the upstream sees
 * no byte of it — and reports `late-send`, so the request path takes a new slot.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createForwarder, isLateSend, type Forwarder } from '../../../src/gateway/forward/proxy';

let upstream: http.Server;
let received: string[] = [];
let bytesReceived = 0;
let forwarder: Forwarder;
let gateway: http.Server;
let sendByMs: number | undefined;
let outcomes: unknown[] = [];

beforeAll(async () => {
  upstream = http.createServer((req, res) => {
    received.push(`${req.method} ${req.url}`);
    res.end('{"success":true}');
  });
  upstream.on('connection', (socket) => socket.on('data', (chunk: Buffer) => (bytesReceived += chunk.length)));
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/api/v1`;
  forwarder = createForwarder({
    upstreamBaseUrl: base,
    timeoutMs: 2000,
    connectTimeoutMs: 1000,
    maxSockets: 4,
    filterResponseHeaders: () => ({}),
  });
  gateway = http.createServer((req, res) => {
    void forwarder
      .forward(req, res, {
        upstreamPath: '/computes/specifications',
        headers: {},
        ...(sendByMs === undefined ? {} : { sendByMs }),
      })
      .then((outcome) => {
        outcomes.push(outcome);
        if (!res.headersSent) res.writeHead(isLateSend(outcome) ? 599 : 502).end();
      });
  });
  await new Promise<void>((resolve) => gateway.listen(0, '127.0.0.1', resolve));
});

afterAll(async () => {
  forwarder.close();
  await new Promise((resolve) => gateway.close(resolve));
  await new Promise((resolve) => upstream.close(resolve));
});

beforeEach(() => {
  received = [];
  bytesReceived = 0;
  outcomes = [];
});

async function call(): Promise<number> {
  const port = (gateway.address() as AddressInfo).port;
  const res = await fetch(`http://127.0.0.1:${port}/`);
  await res.arrayBuffer();
  return res.status;
}

test('within its tolerance the request goes out', async () => {
  sendByMs = Date.now() + 1000;
  expect(await call()).toBe(200);
  expect(received).toEqual(['GET /api/v1/computes/specifications']);
});

test('past its tolerance, over a kept-alive connection or a new one, nothing reaches the upstream', async () => {
  for (let i = 0; i < 3; i += 1) {
    sendByMs = Date.now() - 1;
    expect(await call()).toBe(599);
  }
  await new Promise((r) => setTimeout(r, 50));
  expect(outcomes).toEqual(
    Array.from({ length: 3 }, () => ({ kind: 'failed', code: 'UPSTREAM_UNAVAILABLE', reason: 'late-send' })),
  );
  expect(received).toEqual([]);
  expect(bytesReceived).toBe(0);
  // And the forwarder still works afterwards.
  sendByMs = undefined;
  expect(await call()).toBe(200);
});
