/**
 * A hostile upstream on a raw `net` server, for what the sandbox (a well-behaved HTTP server)
 * cannot send: a 101 or another 1xx, thousands of header lines, a head larger than any parser's
 * limit. It records the head of every request it receives, so a test is judged by what the
 * upstream saw, and answers with whatever bytes the test's `answer` writes.
 */
import net from 'node:net';

/** Writes the answer to one request; the socket stays open unless the answer ends it. */
export type RawAnswer = (socket: net.Socket, requestHead: string) => void;

export interface RawUpstream {
  /** `http://127.0.0.1:<port>/api/v1`, for the gateway's `upstream.baseUrl`. */
  baseUrl: string;
  /** The head (request line and header lines) of every request received, in order. */
  received: string[];
  /** Replaces the answer to the next requests. */
  answerWith(answer: RawAnswer): void;
  /** Forgets what was received. */
  reset(): void;
  close(): Promise<void>;
}

/** A complete, closing 200 with a small JSON body. */
export function okAnswer(extraHeaderLines: readonly string[] = []): string {
  const body = '{"success":true,"data":[]}';
  return [
    'HTTP/1.1 200 OK',
    'Content-Type: application/json',
    `Content-Length: ${body.length}`,
    'Connection: close',
    ...extraHeaderLines,
    '',
    body,
  ].join('\r\n');
}

export async function startRawUpstream(): Promise<RawUpstream> {
  const received: string[] = [];
  const sockets = new Set<net.Socket>();
  let answer: RawAnswer = (socket) => socket.end(okAnswer());

  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let pending = '';
    socket.on('data', (chunk: Buffer) => {
      pending += chunk.toString('latin1');
      // One request per connection is all these tests need; the answers close or hijack it.
      const end = pending.indexOf('\r\n\r\n');
      if (end === -1) return;
      const head = pending.slice(0, end);
      pending = pending.slice(end + 4);
      received.push(head);
      answer(socket, head);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;

  return {
    baseUrl: `http://127.0.0.1:${port}/api/v1`,
    received,
    answerWith(next) {
      answer = next;
    },
    reset() {
      received.length = 0;
    },
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
