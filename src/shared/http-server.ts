import http, { type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { errorEnvelope } from './envelope';
import { requestIdFrom } from './request-id';

export interface RunningServer {
  server: Server;
  /** `http://host:port` with the port actually bound (tests listen on port 0). */
  url: string;
  port: number;
  /**
   * Stops accepting, lets in-flight requests finish (up to `graceMs`), then cuts what is left.
   * Nothing is cut mid-response inside the grace period.
   */
  close(graceMs?: number): Promise<void>;
  isDraining(): boolean;
}

export interface ListenOptions {
  host: string;
  port: number;
  /** Bounds on slow clients (slow-loris headers or bodies). */
  headersTimeoutMs?: number;
  requestTimeoutMs?: number;
  keepAliveTimeoutMs?: number;
}

export function listen(handler: RequestListener, options: ListenOptions): Promise<RunningServer> {
  let draining = false;
  const headersTimeoutMs = options.headersTimeoutMs ?? 10_000;
  const server = http.createServer(
    {
      headersTimeout: headersTimeoutMs,
      requestTimeout: options.requestTimeoutMs ?? 60_000,
      // Node enforces both timeouts only when it sweeps its connections, every 30 s by default, so a
      // slow-loris client would hold a socket for up to 30 s past them. Sweep often enough to keep them.
      connectionsCheckingInterval: Math.max(10, Math.min(1_000, Math.floor(headersTimeoutMs / 4))),
      keepAliveTimeout: options.keepAliveTimeoutMs ?? 5_000,
      // Node's own answer to a missing Host is a bare 400; `hostProblem` answers it in the envelope.
      requireHostHeader: false,
    },
    (req, res) => {
      const problem = hostProblem(req);
      if (problem) return answerBadRequest(res, problem);
      // While draining, finish this request but do not keep its connection for another one.
      if (draining) res.setHeader('connection', 'close');
      handler(req, res);
    },
  );
  server.on('clientError', answerClientError);
  // Without a listener Node closes a CONNECT (authority-form target) without a word.
  server.on('connect', (_req: IncomingMessage, socket: Duplex) =>
    answerOnSocket(socket, '400 Bad Request', 'The request target must be an absolute path.'),
  );
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      const { port } = server.address() as AddressInfo;
      const host = options.host.includes(':') ? `[${options.host}]` : options.host;
      resolve({
        server,
        port,
        url: `http://${host}:${port}`,
        isDraining: () => draining,
        close(graceMs = 10_000) {
          draining = true;
          return new Promise<void>((done) => {
            const idleSweep = setInterval(() => server.closeIdleConnections(), 50);
            const deadline = setTimeout(() => server.closeAllConnections(), graceMs);
            server.close(() => {
              clearInterval(idleSweep);
              clearTimeout(deadline);
              done();
            });
            server.closeIdleConnections();
          });
        },
      });
    });
  });
}

const CLIENT_ERRORS: Record<string, [status: string, message: string]> = {
  HPE_HEADER_OVERFLOW: ['431 Request Header Fields Too Large', 'The request headers are too large.'],
  ERR_HTTP_REQUEST_TIMEOUT: ['408 Request Timeout', 'The request was not received in time.'],
};

/**
 * RFC 9112 §3.2: an HTTP/1.1 request must carry exactly one Host header. The gateway never uses it
 * (the upstream URL comes from the policy), but a request that two hops could read differently is
 * refused rather than guessed at, as with repeated framing headers.
 */
function hostProblem(req: IncomingMessage): string | undefined {
  if (req.httpVersionMajor !== 1 || req.httpVersionMinor !== 1) return undefined;
  let hosts = 0;
  for (let i = 0; i < req.rawHeaders.length; i += 2) if (req.rawHeaders[i]!.toLowerCase() === 'host') hosts++;
  if (hosts === 1) return undefined;
  return hosts === 0 ? 'The Host header is required.' : 'The Host header is repeated.';
}

function answerBadRequest(res: ServerResponse, message: string): void {
  const body = JSON.stringify(errorEnvelope('BAD_REQUEST', message, requestIdFrom(undefined)));
  res.writeHead(400, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    connection: 'close',
  });
  res.end(body);
}

/**
 * What Node's parser refuses (control or non-ASCII bytes in the target, broken framing) never
 * reaches a handler; Node's default answer is a bare 400. Answer in the error envelope instead, so
 * clients keep one error handler, then close.
 */
function answerClientError(error: NodeJS.ErrnoException, socket: Socket): void {
  // As Node's own handler: once bytes went out on this connection, another answer would corrupt it.
  if (!socket.writable || socket.bytesWritten > 0 || error.code === 'ECONNRESET') {
    socket.destroy();
    return;
  }
  const [status, message] = CLIENT_ERRORS[error.code ?? ''] ?? ['400 Bad Request', 'The request is not valid HTTP.'];
  answerOnSocket(socket, status, message);
}

function answerOnSocket(socket: Duplex, status: string, message: string): void {
  const body = JSON.stringify(errorEnvelope('BAD_REQUEST', message, requestIdFrom(undefined)));
  socket.end(
    `HTTP/1.1 ${status}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\ncache-control: no-store\r\nconnection: close\r\n\r\n${body}`,
  );
}
