/**
 * The caps on open connections (issue #11 §3): over `maxConnectionsPerClient` from one address, or
 * over `maxConnections` in all, a new connection is answered 503 in the envelope with
 * `Connection: close` and closed, never silently dropped; a request written on it never reaches the
 * sandbox; the refusal gets an access line and a count; and a closed connection frees its place.
 * Clients are told apart by their source address: 127.0.0.x, all served by the loopback interface.
 */
import { randomUUID } from 'node:crypto';
import { startGatewayHarness, type GatewayHarness } from '../../helpers/gateway-harness';
import { connectFrom, parseAnswer, refusalCount, type RawConnection } from '../../helpers/raw-connections';

const MAX_CONNECTIONS = 8;
const MAX_PER_CLIENT = 3;

let h: GatewayHarness;
let port: number;
const opened: RawConnection[] = [];

beforeAll(async () => {
  h = await startGatewayHarness({
    server: {
      connectionLimits: { maxConnections: MAX_CONNECTIONS, maxConnectionsPerClient: MAX_PER_CLIENT },
      // Idle connections under the caps stay open for the whole test.
      headersTimeoutMs: 60_000,
    },
  });
  port = Number(new URL(h.gateway.url).port);
});

afterEach(() => {
  for (const connection of opened.splice(0)) connection.socket.destroy();
});

afterAll(async () => {
  await h.close();
});

/** Opens `count` idle connections from `address`, one after the other (so the server admits them in order). */
async function holdIdle(address: string, count: number): Promise<RawConnection[]> {
  const held: RawConnection[] = [];
  for (let i = 0; i < count; i++) held.push(await connectFrom(port, address));
  opened.push(...held);
  return held;
}

/** A complete, valid request of a configured caller, as raw bytes. */
function validRequest(): string {
  const token = h.mint('reader');
  // `Connection: close`: the answer ends the connection, so reading it whole does not wait for keep-alive.
  const lines = [
    'GET /api/v1/computes HTTP/1.1',
    'Host: gateway.test',
    `Authorization: Bearer ${token}`,
    `X-Request-Id: ${randomUUID()}`,
    'Connection: close',
  ];
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/** A connection from `address` that writes a valid request at once, and what it got back. */
async function refusedAnswer(address: string) {
  const connection = await connectFrom(port, address);
  opened.push(connection);
  connection.socket.write(validRequest());
  const { text, closedByServer } = await connection.received();
  return { ...parseAnswer(text), text, closedByServer };
}

/** Retries until a connection from `address` is admitted again (the server sees a close a moment later). */
async function admittedAgain(address: string): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const connection = await connectFrom(port, address);
    opened.push(connection);
    connection.socket.write(validRequest());
    const answer = parseAnswer((await connection.received()).text);
    if (answer.status !== 503) return answer.status;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`no connection from ${address} was admitted again`);
}

function expectRefusal(answer: Awaited<ReturnType<typeof refusedAnswer>>, code: string) {
  expect(answer.status).toBe(503);
  expect(answer.body).toEqual({
    success: false,
    code,
    message: expect.any(String),
    requestId: answer.headers['x-request-id'],
    timestamp: expect.any(String),
  });
  expect(answer.headers.connection).toBe('close');
  expect(answer.headers['content-type']).toBe('application/json; charset=utf-8');
  expect(answer.closedByServer).toBe(true);
  // One answer only: the request written on the refused connection got none of its own.
  expect(answer.text.match(/HTTP\/1\.1 /g)).toHaveLength(1);
}

it('refuses a client past its own cap with 503 and Connection: close; others are still served', async () => {
  await holdIdle('127.0.0.2', MAX_PER_CLIENT);
  const before = await h.metricsText();
  h.resetUpstream();

  const answer = await refusedAnswer('127.0.0.2');
  expectRefusal(answer, 'SERVICE_UNAVAILABLE');
  expect((answer.body as { message: string }).message).toBe(
    'Too many connections are open from this address; retry later.',
  );
  // The request written on the refused connection never reached the sandbox.
  expect(h.stats().lastRequest).toBeNull();

  const line = await h.accessLine(answer.headers['x-request-id']!);
  expect(line).toMatchObject({
    status: 503,
    reason: 'client-connection-limit',
    refusedBy: 'server',
    clientAddress: '127.0.0.2',
  });
  const after = await h.metricsText();
  expect(refusalCount(after, 'client-connection-limit')).toBe(refusalCount(before, 'client-connection-limit') + 1);

  // Another client is served meanwhile, and the sandbox receives its request.
  const served = await h.as('reader', 'GET', '/api/v1/computes');
  expect(served.status).toBe(200);
  expect(h.stats().lastRequest).toMatchObject({ method: 'GET' });
});

it('admits the client again once one of its connections closes', async () => {
  const held = await holdIdle('127.0.0.3', MAX_PER_CLIENT);
  expect((await refusedAnswer('127.0.0.3')).status).toBe(503);
  held[0]!.socket.destroy();
  expect(await admittedAgain('127.0.0.3')).toBe(200);
});

it('refuses every client past the global cap, and serves again once connections close', async () => {
  // Three clients fill the global cap (3 + 3 + 2), none over its own.
  const held = [
    ...(await holdIdle('127.0.0.4', 3)),
    ...(await holdIdle('127.0.0.5', 3)),
    ...(await holdIdle('127.0.0.6', MAX_CONNECTIONS - 6)),
  ];
  const before = await h.metricsText();
  h.resetUpstream();

  const fresh = await refusedAnswer('127.0.0.7');
  expectRefusal(fresh, 'SERVICE_UNAVAILABLE');
  expect((fresh.body as { message: string }).message).toBe('The gateway has too many open connections; retry later.');
  expect((await h.accessLine(fresh.headers['x-request-id']!)).reason).toBe('connection-limit');
  expect(h.stats().lastRequest).toBeNull();
  const after = await h.metricsText();
  expect(refusalCount(after, 'connection-limit')).toBe(refusalCount(before, 'connection-limit') + 1);

  for (const connection of held) connection.socket.destroy();
  expect(await admittedAgain('127.0.0.7')).toBe(200);
});
