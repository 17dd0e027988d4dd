/**
 * deploy/grafana/dashboards/strettch-gateway.json against a real gateway: every metric a panel
 * reads is on the admin `/metrics` of a gateway started with the CLI's registry (process metrics
 * included, under their standard names), after traffic that gives every one of them samples, and
 * every label a panel uses is on those samples. The data source is the dashboard's variable, never
 * a uid. The same scrape checks what the issue asked of the metrics themselves: the `account`
 * label on the queue metrics (configured names only) and the end-to-end duration histogram.
 */
import { metricsOf, parseQuery, type Query } from '../../../bench/dashboard/promql';
import { parseExposition, type Sample } from '../../../bench/prometheus-text';
import { createMetrics } from '../../../src/gateway/observability/metrics';
import { createBody, startGatewayHarness, type GatewayHarness } from '../../helpers/gateway-harness';
import { read } from './deploy-files';

const DASHBOARD_FILE = 'deploy/grafana/dashboards/strettch-gateway.json';

interface Target {
  refId: string;
  expr: string;
  legendFormat: string;
  datasource?: unknown;
}
interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  targets: Target[];
  datasource?: unknown;
}
interface Dashboard {
  uid: string;
  templating: { list: Array<{ name: string; type: string; query: string }> };
  panels: Panel[];
}
const dashboard = JSON.parse(read(DASHBOARD_FILE)) as Dashboard;
const queries = dashboard.panels.flatMap((panel) =>
  panel.targets.map((target) => ({ panel, target, query: parseQuery(target.expr) })),
);

/** A caller whose creates a constraint refuses (the sample body asks for S-1C-1G). */
const FENCED_CALLER = `  fenced:
    account: main
    scopes: ["*"]
    constraints:
      create: { specifications: [S-1C] }
`;
/** Labels Prometheus adds to every series it scrapes. */
const SCRAPE_LABELS = ['instance', 'job'];

/** What one scrape exposes: each family's type (from `# TYPE`), and the samples by series name. */
interface Scrape {
  families: Map<string, string>;
  samples: Sample[];
}

function readScrape(text: string): Scrape {
  const families = new Map<string, string>();
  for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) families.set(name!, type!);
  return { families, samples: parseExposition(text) };
}

/** The family a series belongs to: a histogram's `_bucket`, `_count` and `_sum` are its own. */
function familyOf(scrape: Scrape, series: string): { name: string; type: string } | undefined {
  const type = scrape.families.get(series);
  if (type !== undefined) return { name: series, type };
  const base = series.replace(/_(bucket|count|sum)$/, '');
  return scrape.families.get(base) === 'histogram' ? { name: base, type: 'histogram' } : undefined;
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

const sum = (samples: readonly Sample[]) => samples.reduce((total, s) => total + s.value, 0);
const withLabels = (samples: readonly Sample[], name: string, labels: Record<string, string> = {}) =>
  samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));

let h: GatewayHarness;
let scrape: Scrape;

/** Until the gateway's own metrics show a sample of `series`, or `tries` rounds have run. */
async function until(series: string, round: () => Promise<unknown>, tries = 10): Promise<void> {
  for (let i = 0; i < tries; i++) {
    await round();
    if (withLabels(parseExposition(await h.metricsText()), series).some((s) => s.value > 0)) return;
  }
}

const setFaults = (faults: Record<string, number>) =>
  fetch(`${h.sandbox.url}/_sandbox/faults`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(faults),
  });

beforeAll(async () => {
  // What the CLI's gatewayOptionsFor passes: the registry with Node's process metrics.
  h = await startGatewayHarness({
    extraCallers: FENCED_CALLER,
    metrics: createMetrics({ collectProcessMetrics: true }),
  });
  // Reads forwarded and answered; an upsize and a create; no token; a create a constraint refuses.
  for (let i = 0; i < 5; i++) await h.as('reader', 'GET', '/api/v1/computes');
  await h.as('operator', 'POST', '/api/v1/computes', {
    body: createBody('metrics-01'),
    headers: { 'content-type': 'application/json', 'idempotency-key': 'metrics-create-01' },
  });
  await h.request('GET', '/api/v1/computes');
  await h.request('POST', '/api/v1/computes', {
    body: createBody('fenced-01'),
    headers: { authorization: `Bearer ${h.mint('fenced')}`, 'content-type': 'application/json' },
  });
  // Every response lost after the upstream acted: reads are sent again (retries), then 502.
  await setFaults({ dropRate: 1 });
  await h.as('reader', 'GET', '/api/v1/regions');
  await setFaults({ dropRate: 0 });
  // The gateway's limit (1000/s) is above the sandbox's 30 reads/s: a burst meets upstream 429s,
  // which pause the account's schedule; a read that cannot wait at all is then answered 429 by it.
  const burst = () => Promise.all(Array.from({ length: 45 }, () => h.as('reader', 'GET', '/api/v1/computes')));
  await until('strettch_gateway_upstream_429_total', burst);
  await until('strettch_gateway_schedule_rejections_total', async () => {
    await burst();
    await h.as('reader', 'GET', '/api/v1/computes', { headers: { 'x-max-wait-ms': '0' } });
  });
  scrape = readScrape(await h.metricsText());
}, 120_000);

