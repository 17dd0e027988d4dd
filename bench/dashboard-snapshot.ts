/**
 * `npm run dashboard:snapshot`: the Grafana dashboard's panels, rendered from a real run into one
 * SVG (docs/dashboard.svg, and a PNG beside it when ImageMagick's /usr/bin/convert is present).
 *
 * The sandbox and one gateway (memory schedule) run in this process on 127.0.0.1; a bounded,
 * open-loop mixed load drives them for ~20 s while the gateway's admin `/metrics` is scraped every
 * second. Each panel's PromQL is read from deploy/grafana/dashboards/strettch-gateway.json and
 * evaluated over those scrapes by a small evaluator that knows only the forms the dashboard uses
 * and refuses any other, so the picture shows exactly the dashboard's queries.
 */
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { mintToken } from '../src/gateway/auth';
import { startGateway } from '../src/gateway/compose';
import { createLogger } from '../src/gateway/observability/logger';
import { createMetrics } from '../src/gateway/observability/metrics';
import { parsePolicy } from '../src/gateway/policy';
import { EMBEDDED_AUDIENCE, EMBEDDED_ISSUER, EMBEDDED_SANDBOX_KEY_ENV, embeddedPolicyText } from '../src/cli/embedded';
import { DEMO_KEYS, startSandbox } from '../src/sandbox';
import { REPO_ROOT } from './repo-root';
import { readFlags } from '../src/shared/cli-flags';

export const DASHBOARD_FILE = path.join(REPO_ROOT, 'deploy/grafana/dashboards/strettch-gateway.json');
const CONVERT = '/usr/bin/convert';
const SCRAPE_INTERVAL_MS = 1000;
/** Stands in for Grafana's `$__rate_interval` (4 × the scrape interval, as Grafana computes it). */
const RATE_WINDOW_SEC = 4;
const MAX_IN_FLIGHT = 200;
const REQUEST_TIMEOUT_MS = 10_000;
const SANDBOX_LATENCY_MS = 20;
const SANDBOX_JITTER_MS = 10;

export const SNAPSHOT_USAGE = `Usage: npm run dashboard:snapshot -- [--duration-sec <n>] [--out <file.svg>] [--no-png]

Runs the sandbox and a gateway in this process (127.0.0.1 only), drives a bounded mixed load for
--duration-sec (default 20, at most 120), scrapes the gateway's /metrics every second, and renders
the panels of deploy/grafana/dashboards/strettch-gateway.json into --out (default docs/dashboard.svg),
plus a PNG beside it when ${CONVERT} exists (unless --no-png).`;

export interface SnapshotOptions {
  durationSec: number;
  outFile: string;
  png: boolean;
  help: boolean;
}

const SNAPSHOT_FLAG_RULES: Record<string, string> = {
  '--duration-sec': 'whole seconds from 2 to 120',
  '--out': 'a file name ending in .svg',
  '--help': 'takes no value',
  '--no-png': 'takes no value',
  '-h': 'takes no value',
};

export function parseSnapshotArgs(
  argv: readonly string[],
): { ok: true; options: SnapshotOptions } | { ok: false; problems: string[] } {
  const options: SnapshotOptions = { durationSec: 20, outFile: 'docs/dashboard.svg', png: true, help: false };
  const read = readFlags(argv, {
    help: { type: 'boolean', short: 'h' },
    'no-png': { type: 'boolean' },
    'duration-sec': { type: 'string' },
    out: { type: 'string' },
  });
  const problems = read.problems.flatMap((problem) =>
    problem.kind === 'repeated'
      ? []
      : [`${problem.flag}: ${problem.kind === 'unknown' ? 'unknown option' : SNAPSHOT_FLAG_RULES[problem.flag]}`],
  );
  for (const word of read.positionals) problems.push(`${word}: unknown option`);
  const { help, 'no-png': noPng, 'duration-sec': duration, out } = read.values;
  options.help = help === true;
  options.png = noPng !== true;
  if (typeof duration === 'string') {
    options.durationSec = Number(duration);
    if (!/^[0-9]{1,3}$/.test(duration) || options.durationSec < 2 || options.durationSec > 120)
      problems.push(`--duration-sec: ${SNAPSHOT_FLAG_RULES['--duration-sec']}`);
  }
  if (typeof out === 'string') {
    if (out.endsWith('.svg')) options.outFile = out;
    else problems.push(`--out: ${SNAPSHOT_FLAG_RULES['--out']}`);
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, options };
}

