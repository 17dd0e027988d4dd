/**
 * The PromQL the dashboard uses, and nothing else, evaluated over the scrapes of one run:
 *   histogram_quantile(<q>, <expr>) | sum [by (<labels>)] (<expr>) | rate(<selector>[$__rate_interval]) | <selector>
 * Any other form is refused, so the picture shows exactly the dashboard's queries. Hand-written: no npm
 * package evaluates PromQL (the Prometheus project publishes a grammar, @prometheus-io/lezer-promql, but
 * no engine), and Prometheus itself is a server, not something a bench can embed; these four forms take
 * a page.
 */
import { type Sample } from '../prometheus-text';

/** Stands in for Grafana's `$__rate_interval` (4 × the scrape interval, as Grafana computes it). */
export const RATE_WINDOW_SEC = 4;

export type Matcher = { label: string; op: '=' | '!=' | '=~' | '!~'; value: string };
export type Query =
  | { kind: 'selector'; metric: string; matchers: Matcher[] }
  | { kind: 'rate'; selector: { metric: string; matchers: Matcher[] } }
  | { kind: 'sum'; by: string[]; inner: Query }
  | { kind: 'quantile'; q: number; inner: Query };

const QUANTILE = /^histogram_quantile\(\s*([0-9.]+)\s*,\s*(.+)\)$/s;
const SUM = /^sum(?:\s+by\s*\(([^)]*)\))?\s*\((.+)\)$/s;
const RATE = /^rate\((.+)\[\$__rate_interval\]\)$/s;
const SELECTOR = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?$/s;
const MATCHER = /^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*$/;

export function parseQuery(expr: string): Query {
  const text = expr.trim();
  let m = QUANTILE.exec(text);
  if (m) return { kind: 'quantile', q: Number(m[1]), inner: parseQuery(m[2]!) };
  m = SUM.exec(text);
  if (m)
    return {
      kind: 'sum',
      by: (m[1] ?? '')
        .split(',')
        .map((l) => l.trim())
        .filter((l) => l !== ''),
      inner: parseQuery(m[2]!),
    };
  m = RATE.exec(text);
  if (m) {
    const selector = parseQuery(m[1]!);
    if (selector.kind !== 'selector') throw new Error(`rate() takes a selector: ${expr}`);
    return { kind: 'rate', selector };
  }
  m = SELECTOR.exec(text);
  if (m) {
    const matchers = (m[2] ?? '')
      .split(',')
      .filter((part) => part.trim() !== '')
      .map((part) => {
        const mm = MATCHER.exec(part);
        if (!mm) throw new Error(`unsupported label matcher "${part}" in ${expr}`);
        return { label: mm[1]!, op: mm[2] as Matcher['op'], value: mm[3]! };
      });
    return { kind: 'selector', metric: m[1]!, matchers };
  }
  throw new Error(`unsupported PromQL (the snapshot evaluates only the dashboard's forms): ${expr}`);
}

/** Every metric name a query reads (histogram series by their `_bucket`/`_count`/`_sum` names). */
export function metricsOf(query: Query): string[] {
  switch (query.kind) {
    case 'selector':
      return [query.metric];
    case 'rate':
      return [query.selector.metric];
    case 'sum':
    case 'quantile':
      return metricsOf(query.inner);
  }
}

export interface Scrape {
  atSec: number;
  samples: Sample[];
}

type Vector = Array<{ labels: Record<string, string>; value: number }>;

export const labelKey = (labels: Record<string, string>, omit: string[] = []) =>
  JSON.stringify(
    Object.entries(labels)
      .filter(([k]) => !omit.includes(k))
      .sort(([a], [b]) => a.localeCompare(b)),
  );

function matches(sample: Sample, metric: string, matchers: Matcher[]): boolean {
  if (sample.name !== metric) return false;
  return matchers.every(({ label, op, value }) => {
    const actual = sample.labels[label] ?? '';
    if (op === '=') return actual === value;
    if (op === '!=') return actual !== value;
    const anchored = new RegExp(`^(?:${value})$`).test(actual);
    return op === '=~' ? anchored : !anchored;
  });
}