afterAll(() => h?.close());

describe('the scrape of a gateway started as the CLI starts it', () => {
  it("has Node's process metrics under their standard names, and nothing else outside the project's prefix", () => {
    for (const name of [
      'process_cpu_seconds_total',
      'process_resident_memory_bytes',
      'process_start_time_seconds',
      'nodejs_eventloop_lag_seconds',
      'nodejs_eventloop_lag_p99_seconds',
      'nodejs_heap_size_used_bytes',
      'nodejs_gc_duration_seconds',
    ])
      expect({ name, exposed: scrape.families.has(name) }).toEqual({ name, exposed: true });
    const others = [...scrape.families.keys()].filter((name) => !name.startsWith('strettch_gateway_'));
    expect(others.filter((name) => !/^(process|nodejs)_/.test(name))).toEqual([]);
    expect([...scrape.families.keys()].filter((name) => /^strettch_gateway_(process|nodejs)_/.test(name))).toEqual([]);
  });

  it('labels the queue metrics by account, with configured account names only', () => {
    const configured = Object.keys(h.policy.accounts);
    expect(configured).toContain('members');
    for (const name of [
      'strettch_gateway_queue_wait_seconds_count',
      'strettch_gateway_schedule_waiting_requests',
      'strettch_gateway_schedule_rejections_total',
      'strettch_gateway_upstream_429_total',
    ]) {
      const samples = withLabels(scrape.samples, name);
      expect({ name, samples: samples.length > 0 }).toEqual({ name, samples: true });
      for (const s of samples) expect(configured).toContain(s.labels.account);
    }
    // The reader's account, and only the requests that had a slot: their answers and the burst's.
    expect(
      sum(withLabels(scrape.samples, 'strettch_gateway_queue_wait_seconds_count', { account: 'members' })),
    ).toBeGreaterThan(45);
    expect(
      sum(withLabels(scrape.samples, 'strettch_gateway_schedule_rejections_total', { account: 'members' })),
    ).toBeGreaterThan(0);
    // No request is still waiting for its slot once every answer is in.
    expect(sum(withLabels(scrape.samples, 'strettch_gateway_schedule_waiting_requests'))).toBe(0);
  });

  it('times every answered request end to end, by operation and status class', () => {
    const counted = new Map<string, number>();
    for (const s of withLabels(scrape.samples, 'strettch_gateway_requests_total')) {
      const key = `${s.labels.operation} ${s.labels.status_class}`;
      counted.set(key, (counted.get(key) ?? 0) + s.value);
    }
    const timed = new Map(
      withLabels(scrape.samples, 'strettch_gateway_request_duration_seconds_count').map((s) => [
        `${s.labels.operation} ${s.labels.status_class}`,
        s.value,
      ]),
    );
    // One observation per request counted, under the same labels.
    expect(timed).toEqual(counted);
    for (const key of ['computes.list 2xx', 'computes.list 4xx', 'computes.create 4xx', 'regions.list 5xx'])
      expect({ key, timed: (timed.get(key) ?? 0) > 0 }).toEqual({ key, timed: true });
    const buckets = withLabels(scrape.samples, 'strettch_gateway_request_duration_seconds_bucket', {
      operation: 'computes.list',
      status_class: '2xx',
    });
    expect(buckets.map((b) => b.labels.le)).toEqual([
      ...['0.001', '0.0025', '0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '10', '30'],
      '+Inf',
    ]);
  });
});

describe('the metrics table of docs/operations.md', () => {
  /** Its rows: metric, type, and the label names quoted in the labels column ("none": no labels). */
  const rows = [...read('docs/operations.md').matchAll(/^\| `(strettch_gateway_\w+)` \| (\w+) \| ([^|]*) \|/gm)].map(
    ([, name, type, labels]) => ({
      name: name!,
      type: type!,
      labels: [...labels!.matchAll(/`(\w+)`/g)].map((l) => l[1]!),
    }),
  );

  it("lists every one of the gateway's own metrics, with its type, and no other", () => {
    const exported = [...scrape.families.entries()]
      .filter(([name]) => name.startsWith('strettch_gateway_'))
      .map(([name, type]) => ({ name, type }));
    expect(rows.map(({ name, type }) => ({ name, type })).sort((a, b) => a.name.localeCompare(b.name))).toEqual(
      exported.sort((a, b) => a.name.localeCompare(b.name)),
    );
  });

  it('names the labels each metric carries', () => {
    let checked = 0;
    for (const { name, type, labels } of rows) {
      const series = type === 'histogram' ? `${name}_count` : name;
      const samples = withLabels(scrape.samples, series);
      // A labelled metric this run never used shows no sample; the others must match exactly.
      if (samples.length === 0) continue;
      checked += 1;
      const carried = [...new Set(samples.flatMap((s) => Object.keys(s.labels)))].sort();
      expect({ name, labels: [...labels].sort() }).toEqual({ name, labels: carried });
    }
    expect(checked).toBeGreaterThan(rows.length / 2);
  });
});

describe(`${DASHBOARD_FILE}`, () => {
  it('is a dashboard of time series panels with unique ids, laid out on the 24-column grid without overlap', () => {
    expect(dashboard.uid).toBe('strettch-gateway');
    expect(new Set(dashboard.panels.map((p) => p.id)).size).toBe(dashboard.panels.length);
    const cells = new Set<string>();
    for (const {
      type,
      gridPos: { x, y, w, h: height },
    } of dashboard.panels) {
      expect(type).toBe('timeseries');
      expect(x + w).toBeLessThanOrEqual(24);
      for (let i = x; i < x + w; i++)
        for (let j = y; j < y + height; j++) {
          expect(cells.has(`${i},${j}`)).toBe(false);
          cells.add(`${i},${j}`);
        }
    }
  });

  it('takes its Prometheus from the datasource variable: no panel or query names a uid', () => {
    expect(dashboard.templating.list).toContainEqual(
      expect.objectContaining({ name: 'datasource', type: 'datasource', query: 'prometheus' }),
    );
    const sources: unknown[] = [];
    const walk = (node: unknown): void => {
      if (Array.isArray(node)) node.forEach(walk);
      else if (node !== null && typeof node === 'object')
        for (const [key, value] of Object.entries(node)) {
          if (key === 'datasource') sources.push(value);
          else walk(value);
        }
    };
    walk(dashboard.panels);
    expect(sources.length).toBe(dashboard.panels.length + queries.length);
    for (const source of sources) expect(source).toEqual({ type: 'prometheus', uid: '${datasource}' });
  });

  it('queries only series the gateway exposes, each with samples carrying every label the query uses', () => {
    expect(queries.length).toBeGreaterThan(0);
    for (const { target, query } of queries) {
      for (const name of metricsOf(query)) {
        const family = familyOf(scrape, name);
        expect({ expr: target.expr, name, exposed: family !== undefined }).toEqual({
          expr: target.expr,
          name,
          exposed: true,
        });
        const samples = withLabels(scrape.samples, name);
        expect({ expr: target.expr, name, samples: samples.length > 0 }).toEqual({
          expr: target.expr,
          name,
          samples: true,
        });
        const present = new Set([...SCRAPE_LABELS, ...samples.flatMap((s) => Object.keys(s.labels))]);
        for (const label of labelsUsed(query))
          expect({ expr: target.expr, label, present: present.has(label) }).toEqual({
            expr: target.expr,
            label,
            present: true,
          });
        // Counters and histogram series only through rate(); gauges never.
        const rated = target.expr.includes(`rate(${name}`);
        expect({ expr: target.expr, rated }).toEqual({ expr: target.expr, rated: family!.type !== 'gauge' });
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
  const quantile = (query: Query, q: number, metric: string, ...by: string[]) =>
    query.kind === 'quantile' &&
    query.q === q &&
    metricsOf(query).includes(`${metric}_bucket`) &&
    sumBy(query.inner, 'le', ...by);
  const m = (name: string) => `strettch_gateway_${name}`;

  it.each([
    [
      'request rate by operation and status class',
      (e: string, q: Query) => e.includes(m('requests_total')) && sumBy(q, 'operation', 'status_class'),
    ],
    ['4xx and 5xx', (e: string) => e.includes(m('requests_total')) && e.includes('status_class=~"4xx|5xx"')],
    [
      'request duration p50 by operation',
      (_: string, q: Query) => quantile(q, 0.5, m('request_duration_seconds'), 'operation'),
    ],
    [
      'request duration p99 by operation',
      (_: string, q: Query) => quantile(q, 0.99, m('request_duration_seconds'), 'operation'),
    ],
    ['upstream latency p50', (_: string, q: Query) => quantile(q, 0.5, m('upstream_duration_seconds'))],
    ['upstream latency p99', (_: string, q: Query) => quantile(q, 0.99, m('upstream_duration_seconds'))],
    ['queue wait p50', (_: string, q: Query) => quantile(q, 0.5, m('queue_wait_seconds'), 'class')],
    ['queue wait p99', (_: string, q: Query) => quantile(q, 0.99, m('queue_wait_seconds'), 'class')],
    [
      'queue wait p99 by account',
      (_: string, q: Query) => quantile(q, 0.99, m('queue_wait_seconds'), 'account', 'class'),
    ],
    [
      'schedule rejections by account',
      (e: string, q: Query) => e.includes(m('schedule_rejections_total')) && sumBy(q, 'account', 'class', 'reason'),
    ],
    [
      'requests waiting by account',
      (e: string, q: Query) => e.includes(m('schedule_waiting_requests')) && sumBy(q, 'account', 'class'),
    ],
    ['upstream 429s', (e: string, q: Query) => e.includes(m('upstream_429_total')) && sumBy(q, 'account')],
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