// ---------------------------------------------------------------------------------------------
// The Prometheus text format, as prom-client writes it.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const SAMPLE_LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$/;
const LABEL_PAIR = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = SAMPLE_LINE.exec(line);
    if (!match) throw new Error(`cannot read the metrics line "${line}"`);
    const labels: Record<string, string> = {};
    for (const [, name, value] of (match[2] ?? '').matchAll(LABEL_PAIR))
      labels[name!] = value!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

// ---------------------------------------------------------------------------------------------
// The PromQL the dashboard uses, and nothing else:
//   histogram_quantile(<q>, <expr>) | sum [by (<labels>)] (<expr>) | rate(<selector>[$__rate_interval]) | <selector>

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

const labelKey = (labels: Record<string, string>, omit: string[] = []) =>
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

// ---------------------------------------------------------------------------------------------
// The dashboard file.

export interface PanelSpec {
  title: string;
  unit: string;
  gridPos: { x: number; y: number; w: number; h: number };
  targets: Array<{ expr: string; legendFormat: string }>;
  /** Threshold lines (Grafana thresholdsStyle "line"). */
  thresholds: number[];
}

interface DashboardJson {
  title: string;
  panels: Array<{
    title: string;
    gridPos: PanelSpec['gridPos'];
    targets: Array<{ expr: string; legendFormat?: string }>;
    fieldConfig?: {
      defaults?: {
        unit?: string;
        custom?: { thresholdsStyle?: { mode?: string } };
        thresholds?: { steps?: Array<{ value: number | null }> };
      };
    };
  }>;
}

export function readDashboard(file: string): { title: string; panels: PanelSpec[] } {
  const json = JSON.parse(fs.readFileSync(file, 'utf8')) as DashboardJson;
  return {
    title: json.title,
    panels: json.panels.map((panel) => {
      const defaults = panel.fieldConfig?.defaults;
      const lines = defaults?.custom?.thresholdsStyle?.mode === 'line';
      return {
        title: panel.title,
        unit: defaults?.unit ?? 'short',
        gridPos: panel.gridPos,
        targets: panel.targets.map((t) => ({ expr: t.expr, legendFormat: t.legendFormat ?? '' })),
        thresholds: lines
          ? (defaults?.thresholds?.steps ?? []).flatMap((s) => (s.value === null ? [] : [s.value]))
          : [],
      };
    }),
  };
}

export interface PanelSeries {
  name: string;
  /** One value per scrape; null where the query had none. */
  values: Array<number | null>;
}

export function panelSeries(panel: PanelSpec, scrapes: readonly Scrape[]): PanelSeries[] {
  const series = new Map<string, Array<number | null>>();
  panel.targets.forEach((target) => {
    const query = parseQuery(target.expr);
    scrapes.forEach((_, at) => {
      for (const { labels, value } of evaluate(query, scrapes, at)) {
        const name =
          target.legendFormat.replace(/\{\{\s*([a-zA-Z_]+)\s*\}\}/g, (_m, l: string) => labels[l] ?? '').trim() ||
          labelKey(labels);
        const values = series.get(name) ?? scrapes.map(() => null);
        values[at] = value;
        series.set(name, values);
      }
    });
  });
  return [...series.entries()].map(([name, values]) => ({ name, values }));
}

