/**
 * The PrometheusRule (deploy/kubernetes/components/monitoring), as the production overlay renders
 * it, against a real gateway's /metrics: composed as the CLI composes it (`gatewayOptionsFor`, with
 * process metrics), on the compose policy, with a real Redis and the sandbox as upstream. Every
 * metric an alert reads is exported, with the labels the alert matches and groups by, and the label
 * values it compares with; each alert's annotations use only labels its result keeps. Then Redis
 * is killed and the fallback alert's series turns on.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { gatewayOptionsFor } from '../../../src/cli/main';
import { startGateway, type RunningGateway } from '../../../src/gateway/compose';
import { createLogger } from '../../../src/gateway/observability/logger';
import { readSettings } from '../../../src/gateway/settings';
import { startSandbox, type RunningSandbox } from '../../../src/sandbox';
import { parseExposition, type Sample } from '../../../bench/prometheus-text';
import { startRedisServer, type RedisServer } from '../../helpers/redis-server';
import { flag, gatewayServices, loadCompose, read, renderKustomization, resolvedPolicy, root } from './deploy-files';
import { anchors } from '../../unit/docs/markdown';
import { expressionParts, type ExpressionParts } from './promql-selectors';

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
const ruleManifest = renderKustomization(path.join(root, 'deploy/kubernetes/overlays/production')).find(
  (m) => m.manifest.kind === 'PrometheusRule',
)!.manifest as unknown as { spec: { groups: Array<{ name: string; rules: Rule[] }> } };
const rules = ruleManifest.spec.groups.flatMap((g) => g.rules);
const parsed = rules.map((rule) => ({ rule, parts: expressionParts(rule.expr) }));

/** Labels Prometheus adds to every series a PodMonitor scrapes (the Prometheus Operator's relabelling). */
const TARGET_LABELS = ['namespace', 'pod', 'container', 'endpoint', 'job', 'instance'];
const quiet = createLogger({ level: 'silent', destination: { write: () => undefined } });

let redis: RedisServer;
let sandbox: RunningSandbox;
let gateway: RunningGateway;
const hsSecret = randomBytes(32).toString('base64url');
const secretDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sg-alerts-'));

beforeAll(async () => {
  redis = await startRedisServer();
  sandbox = await startSandbox({ port: 0, logger: quiet });
  const [, service] = gatewayServices(loadCompose())[0]!;
  const configFile = flag(service.command, '--config')!;
  const secretFile = path.join(secretDir, 'jwt-hs-secret');
  fs.writeFileSync(secretFile, hsSecret);
  const policy = resolvedPolicy(
    read(configFile)
      .replace('http://sandbox:4010/api/v1', sandbox.apiBaseUrl)
      .replace('/run/secrets/strettch-gateway/jwt-hs-secret', secretFile),
    path.join(root, configFile),
    { readEnv: (name) => service.environment?.[name], readFile: (file) => fs.readFileSync(file, 'utf8') },
  );
  const settings = readSettings({
    ...service.environment,
    REDIS_URL: redis.url,
    HOST: '127.0.0.1',
    PORT: '0',
    ADMIN_PORT: '0',
    GATEWAY_WARM_UP_CONNECTIONS: '0',
  });
  if (!settings.ok) throw new Error(settings.problems.join('\n'));
  // The CLI's own composition (metrics with process metrics included), minus its signals and exit.
  gateway = await startGateway(gatewayOptionsFor(settings.settings, { policy, closers: [], banner: [] }, quiet));
  await until(async () =>
    (await scrape()).some(
      (s) => s.name === 'strettch_gateway_schedule_mode' && s.labels.mode === 'shared' && s.value === 1,
    ),
  );
}, 60_000);

afterAll(async () => {
  await gateway?.close();
  await sandbox?.close();
  await redis?.stop();
  fs.rmSync(secretDir, { recursive: true, force: true });
});

