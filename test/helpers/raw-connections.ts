/**
 * Raw TCP connections to a server, opened from a chosen loopback address (Linux answers for all of
 * 127.0.0.0/8), so that tests can play several clients at once, and what such a connection received
 * until it was closed.
 */
import net from 'node:net';

export interface RawConnection {
  socket: net.Socket;
  /** Everything received until the server closed the connection (or `closeAfterMs` passed). */
  received(closeAfterMs?: number): Promise<{ text: string; closedByServer: boolean }>;
}

/** Opens one connection from `localAddress` and resolves once it is established. */
export function connectFrom(port: number, localAddress: string): Promise<RawConnection> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1', localAddress });
    const chunks: Buffer[] = [];
    let closedByServer = false;
    const closed = new Promise<void>((done) => socket.once('close', () => done()));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', () => {
      closedByServer = true;
      socket.end();
    });
    socket.on('error', () => {});
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve({
        socket,
        async received(closeAfterMs = 10_000) {
          const timer = setTimeout(() => socket.destroy(), closeAfterMs);
          await closed;
          clearTimeout(timer);
          return { text: Buffer.concat(chunks).toString('latin1'), closedByServer };
        },
      });
    });
    socket.once('error', reject);
  });
}

/** Status, lower-case headers and the JSON body of a raw HTTP/1.1 answer. */
export function parseAnswer(text: string): { status: number; headers: Record<string, string>; body: unknown } {
  const [head = '', ...rest] = text.split('\r\n\r\n');
  const [statusLine = '', ...headerLines] = head.split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of headerLines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  let body: unknown;
  try {
    body = JSON.parse(rest.join('\r\n\r\n'));
  } catch {
    body = undefined;
  }
  return { status: Number(/^HTTP\/1\.1 (\d{3}) /.exec(statusLine)?.[1] ?? 0), headers, body };
}

/** `strettch_gateway_connection_refusals_total{reason}` from a Prometheus text exposition. */
export function refusalCount(metricsText: string, reason: string): number {
  const line = metricsText
    .split('\n')
    .find((l) => l.startsWith(`strettch_gateway_connection_refusals_total{reason="${reason}"} `));
  return line === undefined ? Number.NaN : Number(line.split(' ')[1]);
}
