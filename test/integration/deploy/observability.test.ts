/**
 * The probes, scrape paths and dashboard queries of the deployment files, checked against the
 * running admin app and the metrics registry: every path is served where the files say, and every
 * metric and label a panel reads exists.
 */
import fs from 'node:fs';
import type { ServerResponse } from 'node:http';
import { createAdminApp, createGatewayHandler, type Readiness } from '../../../src/gateway/app';
import { createMetrics } from '../../../src/gateway/observability/metrics';
import { listen, type RunningServer } from '../../../src/shared/http-server';
import { metricsOf, parseQuery, type Query } from '../../../bench/dashboard/promql';
import {
  composePolicy,
  gatewayServices,
  generateComposeSecrets,
  loadCompose,
  read,
  readYaml,
  renderKustomization,
  root,
} from './deploy-files';

const DASHBOARD_FILE = 'deploy/grafana/dashboards/strettch-gateway.json';

interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  targets: Array<{ refId: string; expr: string; legendFormat: string }>;
  fieldConfig: { defaults: { unit: string } };
}
const dashboard = JSON.parse(read(DASHBOARD_FILE)) as { uid: string; title: string; panels: Panel[] };
const queries = dashboard.panels.flatMap((panel) =>
  panel.targets.map((target) => ({ panel, target, query: parseQuery(target.expr) })),
);

/** Label names of each metric, from its definition (prom-client does not expose them). */
function definedLabels(): Map<string, string[]> {
  const source = fs.readFileSync(`${root}/src/gateway/observability/metrics.ts`, 'utf8');
  const labels = new Map<string, string[]>();
  for (const [, body] of source.matchAll(/new (?:Counter|Gauge|Histogram)\(\{([\s\S]*?)\}\)/g)) {
    const name = /name: '([^']+)'/.exec(body!)![1]!;
    const names = /labelNames: \[([^\]]*)\]/.exec(body!)?.[1] ?? '';
    labels.set(
      name,
      [...names.matchAll(/'([^']+)'/g)].map((m) => m[1]!),
    );
  }
  return labels;
}

/** The series names a registry exposes: histograms as `_bucket`, `_count` and `_sum`. */
function exposedSeries(): Map<string, { metric: string; type: string }> {
  const series = new Map<string, { metric: string; type: string }>();
  for (const metric of createMetrics({ collectProcessMetrics: true }).registry.getMetricsAsArray()) {
    const type = String(metric.type);
    const names = type === 'histogram' ? ['_bucket', '_count', '_sum'].map((s) => metric.name + s) : [metric.name];
    for (const name of names) series.set(name, { metric: metric.name, type });
  }
  return series;
}

function labelsUsed(query: Query): string[] {
  switch (query.kind) {
    case 'selector':
      return query.matchers.map((m) => m.label);
    case 'rate':
      return query.selector.matchers.map((m) => m.label);
    case 'sum':
      return [...query.by, ...labelsUsed(query.inner)];
    case 'quantile':
      return labelsUsed(query.inner);
  }
}

describe('deploy/grafana/dashboards/strettch-gateway.json', () => {
  const series = exposedSeries();
  const labels = definedLabels();

  it('is a dashboard of time series panels with unique ids, laid out on the 24-column grid without overlap', () => {
    expect(dashboard.uid).toBe('strettch-gateway');
    expect(new Set(dashboard.panels.map((p) => p.id)).size).toBe(dashboard.panels.length);
    const cells = new Set<string>();
    for (const {
      type,
      gridPos: { x, y, w, h },
    } of dashboard.panels) {
      expect(type).toBe('timeseries');
      expect(x + w).toBeLessThanOrEqual(24);
      for (let i = x; i < x + w; i++)
        for (let j = y; j < y + h; j++) {
          expect(cells.has(`${i},${j}`)).toBe(false);
          cells.add(`${i},${j}`);
        }
    }
  });

  it('queries only metrics the gateway exposes, with their own labels (plus instance, job and le)', () => {
    expect(queries.length).toBeGreaterThan(0);
    for (const { target, query } of queries) {
      for (const name of metricsOf(query)) {
        const exposed = series.get(name);
        expect({ expr: target.expr, name, exposed: exposed !== undefined }).toEqual({
          expr: target.expr,
          name,
          exposed: true,
        });
        const allowed = [
          ...(labels.get(exposed!.metric) ?? []),
          'instance',
          'job',
          ...(exposed!.type === 'histogram' ? ['le'] : []),
        ];
        for (const label of labelsUsed(query))
          expect({ expr: target.expr, label, known: allowed.includes(label) }).toEqual({
            expr: target.expr,
            label,
            known: true,
          });
        // Counters and histogram series only through rate(); gauges never.
        const rated = target.expr.includes(`rate(${name}`);
        expect({ expr: target.expr, rated }).toEqual({ expr: target.expr, rated: exposed!.type !== 'gauge' });
      }
    }
  });

  it('names each legend from labels the query keeps', () => {
    for (const { target, query } of queries) {
      const kept =
        query.kind === 'sum'
          ? query.by
          : query.kind === 'quantile' && query.inner.kind === 'sum'
            ? query.inner.by.filter((l) => l !== 'le')
            : [];
      for (const [, label] of target.legendFormat.matchAll(/\{\{\s*(\w+)\s*\}\}/g))
        expect({ expr: target.expr, label, kept: kept.includes(label!) }).toEqual({
          expr: target.expr,
          label,
          kept: true,
        });
    }
  });

  const has = (predicate: (expr: string, query: Query) => boolean) =>
    queries.some(({ target, query }) => predicate(target.expr, query));
  const sumBy = (query: Query, ...by: string[]) => query.kind === 'sum' && by.every((l) => query.by.includes(l));
  const quantile = (query: Query, q: number, metric: string) =>
    query.kind === 'quantile' && query.q === q && metricsOf(query).includes(`${metric}_bucket`);
  const m = (name: string) => `strettch_gateway_${name}`;

  it.each([
    [
      'request rate by operation and status class',
      (e: string, q: Query) => e.includes(m('requests_total')) && sumBy(q, 'operation', 'status_class'),
    ],
    ['4xx and 5xx', (e: string) => e.includes(m('requests_total')) && e.includes('status_class=~"4xx|5xx"')],
    ['upstream latency p50', (_: string, q: Query) => quantile(q, 0.5, m('upstream_duration_seconds'))],
    ['upstream latency p99', (_: string, q: Query) => quantile(q, 0.99, m('upstream_duration_seconds'))],
    ['queue wait p50', (_: string, q: Query) => quantile(q, 0.5, m('queue_wait_seconds'))],
    ['queue wait p99', (_: string, q: Query) => quantile(q, 0.99, m('queue_wait_seconds'))],
    ['schedule rejections', (e: string) => e.includes(m('schedule_rejections_total'))],
    ['upstream 429s', (e: string) => e.includes(m('upstream_429_total'))],
    ['schedule mode', (e: string, q: Query) => e.includes(m('schedule_mode')) && sumBy(q, 'mode')],
    ['auth failures by reason', (e: string, q: Query) => e.includes(m('auth_failures_total')) && sumBy(q, 'reason')],
    ['dispatch late p99', (_: string, q: Query) => quantile(q, 0.99, m('schedule_dispatch_late_seconds'))],
    [
      'slots granted per replica',
      (e: string, q: Query) => e.includes(m('queue_wait_seconds_count')) && sumBy(q, 'instance', 'class'),
    ],
  ])('has a panel for %s', (_name, predicate) => {
    expect(has(predicate)).toBe(true);
  });
});

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
