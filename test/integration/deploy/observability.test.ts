/**
 * The probes and scrape paths of the deployment files, checked against the running admin app:
 * every path is served where the files say. The dashboard's queries are checked against a real
 * gateway's scrape in dashboard.test.ts.
 */
import fs from 'node:fs';
import type { ServerResponse } from 'node:http';
import { createAdminApp, createGatewayHandler, type Readiness } from '../../../src/gateway/app';
import { createMetrics } from '../../../src/gateway/observability/metrics';
import { listen, type RunningServer } from '../../../src/shared/http-server';
import {
  composePolicy,
  gatewayServices,
  generateComposeSecrets,
  loadCompose,
  read,
  readYaml,
  renderKustomization,
} from './deploy-files';

describe('probe and scrape paths of the deployment files', () => {
  const compose = loadCompose();
  const secretsDir = generateComposeSecrets(compose);
  afterAll(() => fs.rmSync(secretsDir, { recursive: true, force: true }));
  const { adminPort } = composePolicy(compose, secretsDir).listen;
  const urlsIn = (text: string) =>
    [...text.matchAll(/http:\/\/127\.0\.0\.1:(\d+)(\/[a-z]+)/g)].map((m) => ({ port: Number(m[1]), path: m[2]! }));
  const deployment = renderKustomization('deploy/kubernetes/base').find((m) => m.manifest.kind === 'Deployment')!
    .manifest as unknown as {
    spec: {
      template: {
        metadata: { annotations: Record<string, string> };
        spec: { containers: Array<Record<string, { httpGet?: { path: string } }>> };
      };
    };
  };
  const prometheus = readYaml<{ scrape_configs: Array<{ metrics_path?: string }> }>('deploy/prometheus/prometheus.yml');
  /** Health checks in compose and the Dockerfile, Kubernetes probes, Prometheus' scrape paths: all on the admin port.
   * */
  const adminUrls = [
    ...gatewayServices(compose).flatMap(([, gateway]) => urlsIn(gateway.healthcheck!.test.join(' '))),
    ...urlsIn(read('deploy/Dockerfile')),
  ];
  const pathsOnAdmin = new Set([
    ...adminUrls.map((url) => url.path),
    ...['livenessProbe', 'readinessProbe', 'startupProbe'].flatMap(
      (probe) => deployment.spec.template.spec.containers[0]![probe]?.httpGet?.path ?? [],
    ),
    deployment.spec.template.metadata.annotations['prometheus.io/path']!,
    ...prometheus.scrape_configs.map((job) => job.metrics_path ?? '/metrics'),
  ]);

  it('health checks in compose and the Dockerfile use the admin port', () => {
    expect(adminUrls.length).toBeGreaterThan(1);
    for (const url of adminUrls) expect(url.port).toBe(adminPort);
  });

  let admin: RunningServer;
  let gateway: RunningServer;
  const forwarded: string[] = [];
  beforeAll(async () => {
    const readiness: Readiness = { check: () => ({ ready: true, checks: { policy: 'loaded', schedule: 'shared' } }) };
    admin = await listen(createAdminApp(createMetrics().registry, readiness), { host: '127.0.0.1', port: 0 });
    gateway = await listen(
      createGatewayHandler((req, res: ServerResponse) => {
        forwarded.push(req.url ?? '');
        res.writeHead(404).end();
      }, readiness),
      { host: '127.0.0.1', port: 0 },
    );
  });
  afterAll(async () => {
    await admin.close(0);
    await gateway.close(0);
  });

  it('are exactly /healthz, /readyz and /metrics', () => {
    expect([...pathsOnAdmin].sort()).toEqual(['/healthz', '/metrics', '/readyz']);
  });

  it('are served by the admin app', async () => {
    for (const path of pathsOnAdmin)
      expect({ path, status: (await fetch(`${admin.url}${path}`)).status }).toEqual({ path, status: 200 });
  });

  it('serve the probes on the public port too, but not /metrics (which goes down the request path)', async () => {
    for (const path of ['/healthz', '/readyz']) expect((await fetch(`${gateway.url}${path}`)).status).toBe(200);
    await fetch(`${gateway.url}/metrics`);
    expect(forwarded).toEqual(['/metrics']);
  });
});
