import http, { type RequestListener, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
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
  const server = http.createServer(
    {
      headersTimeout: options.headersTimeoutMs ?? 10_000,
      requestTimeout: options.requestTimeoutMs ?? 60_000,
      keepAliveTimeout: options.keepAliveTimeoutMs ?? 5_000,
    },
    (req, res) => {
      // While draining, finish this request but do not keep its connection for another one.
      if (draining) res.setHeader('connection', 'close');
      handler(req, res);
    },
  );
  server.on('clientError', answerClientError);
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
  const body = JSON.stringify(errorEnvelope('BAD_REQUEST', message, requestIdFrom(undefined)));
  socket.end(
    `HTTP/1.1 ${status}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\ncache-control: no-store\r\nconnection: close\r\n\r\n${body}`,
  );
}