/** Prometheus' histogram_quantile: linear interpolation inside the bucket that holds the rank. */
export function histogramQuantile(q: number, buckets: Array<{ le: number; count: number }>): number | undefined {
  const sorted = [...buckets].sort((a, b) => a.le - b.le);
  const total = sorted.at(-1)?.count ?? 0;
  if (sorted.length < 2 || total <= 0 || sorted.at(-1)!.le !== Infinity) return undefined;
  const rank = q * total;
  let index = sorted.findIndex((b) => b.count >= rank);
  if (index < 0) index = sorted.length - 1;
  const bucket = sorted[index]!;
  if (bucket.le === Infinity) return sorted[index - 1]!.le;
  const lowerBound = index === 0 ? 0 : sorted[index - 1]!.le;
  const below = index === 0 ? 0 : sorted[index - 1]!.count;
  const inBucket = bucket.count - below;
  return inBucket <= 0 ? bucket.le : lowerBound + (bucket.le - lowerBound) * ((rank - below) / inBucket);
}

/** The query's value at scrape `at`; rates need a scrape RATE_WINDOW_SEC earlier, else nothing. */
export function evaluate(query: Query, scrapes: readonly Scrape[], at: number): Vector {
  switch (query.kind) {
    case 'selector':
      return scrapes[at]!.samples.filter((s) => matches(s, query.metric, query.matchers)).map((s) => ({
        labels: { ...s.labels, __name__: s.name },
        value: s.value,
      }));
    case 'rate': {
      const now = scrapes[at]!;
      let from = -1;
      for (let j = at - 1; j >= 0; j--)
        if (now.atSec - scrapes[j]!.atSec >= RATE_WINDOW_SEC - 0.25) {
          from = j;
          break;
        }
      if (from < 0) return [];
      const then = scrapes[from]!;
      const before = new Map(
        then.samples
          .filter((s) => matches(s, query.selector.metric, query.selector.matchers))
          .map((s) => [labelKey(s.labels), s.value]),
      );
      // A labelled prom-client counter appears at its first increment: absent before means 0.
      return now.samples
        .filter((s) => matches(s, query.selector.metric, query.selector.matchers))
        .map((s) => ({
          labels: { ...s.labels },
          value: Math.max(0, s.value - (before.get(labelKey(s.labels)) ?? 0)) / (now.atSec - then.atSec),
        }));
    }
    case 'sum': {
      const groups = new Map<string, { labels: Record<string, string>; value: number }>();
      for (const item of evaluate(query.inner, scrapes, at)) {
        const labels = Object.fromEntries(
          query.by.filter((l) => item.labels[l] !== undefined).map((l) => [l, item.labels[l]!]),
        );
        const key = labelKey(labels);
        const group = groups.get(key) ?? { labels, value: 0 };
        group.value += item.value;
        groups.set(key, group);
      }
      return [...groups.values()];
    }
    case 'quantile': {
      const groups = new Map<
        string,
        { labels: Record<string, string>; buckets: Array<{ le: number; count: number }> }
      >();
      for (const item of evaluate(query.inner, scrapes, at)) {
        if (item.labels.le === undefined) continue;
        const labels = Object.fromEntries(Object.entries(item.labels).filter(([k]) => k !== 'le'));
        const key = labelKey(labels);
        const group = groups.get(key) ?? { labels, buckets: [] };
        group.buckets.push({ le: item.labels.le === '+Inf' ? Infinity : Number(item.labels.le), count: item.value });
        groups.set(key, group);
      }
      return [...groups.values()].flatMap(({ labels, buckets }) => {
        const value = histogramQuantile(query.q, buckets);
        return value === undefined ? [] : [{ labels, value }];
      });
    }
  }
}
