/**
 * The only module that knows http-proxy-middleware. It forwards one already-authorized request to
 * the upstream: headers are already reduced to the allow-list, the body already read and bounded,
 * the path already rebuilt from validated parts. It maps transport failures to gateway codes.
 * The body is always sent from the buffer, never from the caller's stream, so one request may be
 * sent more than once (retries, extra list pages). An upstream that answers with anything but one
 * bounded final response head (an upgrade, a 1xx other than 100, too many or too large headers)
 * is a 502, never a connection the caller waits on (see upstream-response-limits.ts).
 */
import type http from 'node:http';
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import type { IncomingMessage, ServerResponse, OutgoingHttpHeaders } from 'node:http';
import { createProxyMiddleware, type Plugin } from 'http-proxy-middleware';
import type { GatewayErrorCode } from '../errors';
import {
  createUpstreamAgent,
  hasTooManyHeaders,
  isHeaderOverflow,
  isRefusedInformational,
  type UpstreamHeadRefusal,
} from './upstream-response-limits';

export interface ForwardRequest {
  /** Below the upstream base path, already canonical: `/computes/42/start?…`. */
  upstreamPath: string;
  /** The complete outbound header set (allow-listed, credential set by the gateway). */
  headers: Record<string, string>;
  body?: Buffer;
  /**
   * Keep the answer instead of streaming it to the caller, when `statuses` is absent or holds the
   * upstream's status: the request path then decides (retry, read the new compute's id, filter).
   */
  capture?: { statuses?: ReadonlySet<number>; maxBytes: number };
  /**
   * The latest instant (on the forwarder's clock) the request may leave: the rate slot's tolerance.
   * Checked at the last moment before anything is written; later, nothing is sent and the outcome
   * is a `late-send` failure (see `isLateSend`), so a stall between slot and socket cannot overrun
   * the provider's limit.
   */
  sendByMs?: number;
  /** Called with the forwarder's clock at that last check (sent or held back): the release-to-wire delay. */
  onSendCheck?: (atMs: number) => void;
}

/** The failure reason of a request held back because it would have left after its `sendByMs`. */
export const LATE_SEND_REASON = 'late-send';

export function isLateSend(outcome: ForwardOutcome): boolean {
  return outcome.kind === 'failed' && outcome.reason === LATE_SEND_REASON;
}

/** An upstream answer held in memory; nothing has been written to the caller. */
export interface CapturedResponse {
  kind: 'captured';
  upstreamStatus: number;
  upstreamHeaders: http.IncomingHttpHeaders;
  body: Buffer;
}

export type ForwardOutcome =
  | { kind: 'response'; upstreamStatus: number; upstreamHeaders: http.IncomingHttpHeaders }
  | CapturedResponse
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
  /** The clock of `sendByMs`. Default `Date.now`. */
  now?: () => number;
}

export interface Forwarder {
  /**
   * Streams the upstream answer into `res` on success. On failure nothing has been written and
   * the caller answers with the outcome's code.
   */
  forward(req: IncomingMessage, res: ServerResponse, request: ForwardRequest): Promise<ForwardOutcome>;
  /** Answers the caller with a captured response, or with `body` in its place (same status and headers). */
  relay(res: ServerResponse, captured: CapturedResponse, body?: Buffer): void;
  close(): void;
}

interface InFlight {
  request: ForwardRequest;
  settle: (outcome: ForwardOutcome) => void;
  timer?: NodeJS.Timeout;
  timedOut: boolean;
  /** Held back at the last moment: it would have left after its `sendByMs`. */
  late?: boolean;
  proxyReq?: http.ClientRequest;
}

