import http, { type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { SecureContextOptions } from 'node:tls';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createConnectionCounter, type ConnectionLimits } from './connection-limits';
import { CONNECTION_REFUSALS, parserRefusalReason, type AnsweredRefusal, type Refusal } from './connection-refusals';
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
  /**
   * TLS only: new handshakes use this certificate, key and CA bundle from now on. Connections
   * already open keep the identity they were verified with.
   */
  setSecureContext?(context: SecureContextOptions): void;
}

/** The listener speaks TLS (`https`) on the same path, with the same bounds, when given these. */
export interface TlsListenOptions {
  /** Certificate, key, minimum version and, for client certificates, the CA bundle. */
  context: SecureContextOptions;
  /**
   * Ask for a client certificate without failing the handshake when there is none or it does not
   * verify: the request path judges it (`socket.authorized`), so callers that use a JWT alone connect.
   */
  requestClientCertificate: boolean;
}

export interface ListenOptions {
  host: string;
  port: number;
  /** Bounds on slow clients (slow-loris headers or bodies). */
  headersTimeoutMs?: number;
  requestTimeoutMs?: number;
  keepAliveTimeoutMs?: number;
  /** Header lines a request may carry (default `MAX_HEADER_LINES`); more → 431, never truncated. */
  maxHeaderLines?: number;
  /** Bytes of request line and headers together (default `MAX_HEADER_BYTES`); more → 431. */
  maxHeaderBytes?: number;
  /** Caps on open connections; absent: none (the admin port, tests that do not test them). */
  connectionLimits?: ConnectionLimits;
  /** Told of every request or connection refused here, before any handler saw it (access log, metric). */
  onRefusal?: (refusal: Refusal) => void;
  /** Absent: plain HTTP. */
  tls?: TlsListenOptions;
}

/**
 * The most header lines a request may carry, as Envoy's default `max_headers_count`. A client of
 * the Strettch API sends about ten. Node would keep only the first 1,000 and drop the rest unseen;
 * this server sees all of them (within `MAX_HEADER_BYTES`) and refuses the request instead.
 */
export const MAX_HEADER_LINES = 100;
/** Node's own default, written down so that `--max-http-header-size` cannot change it unseen. */
export const MAX_HEADER_BYTES = 16 * 1024;
/** How long a refused connection may stay open for its client to read the answer before it is cut. */
const REFUSED_LINGER_MS = 1_000;

