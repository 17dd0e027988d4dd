/**
 * The README picture (bench/dashboard-snapshot.ts, bench/dashboard/): its PromQL evaluator against known
 * answers, and a short real run that renders every panel of the Grafana dashboard.
 */
import { parseSnapshotArgs } from '../../../bench/dashboard/options';
import { DASHBOARD_FILE, panelSeries, readDashboard } from '../../../bench/dashboard/panels';
import { evaluate, histogramQuantile, parseQuery, type Scrape } from '../../../bench/dashboard/promql';
import { renderDashboardSvg } from '../../../bench/dashboard/render';
import { runSnapshotLoad } from '../../../bench/dashboard/run';
import { parseExposition } from '../../../bench/prometheus-text';
import { createMetrics } from '../../../src/gateway/observability/metrics';

describe('the PromQL subset', () => {
  it.each([
    // Prometheus' own interpolation: rank 5 of 10 sits halfway through the (0.1, 0.2] bucket.
    [
      0.5,
      0.15,
      [
        { le: 0.1, count: 0 },
        { le: 0.2, count: 10 },
        { le: Infinity, count: 10 },
      ],
    ],
    [
      0.5,
      0.05,
      [
        { le: 0.1, count: 10 },
        { le: 0.2, count: 10 },
        { le: Infinity, count: 10 },
      ],
    ],
    [
      0.99,
      1.9,
      [
        { le: 1, count: 90 },
        { le: 2, count: 100 },
        { le: Infinity, count: 100 },
      ],
    ],
    // In the +Inf bucket: the highest finite bound.
    [
      0.99,
      1,
      [
        { le: 1, count: 50 },
        { le: Infinity, count: 100 },
      ],
    ],
  ])('histogram_quantile(%p) is %p (case %#)', (q, expected, buckets) => {
    expect(histogramQuantile(q, buckets)).toBeCloseTo(expected, 9);
  });

  it('has no quantile of an empty histogram', () => {
    expect(
      histogramQuantile(0.5, [
        { le: 1, count: 0 },
        { le: Infinity, count: 0 },
      ]),
    ).toBeUndefined();
  });

  it('refuses a form it does not know, rather than drawing something else', () => {
    expect(() => parseQuery('avg(rate(x[5m]))')).toThrow(/unsupported PromQL/);
    expect(() => parseQuery('rate(x[5m])')).toThrow(/unsupported PromQL/);
  });

  it('evaluates rate, sum by and histogram_quantile over scrapes of a real registry', async () => {
    const metrics = createMetrics();
    const scrapeAt = async (atSec: number): Promise<Scrape> => ({
      atSec,
      samples: parseExposition(await metrics.registry.metrics()),
    });
    metrics.requests.inc({ operation: 'computes.list', caller: 'a', status_class: '2xx' }, 10);
    const first = await scrapeAt(0);
    metrics.requests.inc({ operation: 'computes.list', caller: 'a', status_class: '2xx' }, 40);
    metrics.requests.inc({ operation: 'computes.list', caller: 'b', status_class: '4xx' }, 20);
    for (let i = 0; i < 10; i++) metrics.queueWait.observe({ class: 'read' }, 0.2);
    const second = await scrapeAt(4);
    const scrapes = [first, second];

    const byClass = evaluate(
      parseQuery('sum by (status_class) (rate(strettch_gateway_requests_total[$__rate_interval]))'),
      scrapes,
      1,
    );
    expect(byClass.sort((a, b) => a.value - b.value)).toEqual([
      { labels: { status_class: '4xx' }, value: 5 }, // absent in the first scrape: counted from 0
      { labels: { status_class: '2xx' }, value: 10 },
    ]);
    expect(
      evaluate(
        parseQuery(
          'sum by (status_class) (rate(strettch_gateway_requests_total{status_class=~"4xx|5xx"}[$__rate_interval]))',
        ),
        scrapes,
        1,
      ),
    ).toEqual([{ labels: { status_class: '4xx' }, value: 5 }]);
    // No earlier scrape a rate window back: no value yet.
    expect(evaluate(parseQuery('sum(rate(strettch_gateway_requests_total[$__rate_interval]))'), scrapes, 0)).toEqual(
      [],
    );
    const p50 = evaluate(
      parseQuery(
        'histogram_quantile(0.5, sum by (le, class) (rate(strettch_gateway_queue_wait_seconds_bucket[$__rate_interval])))',
      ),
      scrapes,
      1,
    );
    expect(p50).toHaveLength(1);
    expect(p50[0]!.labels).toEqual({ class: 'read' });
    expect(p50[0]!.value).toBeCloseTo(0.175, 9); // the (0.1, 0.25] bucket, rank 5 of 10
  });

  it('reads its options', () => {
    expect(parseSnapshotArgs([])).toEqual({
      ok: true,
      options: { durationSec: 20, outFile: 'docs/dashboard.svg', png: true, help: false },
    });
    expect(parseSnapshotArgs(['--duration-sec', '500'])).toMatchObject({ ok: false });
    expect(parseSnapshotArgs(['--out', 'x.png'])).toMatchObject({ ok: false });
  });
});

describe('a short real run', () => {
  it("renders every panel of the dashboard from the gateway's own /metrics", async () => {
    const dashboard = readDashboard(DASHBOARD_FILE);
    const run = await runSnapshotLoad(4);
    expect(run.scrapes.length).toBeGreaterThanOrEqual(4);
    expect(run.upstream.maxReadsInAnySecond).toBeGreaterThan(0);
    expect(run.counts['read 200']).toBeGreaterThan(0);
    expect(run.counts['no-token 401']).toBeGreaterThan(0);
    expect(run.counts['denied 403']).toBeGreaterThan(0);

    const svg = renderDashboardSvg(dashboard, run, 'deploy/grafana/dashboards/strettch-gateway.json');
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    for (const panel of dashboard.panels) expect(svg).toContain(`>${panel.title.replace(/&/g, '&amp;')}</text>`);
    // Panels that must have data after a run with traffic: requests, latency, schedule mode.
    const byTitle = new Map(dashboard.panels.map((p) => [p.title, panelSeries(p, run.scrapes)]));
    expect(byTitle.get('Requests/s by operation and status class')!.length).toBeGreaterThan(0);
    expect(byTitle.get('Upstream latency p50 / p99')!.map((s) => s.name)).toEqual(['p50', 'p99']);
    expect(byTitle.get('Request duration p50 / p99 by operation')!.map((s) => s.name)).toEqual(
      expect.arrayContaining(['p50 computes.list', 'p99 computes.list']),
    );
    // The embedded policy's one account, named on its queue.
    expect(byTitle.get('Queue wait p99 by account and class')!.map((s) => s.name)).toContain('sandbox read');
    expect(
      byTitle
        .get('Replicas by schedule mode')!
        .find((s) => s.name === 'memory')!
        .values.at(-1),
    ).toBe(1);
  }, 20_000);
});