async function until(check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

let lastText = '';
/** Every series every scrape of this run saw: label values show once the gateway first writes them. */
const seenThisRun: Sample[] = [];
async function scrape(): Promise<Sample[]> {
  lastText = await (await fetch(`${gateway.adminUrl}/metrics`)).text();
  const samples = parseExposition(lastText);
  seenThisRun.push(...samples);
  return samples;
}

/** Metric families the scrape declares (`# TYPE name type`), with their series names. */
function families(text: string): Map<string, { type: string; series: string[] }> {
  const found = new Map<string, { type: string; series: string[] }>();
  for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    const series =
      type === 'histogram'
        ? ['_bucket', '_sum', '_count'].map((s) => name + s)
        : type === 'summary'
          ? [name!, `${name}_sum`, `${name}_count`]
          : [name!];
    found.set(name!, { type: type!, series });
  }
  return found;
}

/** The family a series name belongs to, and its label names as the gateway's registry defines them. */
function familyOf(series: string): { family: string; type: string; labels: string[] } | undefined {
  for (const [family, { type, series: names }] of families(lastText))
    if (names.includes(series)) {
      const metric = gateway.metrics.registry.getSingleMetric(family) as unknown as
        { labelNames?: string[] } | undefined;
      const labels = [
        ...(metric?.labelNames ?? []),
        ...(type === 'histogram' && series.endsWith('_bucket') ? ['le'] : []),
      ];
      return { family, type, labels };
    }
  return undefined;
}

/** What an alert's result keeps: its outermost `by (…)`, or, without one, the series' own and target labels. */
function keptLabels(parts: ExpressionParts): string[] {
  if (parts.firstBy) return parts.firstBy;
  return [...parts.selectors.flatMap((s) => familyOf(s.metric)?.labels ?? []), ...TARGET_LABELS];
}

describe('promql-selectors (the reader the checks below rely on)', () => {
  it.each([
    ['up', [['up', []]], []],
    [
      'sum by (namespace, class) (rate(a_total{mode="x", r=~"y|z"}[5m])) > 0',
      [['a_total', ['mode=x', 'r=~y|z']]],
      ['namespace', 'class'],
    ],
    [
      'sum(rate(a_total[5m])) / sum(rate(b_total[5m] offset 1h)) > 0.05 and c',
      [
        ['a_total', []],
        ['b_total', []],
        ['c', []],
      ],
      [],
    ],
    ['max without (pod) (g{a!="b"}) or vector(0)', [['g', ['a!=b']]], ['pod']],
  ])('%s', (expr, selectors, grouping) => {
    const parts = expressionParts(expr);
    expect(parts.selectors.map((s) => [s.metric, s.matchers.map((m) => `${m.label}${m.op}${m.value}`)])).toEqual(
      selectors,
    );
    expect(parts.grouping).toEqual(grouping);
  });
});