// ---------------------------------------------------------------------------------------------
// The load: open loop on 127.0.0.1, bounded in time and in requests in flight.

interface LoadKind {
  name: string;
  perSecond: (fraction: number) => number;
  request: () => { method: string; path: string; headers: Record<string, string>; body?: string };
}

export interface LoadCounts {
  [kindAndStatus: string]: number;
}

function createBody(n: number): string {
  return JSON.stringify({
    hostName: `snapshot-${n}`,
    image: 'UBUNTU-24.04',
    region: 'KGL-1',
    specification: 'S-1C',
    publicKeys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAISnapshotKey snapshot@bench'],
  });
}

function loadKinds(tokens: { reader: string; operator: string }): LoadKind[] {
  let creates = 0;
  const json = (token: string) => ({
    authorization: `Bearer ${token}`,
    'content-type': 'application/json',
    'idempotency-key': randomUUID(),
  });
  return [
    // Under the 30/s limit, then over it (the schedule queues, then answers 429), then under again.
    {
      name: 'read',
      perSecond: (f) => (f >= 0.25 && f < 0.75 ? 45 : 15),
      request: () => ({
        method: 'GET',
        path: '/api/v1/computes',
        headers: { authorization: `Bearer ${tokens.reader}` },
      }),
    },
    {
      name: 'operator-read',
      perSecond: () => 4,
      request: () => ({
        method: 'GET',
        path: '/api/v1/regions',
        headers: { authorization: `Bearer ${tokens.operator}` },
      }),
    },
    {
      name: 'write',
      perSecond: () => 2,
      request: () => ({
        method: 'POST',
        path: '/api/v1/computes',
        headers: json(tokens.operator),
        body: createBody(++creates),
      }),
    },
    {
      name: 'denied',
      perSecond: () => 1,
      request: () => ({ method: 'POST', path: '/api/v1/computes', headers: json(tokens.reader), body: createBody(0) }),
    },
    { name: 'no-token', perSecond: () => 1, request: () => ({ method: 'GET', path: '/api/v1/computes', headers: {} }) },
    {
      name: 'forged',
      perSecond: () => 0.5,
      request: () => ({
        method: 'GET',
        path: '/api/v1/computes',
        headers: { authorization: `Bearer ${tokens.reader.slice(0, -4)}AAAA` },
      }),
    },
  ];
}

function sendOnce(port: number, agent: http.Agent, request: ReturnType<LoadKind['request']>): Promise<string> {
  return new Promise((resolve) => {
    const headers =
      request.body === undefined
        ? request.headers
        : { ...request.headers, 'content-length': String(Buffer.byteLength(request.body)) };
    const req = http.request(
      { host: '127.0.0.1', port, method: request.method, path: request.path, headers, agent },
      (res) => {
        res.on('end', () => resolve(String(res.statusCode)));
        res.on('error', () => resolve('error'));
        res.resume();
      },
    );
    req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
    req.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
    req.end(request.body);
  });
}

async function driveLoad(port: number, kinds: LoadKind[], durationMs: number): Promise<LoadCounts> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: MAX_IN_FLIGHT });
  const counts: LoadCounts = {};
  const pending = new Set<Promise<void>>();
  const credit = kinds.map(() => 0);
  const startedMs = performance.now();
  const tickMs = 20;
  let lastMs = startedMs;
  while (performance.now() - startedMs < durationMs) {
    await new Promise((resolve) => setTimeout(resolve, tickMs));
    const nowMs = performance.now();
    const fraction = Math.min(1, (nowMs - startedMs) / durationMs);
    kinds.forEach((kind, i) => {
      credit[i] = credit[i]! + (kind.perSecond(fraction) * (nowMs - lastMs)) / 1000;
      for (; credit[i]! >= 1; credit[i] = credit[i]! - 1) {
        const key = (status: string) => `${kind.name} ${status}`;
        if (pending.size >= MAX_IN_FLIGHT) {
          counts[key('skipped')] = (counts[key('skipped')] ?? 0) + 1;
          continue;
        }
        const sent = sendOnce(port, agent, kind.request()).then((status) => {
          counts[key(status)] = (counts[key(status)] ?? 0) + 1;
          pending.delete(sent);
        });
        pending.add(sent);
      }
    });
    lastMs = nowMs;
  }
  await Promise.all(pending);
  agent.destroy();
  return counts;
}

