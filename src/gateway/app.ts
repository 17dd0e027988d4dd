import express, { type Express } from 'express';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { requestIdFrom } from '../shared/request-id';
import { sendRejection } from './http/send-error';
import type { Registry } from './observability/metrics';
import { STATUS_PAGE_CSP, STATUS_PAGE_HTML, type StatusDocument } from './observability/status';

/** What `/readyz` reports; later capabilities (the shared schedule) add their own checks. */
export interface Readiness {
  check(): { ready: boolean; checks: Record<string, string> };
}

function sendProbe(res: ServerResponse, status: number, body: object): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}

/** The two probe answers, written the same way on the public and the admin port. */
function probeAnswers(readiness: Readiness) {
  return {
    healthz: (res: ServerResponse) => sendProbe(res, 200, { status: 'ok' }),
    readyz: (res: ServerResponse) => {
      const { ready, checks } = readiness.check();
      sendProbe(res, ready ? 200 : 503, { status: ready ? 'ready' : 'not-ready', checks });
    },
  };
}

/**
 * The public listener: the two probes, then every other request goes down the gateway's own
 * request path, which routes on the raw target itself. No framework sits in between: nothing may
 * rewrite or decode the target first, and this is the hot path.
 */
export function createGatewayHandler(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  readiness: Readiness,
) {
  const probe = probeAnswers(readiness);
  return (req: IncomingMessage, res: ServerResponse): void => {
    if (req.method === 'GET' && req.url === '/healthz') return probe.healthz(res);
    if (req.method === 'GET' && req.url === '/readyz') return probe.readyz(res);
    handler(req, res);
  };
}

/**
 * The admin app, on its own port: probes, metrics and the status page, never exposed with the
 * public one. `status` builds the live status document (absent: no status page).
 */
export function createAdminApp(
  registry: Registry,
  readiness: Readiness,
  status?: () => Promise<StatusDocument>,
): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  const probe = probeAnswers(readiness);
  app.get('/healthz', (_req, res) => probe.healthz(res));
  app.get('/readyz', (_req, res) => probe.readyz(res));
  app.get('/metrics', async (_req, res) => {
    res.set('content-type', registry.contentType).send(await registry.metrics());
  });
  if (status) {
    app.get('/status', (_req, res) => {
      res.set({
        'content-type': 'text/html; charset=utf-8',
        'content-security-policy': STATUS_PAGE_CSP,
        'x-content-type-options': 'nosniff',
        'referrer-policy': 'no-referrer',
        'cache-control': 'no-store',
      });
      res.send(STATUS_PAGE_HTML);
    });
    app.get('/status.json', async (_req, res) => {
      let document: StatusDocument;
      try {
        document = await status();
      } catch {
        // Not express's default error page (a stack trace): the envelope, like every gateway error.
        return sendRejection(res, { code: 'INTERNAL_SERVER_ERROR' }, requestIdFrom(undefined));
      }
      res.set({ 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' }).json(document);
    });
  }
  return app;
}