export function createForwarder(options: ForwarderOptions): Forwarder {
  const base = new URL(options.upstreamBaseUrl);
  const isHttps = base.protocol === 'https:';
  const agent = createUpstreamAgent(isHttps, options.maxSockets);
  const inFlight = new WeakMap<IncomingMessage, InFlight>();
  const now = options.now ?? Date.now;

  const gatewayPlugin: Plugin = (proxyServer) => {
    // The body was read before authorization; http-proxy's documented `buffer` option re-streams
    // it, but http-proxy-middleware has no per-request options, so pass it through `web`.
    const web = proxyServer.web.bind(proxyServer);
    proxyServer.web = ((req: IncomingMessage, res: ServerResponse, opts: object) => {
      const body = inFlight.get(req)?.request.body;
      return web(req, res, { ...opts, buffer: Readable.from(body ? [body] : []) });
    }) as typeof proxyServer.web;

    proxyServer.on('proxyReq', (proxyReq, req) => {
      const state = inFlight.get(req);
      if (!state) return;
      state.proxyReq = proxyReq;
      // With a listener, Node hands over the switched socket instead of silently destroying it
      // (which left the request unsettled: issue #11); it is closed, and the caller gets a 502.
      proxyReq.on('upgrade', (_upgradeRes: IncomingMessage, socket: Socket) => {
        socket.destroy();
        refuseHead(state, 'upstream-upgrade', 101);
      });
      proxyReq.on('information', (info: { statusCode: number }) => {
        if (!isRefusedInformational(info.statusCode)) return;
        refuseHead(state, 'upstream-informational', info.statusCode);
        proxyReq.destroy();
      });
      if (state.timedOut) {
        proxyReq.destroy();
        return;
      }
      // Nothing is written before this event returns (the body is piped after it).
      const sendByMs = state.request.sendByMs;
      const checkedAtMs = now();
      state.request.onSendCheck?.(checkedAtMs);
      if (sendByMs !== undefined && checkedAtMs > sendByMs) {
        state.late = true;
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
      // A 101 without `Upgrade` headers reaches here as if final; nothing after it is HTTP.
      const refusal: UpstreamHeadRefusal | undefined = isRefusedInformational(status)
        ? 'upstream-informational'
        : hasTooManyHeaders(proxyRes.rawHeaders)
          ? 'upstream-too-many-headers'
          : undefined;
      if (refusal) {
        refuseHead(state, refusal, status);
        proxyRes.destroy();
        proxyRes.socket?.destroy();
        return;
      }
      if (status >= 300 && status < 400) {
        // Never follow, never relay: a Location could send the caller (and its token) elsewhere.
        proxyRes.resume();
        state.settle({
          kind: 'failed',
          code: 'UPSTREAM_UNAVAILABLE',
          upstreamStatus: status,
          reason: 'upstream-redirect',
        });
        return;
      }
      const capture = state.request.capture;
      if (capture && (capture.statuses === undefined || capture.statuses.has(status))) {
        captureBody(proxyRes, capture.maxBytes, options.timeoutMs).then(
          (body) => state.settle({ kind: 'captured', upstreamStatus: status, upstreamHeaders: proxyRes.headers, body }),
          (reason: string) =>
            state.settle({
              kind: 'failed',
              code: reason === 'upstream-timeout' ? 'UPSTREAM_TIMEOUT' : 'UPSTREAM_UNAVAILABLE',
              upstreamStatus: status,
              reason,
            }),
        );
        return;
      }
      res.writeHead(status, options.filterResponseHeaders(proxyRes.headers));
      // An upstream that goes silent mid-body must not hold the caller (or a drain) for ever.
      cutWhenSilent(
        proxyRes,
        options.timeoutMs,
        () => {
          proxyRes.destroy();
          res.destroy();
        },
        () => res.writableNeedDrain,
      );
      proxyRes.on('error', () => res.destroy());
      proxyRes.on('aborted', () => res.destroy());
      proxyRes.pipe(res);
      state.settle({ kind: 'response', upstreamStatus: status, upstreamHeaders: proxyRes.headers });
    });

    proxyServer.on('error', (err, req) => {
      const state = inFlight.get(req as IncomingMessage);
      if (!state) return;
      clearTimeout(state.timer);
      if (state.late) state.settle({ kind: 'failed', code: 'UPSTREAM_UNAVAILABLE', reason: LATE_SEND_REASON });
      else if (state.timedOut) state.settle({ kind: 'failed', code: 'UPSTREAM_TIMEOUT', reason: 'upstream-timeout' });
      else if (isHeaderOverflow(err)) refuseHead(state, 'upstream-headers-too-large');
      else
        state.settle({
          kind: 'failed',
          code: 'UPSTREAM_UNAVAILABLE',
          reason: `upstream-${(err as NodeJS.ErrnoException).code ?? 'error'}`,
        });
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
          state.proxyReq?.destroy();
          // Settled here, not only from the 'error' the destroy usually causes: a request Node
          // already finished (a dropped upgrade, say) emits none, and the caller must not wait.
          state.settle({ kind: 'failed', code: 'UPSTREAM_TIMEOUT', reason: 'upstream-timeout' });
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
    relay(res, captured, body = captured.body) {
      const headers = options.filterResponseHeaders(captured.upstreamHeaders);
      delete headers['transfer-encoding'];
      res.writeHead(captured.upstreamStatus, { ...headers, 'content-length': String(body.length) });
      res.end(body);
    },
    close() {
      agent.destroy();
    },
  };
}

/** A response head the gateway will not relay: 502, nothing written to the caller yet. */
function refuseHead(state: InFlight, reason: UpstreamHeadRefusal, upstreamStatus?: number): void {
  clearTimeout(state.timer);
  state.settle({
    kind: 'failed',
    code: 'UPSTREAM_UNAVAILABLE',
    reason,
    ...(upstreamStatus !== undefined ? { upstreamStatus } : {}),
  });
}

/** Reads a whole upstream body, up to `maxBytes` and within `timeoutMs`; rejects with the reason otherwise. */
function captureBody(proxyRes: IncomingMessage, maxBytes: number, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const fail = (reason: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      // Rejected before destroying: destroy() emits 'aborted' at once, which must not win.
      reject(reason);
      proxyRes.destroy();
    };
    const timer = setTimeout(() => fail('upstream-timeout'), timeoutMs);
    proxyRes.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) fail('upstream-response-too-large');
      else chunks.push(chunk);
    });
    proxyRes.on('end', () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(Buffer.concat(chunks));
    });
    proxyRes.on('aborted', () => fail('upstream-response-aborted'));
    proxyRes.on('error', () => fail('upstream-response-aborted'));
  });
}

/**
 * Calls `onSilence` when `body` delivers nothing for `ms`, unless `waitingOnCaller()` says the
 * pause is the caller's (it is not reading, so the pipe holds the upstream back).
 */
function cutWhenSilent(body: IncomingMessage, ms: number, onSilence: () => void, waitingOnCaller: () => boolean): void {
  const check = (): void => {
    if (waitingOnCaller()) timer.refresh();
    else onSilence();
  };
  const timer = setTimeout(check, ms);
  const progress = (): void => void timer.refresh();
  body.on('data', progress);
  body.once('close', () => {
    clearTimeout(timer);
    body.off('data', progress);
  });
}
