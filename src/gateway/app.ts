import express, { type Express } from 'express';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';

/** What `/readyz` reports; later capabilities (the shared schedule) add their own checks. */
export interface Readiness {
  check(): { ready: boolean; checks: Record<string, string> };
}

function probes(app: Express, readiness: Readiness): void {
  app.get('/healthz', (_req, res) => {
    res.set('cache-control', 'no-store').json({ status: 'ok' });
  });
  app.get('/readyz', (_req, res) => {
    const { ready, checks } = readiness.check();
    res.status(ready ? 200 : 503).set('cache-control', 'no-store').json({ status: ready ? 'ready' : 'not-ready', checks });
  });
}

/** The public app: probes, then every other request goes down the gateway's own request path. */
export function createGatewayApp(handler: (req: IncomingMessage, res: ServerResponse) => void, readiness: Readiness): Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  probes(app, readiness);
  // The pipeline does its own routing on the raw target; express must not rewrite or decode it.
  app.use((req, res) => handler(req, res));
  return app;
}

/** The admin app, on its own port: probes and metrics, never exposed with the public one. */
export function createAdminApp(registry: Registry, readiness: Readiness): Express {
  const app = express();
  app.disable('x-powered-by');
  probes(app, readiness);
  app.get('/metrics', async (_req, res) => {
    res.set('content-type', registry.contentType).send(await registry.metrics());
  });
  return app;
}
