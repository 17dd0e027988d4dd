/** Hostile and broken input: every case gets an envelope (or a clean close) and the sandbox lives on. */
import net from 'node:net';
import { OWNER, idempotencyKey, launch, type Harness } from './support/harness';

let h: Harness;
beforeAll(async () => {
  h = await launch({ limits: { readPerSecond: 10_000, writePerSecond: 10_000 }, bodyLimitBytes: 4096 });
});
afterAll(() => h.close());
afterEach(async () => {
  expect((await h.call('GET', '/api/v1/health')).status).toBe(200);
});

const create = (rawBody: string | Uint8Array, contentType = 'application/json') =>
  h.call('POST', '/api/v1/computes', {
    key: OWNER,
    rawBody,
    headers: { 'content-type': contentType, 'idempotency-key': idempotencyKey() },
  });

/** Raw bytes on a socket, for what fetch refuses to send. */
function rawExchange(port: number, bytes: string | Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.end(bytes));
    let received = '';
    socket.on('data', (chunk) => (received += chunk.toString('latin1')));
    socket.on('close', () => resolve(received));
    socket.on('error', reject);
  });
}

describe('bodies', () => {
  it.each([
    ['text/plain', 'BAD_REQUEST'],
    ['application/x-www-form-urlencoded', 'BAD_REQUEST'],
    ['application/json; charset=latin1', 'BAD_REQUEST'],
  ])('Content-Type %s → 400 %s', async (contentType, code) => {
    expect((await create('{}', contentType)).body.code).toBe(code);
  });

  it('accepts application/json with charset=utf-8 (any case)', async () => {
    expect((await create('{}', 'Application/JSON; charset=UTF-8')).body.code).toBe('VALIDATION_ERROR');
  });

  it.each([
    ['empty', ''],
    ['null', 'null'],
    ['a string', '"compute"'],
    ['a number', '42'],
    ['an array', '[]'],
    ['truncated', '{"hostName": "a"'],
    ['trailing garbage', '{} x'],
  ])('%s JSON → 400 MALFORMED_JSON', async (_what, body) => {
    expect((await create(body)).body.code).toBe('MALFORMED_JSON');
  });

  it('invalid UTF-8 bytes → 400 MALFORMED_JSON', async () => {
    expect((await create(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]))).body.code).toBe('MALFORMED_JSON');
  });

  it('deep nesting within the size limit → 400 MALFORMED_JSON, not a stack overflow', async () => {
    expect((await create(`{"tags":${'['.repeat(1500)}${']'.repeat(1500)}}`)).body.code).toBe('MALFORMED_JSON');
  });

  it('a prototype-polluting key is just an unknown field', async () => {
    const r = await create('{"__proto__": {"admin": true}, "constructor": 1}');
    expect(r.body.code).toBe('VALIDATION_ERROR');
  });

  it('a body over the limit → 413 PAYLOAD_TOO_LARGE with the envelope, declared or streamed', async () => {
    const declared = await create('x'.repeat(10_000));
    expect([declared.status, declared.body.code]).toEqual([413, 'PAYLOAD_TOO_LARGE']);
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 50; i++) controller.enqueue(new Uint8Array(1024).fill(0x20));
        controller.close();
      },
    });
    const streamed = await fetch(`${h.sandbox.apiBaseUrl}/computes`, {
      method: 'POST',
      headers: { authorization: `Bearer ${OWNER}`, 'content-type': 'application/json' },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(streamed.status).toBe(413);
    expect(((await streamed.json()) as { code: string }).code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('a 1 MB body is refused without trouble, even without a key', async () => {
    const r = await h.call('POST', '/api/v1/computes', { rawBody: 'x'.repeat(1024 * 1024) });
    expect(r.status).toBe(413);
  });

  it('bodies on operations that take none are ignored (but still size-limited)', async () => {
    const r = await h.call('GET', '/api/v1/regions', { key: OWNER, headers: {} });
    expect(r.status).toBe(200);
  });
});

describe('targets', () => {
  it.each([
    ['/api/v1/computes/../health', 404, 'NOT_FOUND'],
    ['/api/v1/computes/', 404, 'NOT_FOUND'],
    ['/api/v1//computes', 404, 'NOT_FOUND'],
    ['/api/v1/computes/%2e%2e', 404, 'RESOURCE_NOT_FOUND'],
    ['/api/v1/computes/%E0%A4%A', 400, 'BAD_REQUEST'],
    ['/api/v2/computes', 404, 'NOT_FOUND'],
    ['/', 404, 'NOT_FOUND'],
  ])('%s → %i %s', async (path, status, code) => {
    const r = await rawExchange(
      h.sandbox.port,
      `GET ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${OWNER}\r\nConnection: close\r\n\r\n`,
    );
    expect(r.split('\r\n')[0]).toBe(`HTTP/1.1 ${status} ${status === 404 ? 'Not Found' : 'Bad Request'}`);
    expect(JSON.parse(r.slice(r.indexOf('\r\n\r\n') + 4)).code).toBe(code);
  });

  it('an absolute-form target is not a route of ours', async () => {
    const r = await rawExchange(
      h.sandbox.port,
      `GET http://evil.example/api/v1/regions HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
    );
    expect(r.startsWith('HTTP/1.1 404')).toBe(true);
  });
});

describe('the wire', () => {
  it('garbage bytes get a 400 envelope and a close', async () => {
    const r = await rawExchange(h.sandbox.port, Buffer.from([0x00, 0xff, 0x13, 0x37, 0x0d, 0x0a, 0x0d, 0x0a]));
    expect(r.startsWith('HTTP/1.1 400')).toBe(true);
    expect(JSON.parse(r.slice(r.indexOf('\r\n\r\n') + 4))).toMatchObject({ success: false, code: 'BAD_REQUEST' });
  });

  it('oversized headers get 431', async () => {
    const r = await rawExchange(
      h.sandbox.port,
      `GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
    );
    expect(r.startsWith('HTTP/1.1 431')).toBe(true);
  });

  it('a client that hangs up mid-body does not hurt', async () => {
    await new Promise<void>((resolve) => {
      const socket = net.connect(h.sandbox.port, '127.0.0.1', () => {
        socket.write(
          `POST /api/v1/computes HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"host`,
        );
        setTimeout(() => socket.destroy(), 20);
      });
      socket.on('close', () => resolve());
      socket.on('error', () => resolve());
    });
  });
});