// ---------------------------------------------------------------------------------------------
// The run.

export interface SnapshotRun {
  scrapes: Scrape[];
  counts: LoadCounts;
  startedAt: Date;
  durationSec: number;
  /** The machine's 1-minute load average at the end, and its CPU count: context for the latencies. */
  machine: { loadAverage: number; cpuCount: number };
  /** What the sandbox (the provider) saw, from its referee: the check that the schedule held. */
  upstream: { maxReadsInAnySecond: number; maxWritesInAnySecond: number; rejected: number };
}

async function scrapeOnce(adminUrl: string, instance: string): Promise<Sample[]> {
  const response = await fetch(`${adminUrl}/metrics`, { signal: AbortSignal.timeout(2000) });
  if (!response.ok) throw new Error(`GET ${adminUrl}/metrics answered ${response.status}`);
  // The labels Prometheus adds to every scraped series.
  return parseExposition(await response.text()).map((s) => ({
    ...s,
    labels: { ...s.labels, instance, job: 'strettch-gateway' },
  }));
}

export async function runSnapshotLoad(durationSec: number): Promise<SnapshotRun> {
  // Discards everything, audit records included (they go to the logger's stream, whatever its level).
  const quiet = createLogger({ level: 'silent', destination: { write: () => undefined } });
  const sandbox = await startSandbox({
    port: 0,
    host: '127.0.0.1',
    latencyMs: SANDBOX_LATENCY_MS,
    jitterMs: SANDBOX_JITTER_MS,
    logger: quiet,
  });
  try {
    // The embedded default's policy, with an in-memory ES256 key instead of the dev key on disk.
    const keys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const publicKeyFile = '(in memory)/snapshot-es256.pub.pem';
    const publicPem = keys.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const parsed = parsePolicy(embeddedPolicyText(sandbox.apiBaseUrl, publicKeyFile), '(dashboard snapshot)', {
      readEnv: (name) => (name === EMBEDDED_SANDBOX_KEY_ENV ? DEMO_KEYS[0]!.key : undefined),
      readFile: (file) => {
        if (file === publicKeyFile) return publicPem;
        throw Object.assign(new Error('not found'), { code: 'ENOENT' });
      },
    });
    if (!parsed.ok) throw new Error(`snapshot policy is invalid: ${JSON.stringify(parsed.errors)}`);
    const gateway = await startGateway({
      policy: parsed.policy,
      logger: quiet,
      metrics: createMetrics(),
      host: '127.0.0.1',
      port: 0,
      adminPort: 0,
    });
    try {
      const mint = (sub: string) =>
        mintToken({
          sub,
          lifetimeSec: 600,
          signingKey: keys.privateKey,
          alg: 'ES256',
          kid: 'dev',
          issuer: EMBEDDED_ISSUER,
          audience: EMBEDDED_AUDIENCE,
          now: Date.now,
        });
      const kinds = loadKinds({ reader: mint('demo-reader'), operator: mint('demo-operator') });
      const instance = new URL(gateway.adminUrl).host;
      const scrapes: Scrape[] = [];
      const startedAt = new Date();
      const startedMs = performance.now();
      const scrape = async () =>
        scrapes.push({
          atSec: (performance.now() - startedMs) / 1000,
          samples: await scrapeOnce(gateway.adminUrl, instance),
        });
      await scrape();
      const timer = setInterval(() => void scrape().catch(() => undefined), SCRAPE_INTERVAL_MS);
      let counts: LoadCounts;
      try {
        counts = await driveLoad(Number(new URL(gateway.url).port), kinds, durationSec * 1000);
      } finally {
        clearInterval(timer);
      }
      await scrape();
      scrapes.sort((a, b) => a.atSec - b.atSec);
      const keyStats = Object.values(sandbox.referee.stats().keys);
      const upstream = {
        maxReadsInAnySecond: Math.max(0, ...keyStats.map((k) => k.classes.read.maxAdmittedInSlidingWindow)),
        maxWritesInAnySecond: Math.max(0, ...keyStats.map((k) => k.classes.write.maxAdmittedInSlidingWindow)),
        rejected: keyStats.reduce(
          (sum, k) => sum + k.classes.read.rejected + k.classes.write.rejected + k.classes.all.rejected,
          0,
        ),
      };
      const machine = { loadAverage: os.loadavg()[0]!, cpuCount: os.cpus().length };
      return { scrapes, counts, startedAt, durationSec, machine, upstream };
    } finally {
      await gateway.close();
    }
  } finally {
    await sandbox.close();
  }
}