export function listen(handler: RequestListener, options: ListenOptions): Promise<RunningServer> {
  let draining = false;
  const headersTimeoutMs = options.headersTimeoutMs ?? 10_000;
  const maxHeaderLines = options.maxHeaderLines ?? MAX_HEADER_LINES;
  const report = options.onRefusal ?? (() => {});
  /** Sockets whose request the handler holds: a timeout on them is the body's, not the headers'. */
  const inProgress = new WeakSet<Socket>();
  /** Bytes read on a socket when its last answer finished: a reset with nothing read since cut no request short. */
  const readAtLastAnswer = new WeakMap<Socket, number>();
  /** Sockets refused at connect (over a cap): answered once; nothing more of theirs is handled. */
  const refusedSockets = new WeakSet<Socket>();
  const serverOptions: http.ServerOptions = {
    headersTimeout: headersTimeoutMs,
    requestTimeout: options.requestTimeoutMs ?? 60_000,
    // Node enforces both timeouts only when it sweeps its connections, every 30 s by default, so a
    // slow-loris client would hold a socket for up to 30 s past them. Sweep often enough to keep them.
    connectionsCheckingInterval: Math.max(10, Math.min(1_000, Math.floor(headersTimeoutMs / 4))),
    keepAliveTimeout: options.keepAliveTimeoutMs ?? 5_000,
    // Node's own answer to a missing Host is a bare 400; `hostProblem` answers it in the envelope.
    requireHostHeader: false,
    // The bytes of the headers stay bounded; with no bound on their count (below) this is what holds.
    maxHeaderSize: options.maxHeaderBytes ?? MAX_HEADER_BYTES,
  };
  const handleRequest: RequestListener = (req, res) => {
    if (refusedSockets.has(req.socket)) return;
    const problem = headerLinesProblem(req, maxHeaderLines) ?? hostProblem(req);
    if (problem) return refuseRequest(req, res, problem, report);
    inProgress.add(req.socket);
    res.once('close', () => {
      inProgress.delete(req.socket);
      readAtLastAnswer.set(req.socket, req.socket.bytesRead);
    });
    // While draining, finish this request but do not keep its connection for another one.
    if (draining) res.setHeader('connection', 'close');
    handler(req, res);
  };
  const { tls } = options;
  const server: Server = tls
    ? https.createServer(
        {
          ...serverOptions,
          ...tls.context,
          requestCert: tls.requestClientCertificate,
          // Never fail the handshake over a client certificate: the request path refuses it in the envelope.
          rejectUnauthorized: false,
        },
        handleRequest,
      )
    : http.createServer(serverOptions, handleRequest);
  // 0: no limit. Node's default keeps the first 1,000 header lines and silently drops the rest, so a
  // second Authorization or Content-Length placed after them went unseen (issue #11). Every line now
  // reaches the handler above, which refuses more than `maxHeaderLines`.
  server.maxHeadersCount = 0;
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    if (refusedSockets.has(socket)) return void socket.destroy();
    // A client resetting an idle keep-alive connection refused nothing; stay silent, as Node is.
    const idleReset = error.code === 'ECONNRESET' && socket.bytesRead <= (readAtLastAnswer.get(socket) ?? 0);
    if (idleReset) return void socket.destroy();
    answerClientError(error, socket, inProgress.has(socket), report);
  });
  // Without a listener Node closes a CONNECT (authority-form target) without a word.
  server.on('connect', (req: IncomingMessage, socket: Duplex) =>
    refuseOnSocket(socket, 'authority-form-target', report, { method: req.method, socket: req.socket }),
  );
  if (options.connectionLimits) {
    const counter = createConnectionCounter(options.connectionLimits);
    server.on('connection', (socket: Socket) => {
      const address = socket.remoteAddress;
      const admission = counter.admit(address);
      if (admission === 'admitted') {
        socket.once('close', () => counter.release(address));
        return;
      }
      refusedSockets.add(socket);
      // Before a TLS handshake nothing can be answered that the client would read: the refusal is only counted.
      if (tls) return refuseUnanswered(socket, admission, report);
      refuseOnSocket(socket, admission, report, { socket });
      // A client that keeps its end open after the answer holds no descriptor past the linger.
      const cut = setTimeout(() => socket.destroy(), REFUSED_LINGER_MS);
      cut.unref();
      socket.once('close', () => clearTimeout(cut));
    });
  }
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      const { port } = server.address() as AddressInfo;
      const host = options.host.includes(':') ? `[${options.host}]` : options.host;
      resolve({
        server,
        port,
        url: `${tls ? 'https' : 'http'}://${host}:${port}`,
        isDraining: () => draining,
        ...(tls
          ? { setSecureContext: (context: SecureContextOptions) => (server as https.Server).setSecureContext(context) }
          : {}),
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

/** A connection over a cap on a TLS listener: counted and logged like any refusal, then cut. */
function refuseUnanswered(socket: Socket, reason: AnsweredRefusal, report: (refusal: Refusal) => void): void {
  const { status } = CONNECTION_REFUSALS[reason];
  socket.destroy();
  report({ reason, status, requestId: requestIdFrom(undefined), clientAddress: socket.remoteAddress });
}

/** More header lines than the bound: refused whole (Node now hands every line over; none was dropped). */
function headerLinesProblem(req: IncomingMessage, maxHeaderLines: number): AnsweredRefusal | undefined {
  return req.rawHeaders.length / 2 > maxHeaderLines ? 'too-many-header-lines' : undefined;
}

/**
 * RFC 9112 §3.2: an HTTP/1.1 request must carry exactly one Host header. The gateway never uses it
 * (the upstream URL comes from the policy), but a request that two hops could read differently is
 * refused rather than guessed at, as with repeated framing headers.
 */
function hostProblem(req: IncomingMessage): AnsweredRefusal | undefined {
  if (req.httpVersionMajor !== 1 || req.httpVersionMinor !== 1) return undefined;
  let hosts = 0;
  for (let i = 0; i < req.rawHeaders.length; i += 2) if (req.rawHeaders[i]!.toLowerCase() === 'host') hosts++;
  if (hosts === 1) return undefined;
  return hosts === 0 ? 'missing-host' : 'repeated-host';
}

/** Answers a parsed request the handler never sees, then closes: its body (if any) is left unread. */
function refuseRequest(
  req: IncomingMessage,
  res: ServerResponse,
  reason: AnsweredRefusal,
  report: (refusal: Refusal) => void,
): void {
  const { status, code, message } = CONNECTION_REFUSALS[reason];
  const requestId = requestIdFrom(undefined);
  const body = JSON.stringify(errorEnvelope(code, message, requestId));
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    'x-request-id': requestId,
    connection: 'close',
  });
  res.end(body);
  report({ reason, status, requestId, method: req.method, clientAddress: req.socket.remoteAddress });
}

/**
 * What Node's parser refuses (control or non-ASCII bytes in the target, broken framing, headers over
 * the size bound, a timeout) never reaches a handler; Node's default answer is a bare 400. Answer in
 * the error envelope instead, so clients keep one error handler, then close.
 */
function answerClientError(
  error: NodeJS.ErrnoException,
  socket: Socket,
  requestInProgress: boolean,
  report: (refusal: Refusal) => void,
): void {
  const reason = parserRefusalReason(error.code, requestInProgress);
  const parserCode = error.code;
  // As Node's own handler: once bytes went out on this connection, another answer would corrupt it.
  if (reason === 'aborted' || reason === 'tls-handshake' || !socket.writable || socket.bytesWritten > 0) {
    socket.destroy();
    const unanswered = reason === 'tls-handshake' ? reason : 'aborted';
    report({
      reason: unanswered,
      requestId: requestIdFrom(undefined),
      clientAddress: socket.remoteAddress,
      parserCode,
    });
    return;
  }
  refuseOnSocket(socket, reason, report, { socket, parserCode });
}

/** Writes the refusal's answer straight on the socket (no request object exists, or none is used) and ends it. */
function refuseOnSocket(
  socket: Duplex,
  reason: AnsweredRefusal,
  report: (refusal: Refusal) => void,
  about: { socket: Socket; method?: string; parserCode?: string },
): void {
  const { status, statusText, code, message } = CONNECTION_REFUSALS[reason];
  const requestId = requestIdFrom(undefined);
  const body = JSON.stringify(errorEnvelope(code, message, requestId));
  const head = [
    `HTTP/1.1 ${status} ${statusText}`,
    'content-type: application/json; charset=utf-8',
    `content-length: ${Buffer.byteLength(body)}`,
    'cache-control: no-store',
    `x-request-id: ${requestId}`,
    'connection: close',
  ];
  socket.end(`${head.join('\r\n')}\r\n\r\n${body}`);
  const { method, parserCode } = about;
  report({ reason, status, requestId, method, clientAddress: about.socket.remoteAddress, parserCode });
}