describe('deploy/kubernetes/components/monitoring/prometheusrule.yaml', () => {
  beforeAll(() => scrape());

  it('reads only metrics a running gateway exports', () => {
    for (const { rule, parts } of parsed) {
      expect(parts.selectors.length).toBeGreaterThan(0);
      for (const { metric } of parts.selectors)
        expect({ alert: rule.alert, metric, exported: familyOf(metric) !== undefined }).toEqual({
          alert: rule.alert,
          metric,
          exported: true,
        });
    }
  });

  it('matches and groups by labels those metrics have, or the scrape adds', () => {
    for (const { rule, parts } of parsed) {
      const own = parts.selectors.flatMap((s) => familyOf(s.metric)!.labels);
      for (const label of parts.grouping)
        expect({ alert: rule.alert, label, known: [...own, ...TARGET_LABELS].includes(label) }).toEqual({
          alert: rule.alert,
          label,
          known: true,
        });
      for (const { metric, matchers } of parts.selectors)
        for (const { label } of matchers) {
          expect({ alert: rule.alert, metric, label, known: familyOf(metric)!.labels.includes(label) }).toEqual({
            alert: rule.alert,
            metric,
            label,
            known: true,
          });
        }
    }
  });

  it('names in its annotations only labels its result keeps', () => {
    for (const { rule, parts } of parsed) {
      const kept = keptLabels(parts);
      const text = Object.values(rule.annotations ?? {}).join(' ');
      for (const [, label] of text.matchAll(/\$labels\.(\w+)/g))
        expect({ alert: rule.alert, label, kept: kept.includes(label!) }).toEqual({
          alert: rule.alert,
          label,
          kept: true,
        });
    }
  });

  it('gives every alert a severity, a summary, a description and a runbook section that exists', () => {
    const sections = anchors(read('docs/operations.md'));
    for (const rule of rules) {
      expect(['critical', 'warning', 'info']).toContain(rule.labels?.severity);
      expect(rule.annotations).toMatchObject({ summary: expect.any(String), description: expect.any(String) });
      const [file, anchor] = rule.annotations!.runbook!.split('#');
      expect(file).toBe('docs/operations.md');
      expect({ alert: rule.alert, anchor, exists: sections.has(anchor!) }).toEqual({
        alert: rule.alert,
        anchor,
        exists: true,
      });
    }
    expect(new Set(rules.map((r) => r.alert)).size).toBe(rules.length);
  });

  it.each([
    [
      'upstream 429s',
      (r: Rule) => r.expr.includes('strettch_gateway_upstream_429_total') && /\) > 0$/.test(r.expr.trim()),
    ],
    ['schedule in fallback', (r: Rule) => r.expr.includes('strettch_gateway_schedule_mode{mode="fallback"}')],
    ['queue saturation', (r: Rule) => r.expr.includes('strettch_gateway_schedule_waiting_requests')],
    ['deadline refusals', (r: Rule) => r.expr.includes('strettch_gateway_schedule_rejections_total')],
    ['authentication-failure spikes', (r: Rule) => r.expr.includes('strettch_gateway_auth_failures_total')],
    ['reload failures', (r: Rule) => r.expr.includes('strettch_gateway_config_reloads_total{result="error"}')],
    ['ledger unreachable', (r: Rule) => r.expr.includes('strettch_gateway_ledger_failures_total')],
  ])('alerts on %s', (_name, matches) => {
    expect(rules.filter(matches)).toHaveLength(1);
  });
});

describe('the fallback alert, with Redis gone', () => {
  const fallbackRule = rules.find((r) => r.expr.includes('mode="fallback"'))!;
  const [selector] = expressionParts(fallbackRule.expr).selectors;
  const fallbackValue = (samples: Sample[]) =>
    samples.find((s) => s.name === selector!.metric && selector!.matchers.every((m) => s.labels[m.label] === m.value))
      ?.value;

  it('reads 0 while the schedule is shared (the series exists from the start), and 1 once the replica has fallen back', async () => {
    expect(fallbackValue(await scrape())).toBe(0);
    await redis.kill();
    const token = jwt.sign({ sub: 'demo-reader' }, hsSecret, {
      algorithm: 'HS256',
      keyid: 'compose-hs',
      issuer: 'https://auth.compose.local',
      audience: 'strettch-gateway',
      expiresIn: 300,
    });
    // Requests make the schedule try Redis; the replica falls back within its command timeout.
    await until(async () => {
      await fetch(`${gateway.url}/api/v1/regions`, { headers: { authorization: `Bearer ${token}` } });
      return (fallbackValue(await scrape()) ?? 0) > 0;
    });
    expect(gateway.schedule.state().mode).toBe('fallback');
  }, 60_000);
});

describe('the label values the alerts compare with', () => {
  it('are values the gateway writes: seen in a scrape during this run (Redis lost included)', () => {
    for (const { rule, parts } of parsed)
      for (const { metric, matchers } of parts.selectors)
        for (const { label, op, value } of matchers) {
          if (op !== '=') continue;
          const seen = seenThisRun.some((s) => s.name === metric && s.labels[label] === value);
          expect({ alert: rule.alert, metric, label, value, seen }).toEqual({
            alert: rule.alert,
            metric,
            label,
            value,
            seen: true,
          });
        }
  });
});