// ---------------------------------------------------------------------------------------------
// The picture: hand-written SVG, one panel per dashboard panel, laid out by its gridPos.

const PALETTE = [
  '#1f78c1',
  '#e0752d',
  '#37872d',
  '#c4162a',
  '#8f3bb8',
  '#b8860b',
  '#0e8a8a',
  '#6e6e6e',
  '#e05fa6',
  '#5a7d1f',
  '#2c4f9e',
  '#9c5a1a',
];
const WIDTH = 1560;
const GRID_COLUMN_PX = WIDTH / 24;
const GRID_ROW_PX = 42;
const HEADER_PX = 92;
const PAD = 8;
const FONT = 'font-family="DejaVu Sans, Helvetica, Arial, sans-serif"';

const escapeXml = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export function formatValue(value: number, unit: string): string {
  const trim = (n: number, digits: number) => String(Number(n.toFixed(digits)));
  if (unit === 's')
    return value === 0 ? '0' : value < 1 ? `${trim(value * 1000, value < 0.01 ? 1 : 0)} ms` : `${trim(value, 2)} s`;
  if (unit === 'reqps') return `${trim(value, value < 10 ? 2 : 1)}/s`;
  return trim(value, 2);
}

/** A round tick step giving at most 5 intervals up to `max`. */
function niceStep(max: number): number {
  if (max <= 0) return 0.25;
  const raw = max / 5;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 2.5, 5, 10].find((s) => s * magnitude >= raw)! * magnitude;
}

