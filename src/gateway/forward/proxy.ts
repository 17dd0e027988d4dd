/**
 * The only module that knows http-proxy-middleware. It forwards one already-authorized request to
 * the upstream: headers are already reduced to the allow-list, the body already read and bounded,
 * the path already rebuilt from validated parts. It maps transport failures to gateway codes.
 */
import http from 'node:http';
import https from 'node:https';
import { Readable } from 'node:stream';
import type { IncomingMessage, ServerResponse, OutgoingHttpHeaders } from 'node:http';
import { createProxyMiddleware, type Plugin } from 'http-proxy-middleware';
import type { GatewayErrorCode } from '../errors';

export interface ForwardRequest {
  /** Below the upstream base path, already canonical: `/computes/42/start?…`. */
  upstreamPath: string;
  /** The complete outbound header set (allow-listed, credential set by the gateway). */
  headers: Record<string, string>;
  body?: Buffer;
}

export type ForwardOutcome =
  | { kind: 'response'; upstreamStatus: number; upstreamHeaders: http.IncomingHttpHeaders }
  | { kind: 'failed'; code: GatewayErrorCode; upstreamStatus?: number; reason: string };

export interface ForwarderOptions {
  upstreamBaseUrl: string;
  /** Time allowed until the upstream's response headers arrive. */
  timeoutMs: number;
  /** Time allowed to open a new upstream connection (TCP and TLS). */
  connectTimeoutMs: number;
  maxSockets: number;
  /** Picks the response headers that go back to the caller. */
  filterResponseHeaders: (headers: http.IncomingHttpHeaders) => OutgoingHttpHeaders;
}

export interface Forwarder {
  /**
   * Streams the upstream answer into `res` on success. On failure nothing has been written and
   * the caller answers with the outcome's code.
   */
  forward(req: IncomingMessage, res: ServerResponse, request: ForwardRequest): Promise<ForwardOutcome>;
  close(): void;
}

interface InFlight {
  request: ForwardRequest;
  settle: (outcome: ForwardOutcome) => void;
  timer?: NodeJS.Timeout;
  timedOut: boolean;
  proxyReq?: http.ClientRequest;
}

export function createForwarder(options: ForwarderOptions): Forwarder {
  const base = new URL(options.upstreamBaseUrl);
  const isHttps = base.protocol === 'https:';
  const agent = isHttps
    ? new https.Agent({ keepAlive: true, maxSockets: options.maxSockets })
    : new http.Agent({ keepAlive: true, maxSockets: options.maxSockets });
  const inFlight = new WeakMap<IncomingMessage, InFlight>();

  const gatewayPlugin: Plugin = (proxyServer) => {
    // The body was read before authorization; http-proxy's documented `buffer` option re-streams
    // it, but http-proxy-middleware has no per-request options, so pass it through `web`.
    const web = proxyServer.web.bind(proxyServer);
    proxyServer.web = ((req: IncomingMessage, res: ServerResponse, opts: object) => {
      const body = inFlight.get(req)?.request.body;
      // Without a body the request stream itself (unread, or read to an empty end) is piped.
      return web(req, res, body ? { ...opts, buffer: Readable.from([body]) } : opts);
    }) as typeof proxyServer.web;

    proxyServer.on('proxyReq', (proxyReq, req) => {
      const state = inFlight.get(req);
      if (!state) return;
      state.proxyReq = proxyReq;
      if (state.timedOut) {
        proxyReq.destroy();
        return;
      }
      // A reused keep-alive socket is already connected; only a new one can hang in connect.
      const socket = proxyReq.socket;
      if (socket?.connecting) {
        const connectTimer = setTimeout(() => {
          state.timedOut = true;
          proxyReq.destroy();
        }, options.connectTimeoutMs);
        socket.once(isHttps ? 'secureConnect' : 'connect', () => clearTimeout(connectTimer));
        socket.once('close', () => clearTimeout(connectTimer));
      }
    });

    proxyServer.on('proxyRes', (proxyRes, req, res) => {
      const state = inFlight.get(req);
      if (!state) return;
      clearTimeout(state.timer);
      const status = proxyRes.statusCode ?? 502;
      if (status >= 300 && status < 400) {
        // Never follow, never relay: a Location could send the caller (and its token) elsewhere.
        proxyRes.resume();
        state.settle({ kind: 'failed', code: 'UPSTREAM_UNAVAILABLE', upstreamStatus: status, reason: 'upstream-redirect' });
        return;
      }
      res.writeHead(status, options.filterResponseHeaders(proxyRes.headers));
      proxyRes.on('error', () => res.destroy());
      proxyRes.on('aborted', () => res.destroy());
      proxyRes.pipe(res);
      state.settle({ kind: 'response', upstreamStatus: status, upstreamHeaders: proxyRes.headers });
    });

    proxyServer.on('error', (err, req) => {
      const state = inFlight.get(req as IncomingMessage);
      if (!state) return;
      clearTimeout(state.timer);
      state.settle(
        state.timedOut
          ? { kind: 'failed', code: 'UPSTREAM_TIMEOUT', reason: 'upstream-timeout' }
          : { kind: 'failed', code: 'UPSTREAM_UNAVAILABLE', reason: `upstream-${(err as NodeJS.ErrnoException).code ?? 'error'}` },
      );
    });

    // The caller went away mid-request; http-proxy aborts the upstream request itself.
    proxyServer.on('econnreset', (_err, req) => {
      const state = inFlight.get(req);
      if (!state) return;
      clearTimeout(state.timer);
      state.settle({ kind: 'failed', code: 'UPSTREAM_UNAVAILABLE', reason: 'caller-disconnected' });
    });
  };

  const basePath = base.pathname.replace(/\/$/, '');
  const proxy = createProxyMiddleware<IncomingMessage, ServerResponse>({
    target: base.origin,
    changeOrigin: true,
    xfwd: false,
    followRedirects: false,
    selfHandleResponse: true,
    agent,
    ejectPlugins: true,
    plugins: [gatewayPlugin],
    pathRewrite: (_path, req) => basePath + (inFlight.get(req)?.request.upstreamPath ?? '/'),
  });

  return {
    forward(req, res, request) {
      return new Promise<ForwardOutcome>((resolve) => {
        let settled = false;
        const state: InFlight = {
          request,
          timedOut: false,
          settle: (outcome) => {
            if (settled) return;
            settled = true;
            inFlight.delete(req);
            resolve(outcome);
          },
        };
        state.timer = setTimeout(() => {
          state.timedOut = true;
          if (state.proxyReq) state.proxyReq.destroy();
          else state.settle({ kind: 'failed', code: 'UPSTREAM_TIMEOUT', reason: 'upstream-timeout' });
        }, options.timeoutMs);
        inFlight.set(req, state);
        // http-proxy copies req.headers onto the outbound request: hand it exactly the allow-list.
        req.headers = { ...request.headers };
        proxy(req, res, (err?: unknown) => {
          clearTimeout(state.timer);
          state.settle({ kind: 'failed', code: 'INTERNAL_SERVER_ERROR', reason: `proxy-setup: ${String(err)}` });
        }).catch((err: unknown) => {
          clearTimeout(state.timer);
          state.settle({ kind: 'failed', code: 'INTERNAL_SERVER_ERROR', reason: `proxy-setup: ${String(err)}` });
        });
      });
    },
    close() {
      agent.destroy();
    },
  };
}
