import http, { type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

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