function renderPanel(panel: PanelSpec, series: PanelSeries[], times: number[], durationSec: number): string {
  const x = panel.gridPos.x * GRID_COLUMN_PX + PAD / 2;
  const y = HEADER_PX + panel.gridPos.y * GRID_ROW_PX + PAD / 2;
  const w = panel.gridPos.w * GRID_COLUMN_PX - PAD;
  const h = panel.gridPos.h * GRID_ROW_PX - PAD;
  const out: string[] = [`<g transform="translate(${x.toFixed(1)},${y.toFixed(1)})">`];
  out.push(`<rect width="${w.toFixed(1)}" height="${h}" rx="4" fill="#ffffff" stroke="#d8d9da"/>`);
  out.push(`<text x="10" y="20" font-size="14" font-weight="bold" fill="#1f2328">${escapeXml(panel.title)}</text>`);

  const shown = series.slice(0, 8);
  const legendRows = Math.ceil(Math.max(shown.length, 1) / 2) + (series.length > shown.length ? 1 : 0);
  const plot = { left: 62, top: 34, right: w - 14, bottom: h - 26 - legendRows * 16 };
  const values = series.flatMap((s) => s.values.filter((v): v is number => v !== null && Number.isFinite(v)));
  const step = niceStep(Math.max(0, ...values, ...panel.thresholds.map((t) => t * 1.1)));
  const ticks = Math.max(1, Math.ceil(Math.max(0, ...values, ...panel.thresholds.map((t) => t * 1.1)) / step - 1e-9));
  const yMax = step * ticks;
  const px = (t: number) =>
    plot.left + (Math.min(Math.max(t, 0), durationSec) / durationSec) * (plot.right - plot.left);
  const py = (v: number) => plot.bottom - (v / yMax) * (plot.bottom - plot.top);

  for (let i = 0; i <= ticks; i++) {
    const v = step * i;
    out.push(
      `<line x1="${plot.left}" x2="${plot.right.toFixed(1)}" y1="${py(v).toFixed(1)}" y2="${py(v).toFixed(1)}" stroke="${i === 0 ? '#9a9b9c' : '#ececec'}"/>`,
    );
    out.push(
      `<text x="${plot.left - 6}" y="${(py(v) + 4).toFixed(1)}" font-size="11" text-anchor="end" fill="#555">${escapeXml(formatValue(v, panel.unit))}</text>`,
    );
  }
  const tickEvery = durationSec > 40 ? 10 : 5;
  for (let t = 0; t <= durationSec; t += tickEvery) {
    out.push(
      `<text x="${px(t).toFixed(1)}" y="${plot.bottom + 15}" font-size="11" text-anchor="middle" fill="#555">${t} s</text>`,
    );
  }
  for (const threshold of panel.thresholds) {
    out.push(
      `<line x1="${plot.left}" x2="${plot.right.toFixed(1)}" y1="${py(threshold).toFixed(1)}" y2="${py(threshold).toFixed(1)}" stroke="#c4162a" stroke-dasharray="6 4"/>`,
    );
    out.push(
      `<text x="${(plot.right - 4).toFixed(1)}" y="${(py(threshold) - 4).toFixed(1)}" font-size="11" text-anchor="end" fill="#c4162a">${escapeXml(formatValue(threshold, panel.unit))}</text>`,
    );
  }
  if (values.length === 0) {
    out.push(
      `<text x="${((plot.left + plot.right) / 2).toFixed(1)}" y="${((plot.top + plot.bottom) / 2).toFixed(1)}" font-size="13" text-anchor="middle" fill="#777">No data: none in this run</text>`,
    );
  }
  shown.forEach((s, i) => {
    const color = PALETTE[i % PALETTE.length]!;
    let d = '';
    let pen = false;
    s.values.forEach((v, at) => {
      if (v === null || !Number.isFinite(v)) return void (pen = false);
      d += `${pen ? 'L' : 'M'}${px(times[at]!).toFixed(1)},${py(v).toFixed(1)}`;
      pen = true;
    });
    if (d !== '') out.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="1.8" stroke-linejoin="round"/>`);
    const finite = s.values.filter((v): v is number => v !== null && Number.isFinite(v));
    const peak = finite.length > 0 ? Math.max(...finite) : 0;
    const lx = 10 + (i % 2) * ((w - 20) / 2);
    const ly = plot.bottom + 34 + Math.floor(i / 2) * 16;
    out.push(`<rect x="${lx.toFixed(1)}" y="${ly - 8}" width="12" height="3" fill="${color}"/>`);
    out.push(
      `<text x="${(lx + 17).toFixed(1)}" y="${ly}" font-size="11" fill="#333">${escapeXml(`${s.name}  (max ${formatValue(peak, panel.unit)})`)}</text>`,
    );
  });
  if (series.length > shown.length) {
    out.push(
      `<text x="10" y="${plot.bottom + 34 + Math.ceil(shown.length / 2) * 16}" font-size="11" fill="#777">+ ${series.length - shown.length} more series</text>`,
    );
  }
  out.push('</g>');
  return out.join('\n');
}

export function renderDashboardSvg(
  dashboard: { title: string; panels: PanelSpec[] },
  run: SnapshotRun,
  dashboardPath: string,
): string {
  const times = run.scrapes.map((s) => s.atSec);
  const rows = Math.max(...dashboard.panels.map((p) => p.gridPos.y + p.gridPos.h));
  const height = HEADER_PX + rows * GRID_ROW_PX + PAD;
  const served = Object.entries(run.counts)
    .map(([k, n]) => `${k}: ${n}`)
    .join(', ');
  const subtitle = [
    `The panels of ${dashboardPath}, evaluated over 1 s scrapes of the gateway's admin /metrics (rates over ${RATE_WINDOW_SEC} s), during a real ${run.durationSec} s run on ${run.startedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC.`,
    `In one process on 127.0.0.1 (${run.machine.cpuCount} CPUs, load average ${run.machine.loadAverage.toFixed(1)}): the sandbox (${SANDBOX_LATENCY_MS} ms + up to ${SANDBOX_JITTER_MS} ms), one gateway (memory schedule; 30 reads/s + 5 writes/s at safety 0.95) and an open-loop load:`,
    `reads 15/s, 45/s from 25% to 75% of the run, then 15/s; 2 writes/s; 4 operator reads/s; 1 denied write/s, 1 request/s without a token, 0.5/s with a forged one.`,
    `Answers by kind and status: ${served}. The sandbox admitted at most ${run.upstream.maxReadsInAnySecond} reads and ${run.upstream.maxWritesInAnySecond} writes in any 1 s (sliding) and answered ${run.upstream.rejected} requests 429.`,
  ];
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" ${FONT}>`,
    `<rect width="${WIDTH}" height="${height}" fill="#f4f5f5"/>`,
    `<text x="${PAD}" y="24" font-size="19" font-weight="bold" fill="#1f2328">${escapeXml(`${dashboard.title}: dashboard panels from a real run`)}</text>`,
    ...subtitle.map(
      (line, i) => `<text x="${PAD}" y="${44 + i * 15}" font-size="11.5" fill="#444">${escapeXml(line)}</text>`,
    ),
    ...dashboard.panels.map((panel) => renderPanel(panel, panelSeries(panel, run.scrapes), times, run.durationSec)),
    '</svg>',
  ];
  return `${parts.join('\n')}\n`;
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const parsed = parseSnapshotArgs(process.argv.slice(2));
  if (!parsed.ok) {
    for (const problem of parsed.problems) process.stderr.write(`dashboard:snapshot: ${problem}\n`);
    process.stderr.write(`${SNAPSHOT_USAGE}\n`);
    process.exit(2);
  }
  const { options } = parsed;
  if (options.help) return void process.stdout.write(`${SNAPSHOT_USAGE}\n`);
  const dashboard = readDashboard(DASHBOARD_FILE);
  // Fail before the run, not after it, on a query the evaluator cannot read.
  for (const panel of dashboard.panels) for (const target of panel.targets) parseQuery(target.expr);
  process.stderr.write(`dashboard:snapshot: ${options.durationSec} s of load on 127.0.0.1\n`);
  const run = await runSnapshotLoad(options.durationSec);
  const svg = renderDashboardSvg(dashboard, run, path.relative(REPO_ROOT, DASHBOARD_FILE));
  const outFile = path.resolve(options.outFile);
  fs.mkdirSync(path.dirname(outFile), { recursive: true });
  fs.writeFileSync(outFile, svg);
  process.stdout.write(`saved ${path.relative(process.cwd(), outFile)}\n`);
  if (options.png && fs.existsSync(CONVERT)) {
    const pngFile = outFile.replace(/\.svg$/, '.png');
    execFileSync(CONVERT, ['-density', '96', '-background', 'white', outFile, pngFile], { stdio: 'inherit' });
    process.stdout.write(`saved ${path.relative(process.cwd(), pngFile)}\n`);
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(
      `dashboard:snapshot: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  });
}
