/**
 * The status page in a real headless Chromium (Debian's, driven by playwright-core) while a small
 * fleet runs through two gateways sharing a real, password-protected Redis and the sandbox upstream.
 * The numbers the page shows are read from its DOM and held to a `/metrics` scrape of the same
 * gateway taken at the same settled moment; while the fleet runs, the chart and the fleet count move.
 *
 * `STATUS_SCREENSHOT=1` also writes docs/status.png (`npm run docs:status`), taken while the fleet
 * runs, which then runs for 20 s so that the chart has something to show.
 */
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { StatusDocument } from '../../../src/gateway/observability/status';
import {
  drive,
  fleetsForFile,
  READ_TARGET,
  sumMetric,
  waitUntil,
  WRITE_TARGET,
  type Fleet,
} from '../../helpers/fleet-harness';
import type { RedisServer } from '../../helpers/redis-server';

const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const ACCOUNT = 'main';
const REDIS_PASSWORD = `redis-pw-${Math.random().toString(36).slice(2)}`;
const SCREENSHOT = process.env.STATUS_SCREENSHOT ? path.join(__dirname, '../../../docs/status.png') : undefined;
const RUN_MS = SCREENSHOT ? 20_000 : 4000;

/** What the page shows, read back from its DOM by `data-testid`. */
interface PageReading {
  refreshes: number;
  generatedAtMs: number;
  policyVersion: string;
  policyReload: string;
  scheduleMode: string;
  schedules: Array<{
    account: string;
    class: string;
    sentTotal: number;
    sent10s: number;
    fleet1s: string;
    waiting: number;
    state: string;
    upstream429: number;
    chart: number[];
    fleetLine: number[];
  }>;
  callers: Array<{ caller: string; requestsTotal: number; requests1m: number; denials: Record<string, number> }>;
}

/**
 * Runs in the page (as source text: this project's TypeScript has no DOM types) and reads what it
 * shows, by `data-testid`.
 */
const READ_PAGE = `(() => {
  const text = (root, id) => root.querySelector('[data-testid="' + id + '"]')?.textContent?.trim() ?? '';
  const int = (root, id) => Number.parseInt(text(root, id), 10);
  const rows = (id) => [...document.querySelectorAll('[data-testid="' + id + '"]')];
  return {
    refreshes: Number(document.body.dataset.refreshes),
    generatedAtMs: Number(document.querySelector('[data-testid="generated-at"]').dataset.ms),
    policyVersion: text(document.body, 'policy-version'),
    policyReload: text(document.body, 'policy-reload'),
    scheduleMode: text(document.body, 'schedule-mode'),
    schedules: rows('schedule-row').map((r) => ({
      account: r.dataset.account,
      class: r.dataset.class,
      sentTotal: int(r, 'sent-total'),
      sent10s: int(r, 'sent-10s'),
      fleet1s: text(r, 'fleet-1s'),
      waiting: int(r, 'waiting'),
      state: r.querySelector('[data-testid="state"]').dataset.state,
      upstream429: int(r, 'upstream-429'),
      chart: (r.querySelector('[data-testid="chart"]').getAttribute('data-points') ?? '').split(',').map(Number),
      fleetLine: (r.querySelector('[data-testid="fleet-line"]')?.getAttribute('data-readings') ?? '')
        .split(',').filter((v) => v !== '').map(Number),
    })),
    callers: rows('caller-row').map((r) => ({
      caller: r.dataset.caller,
      requestsTotal: int(r, 'requests-total'),
      requests1m: int(r, 'requests-1m'),
      denials: Object.fromEntries(
        [...r.querySelectorAll('[data-testid="denial"]')].map((d) => [
          d.dataset.reason,
          Number(d.querySelector('[data-testid="denial-count"]').textContent),
        ]),
      ),
    })),
  };
})()`;

const readPage = (page: Page): Promise<PageReading> => page.evaluate<PageReading>(READ_PAGE);

/** Waits for `count` more refreshes than the page had when called: the DOM then shows a newer document. */
async function nextRefreshes(page: Page, count: number): Promise<void> {
  // Polled from here: the page's CSP forbids the string evaluation `waitForFunction` would run in it.
  const refreshes = async () => Number(await page.evaluate<string>('document.body.dataset.refreshes'));
  const target = (await refreshes()) + count;
  await waitUntil(async () => (await refreshes()) >= target, 5000, 50);
}

const files = fleetsForFile();
let fleet: Fleet;
let browser: Browser;
let redis: RedisServer;

beforeAll(async () => {
  redis = await files.redis();
  await redis.command('CONFIG', 'SET', 'requirepass', REDIS_PASSWORD);
  fleet = await files.fleet({
    gateways: 2,
    accountId: ACCOUNT,
    redisUrl: `redis://:${REDIS_PASSWORD}@127.0.0.1:${redis.port}`,
    limits: { read: 20, write: 4, safety: 0.9 },
    callers: {
      billing: { weight: 3 },
      reports: { weight: 1 },
      // May read the catalog only: its reboots are refused (403, missing scope).
      dashboard: { scopes: ['catalog:read'] },
      // Over its quota after 4 requests a minute (429).
      'nightly-batch': { requestsPerMinute: 4 },
    },
  });
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
}, 30_000);

afterAll(async () => {
  await browser?.close();
});

const admin = (index: number) => `http://127.0.0.1:${fleet.gateways[index]!.adminPort}`;

describe('GET /status and /status.json', () => {
  it('are served on the admin port only: the proxy port answers them like any unknown path', async () => {
    for (const target of ['/status', '/status.json', '/status/events']) {
      const reply = await fleet.request(0, 'GET', target, { caller: 'billing' });
      expect(reply.status).toBe(404);
      expect(reply.body).toMatchObject({ code: 'ROUTE_NOT_FOUND' });
    }
    const page = await fleet.request(0, 'GET', '/status', { admin: true });
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['content-security-policy']).toMatch(/^default-src 'none'; script-src 'sha256-[^']+'; /);
    const json = await fleet.request(0, 'GET', '/status.json', { admin: true });
    expect(json.status).toBe(200);
    const doc = json.body as StatusDocument;
    expect(doc.policy.version).toMatch(/^[0-9a-f]{12}$/);
    // Both replicas run the same policy: the same version.
    const other = (await fleet.request(1, 'GET', '/status.json', { admin: true })).body as StatusDocument;
    expect(other.policy.version).toBe(doc.policy.version);
    expect(doc.schedules.map((s) => `${s.account}/${s.class}`)).toEqual([`${ACCOUNT}/read`, `${ACCOUNT}/write`]);
  });

  it('shows live numbers in a real browser that match the metrics, and no secret', async () => {
    const page = await browser.newPage({ viewport: { width: 1500, height: 640 } });
    const consoleErrors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => consoleErrors.push(e.message));
    await page.goto(`${admin(0)}/status`);
    await nextRefreshes(page, 1);
    await fleet.warmUp('billing');

    // A small fleet: two weighted readers on both gateways, a writer, and callers that get refused.
    const untilMs = Date.now() + RUN_MS;
    const load = drive(
      fleet,
      [
        { caller: 'billing', gateway: 0, workers: 4 },
        { caller: 'reports', gateway: 0, workers: 4 },
        { caller: 'billing', gateway: 1, workers: 3 },
        { caller: 'billing', gateway: 0, workers: 1, kind: 'write' },
      ],
      untilMs,
    );
    const refusals = (async () => {
      for (let i = 0; i < 3; i += 1) await fleet.request(0, 'POST', WRITE_TARGET, { caller: 'dashboard' });
      for (let i = 0; i < 7; i += 1) await fleet.request(0, 'GET', READ_TARGET, { caller: 'nightly-batch' });
      await fleet.request(0, 'GET', READ_TARGET, { authorization: 'Bearer not-a-token' });
    })();

    // While it runs: the chart fills and the fleet's count (both gateways, from Redis) moves.
    const during: PageReading[] = [];
    while (Date.now() < untilMs - 500) {
      await nextRefreshes(page, 1);
      during.push(await readPage(page));
    }
    if (SCREENSHOT) await page.screenshot({ path: SCREENSHOT, fullPage: true });
    const sent = await load;
    await refusals;
    expect(during.length).toBeGreaterThanOrEqual(2);
    const readRows = during.map((r) => r.schedules.find((s) => s.class === 'read')!);
    const charts = readRows.map((r) => r.chart.join(','));
    expect(new Set(charts).size).toBeGreaterThan(1);
    expect(Math.max(...readRows.at(-1)!.chart)).toBeGreaterThan(0);
    const fleetCounts = readRows.map((r) => Number(r.fleet1s));
    expect(Math.max(...fleetCounts)).toBeGreaterThan(0);
    // Never more slots in a second than the key allows (20/s), whichever replica took them.
    expect(Math.max(...fleetCounts)).toBeLessThanOrEqual(20);
    // The green line: the fleet's readings since the page opened, the latest one shown in the column.
    const lastRead = readRows.at(-1)!;
    expect(lastRead.fleetLine.length).toBeGreaterThanOrEqual(during.length);
    expect(lastRead.fleetLine.at(-1)).toBe(Number(lastRead.fleet1s));
    expect(sent.filter((s) => s.queueWaitMs !== undefined).length).toBeGreaterThan(20);

    // A refused reload shows on the page.
    expect((await fleet.gateways[0]!.gateway.reload()).ok).toBe(false);

    // Settled: nothing in flight. Two more refreshes, then the page and a scrape at the same moment.
    await waitUntil(async () => (await fleet.metric(0, 'strettch_gateway_schedule_waiting_requests')) === 0, 3000);
    await nextRefreshes(page, 2);
    const [shown, metrics] = await Promise.all([
      readPage(page),
      fleet.request(0, 'GET', '/metrics', { admin: true }).then((r) => String(r.body)),
    ]);
    const metric = (name: string, labels: Record<string, string> = {}) => sumMetric(metrics, name, labels);

    for (const row of shown.schedules) {
      const queue = { account: row.account, class: row.class };
      expect(row.sentTotal).toBe(metric('strettch_gateway_queue_wait_seconds_count', queue));
      expect(row.waiting).toBe(metric('strettch_gateway_schedule_waiting_requests', queue));
      expect(row.upstream429).toBe(metric('strettch_gateway_upstream_429_total', queue));
      expect(row.state).toBe('running');
    }
    expect(shown.schedules.find((s) => s.class === 'read')!.sentTotal).toBeGreaterThan(20);
    expect(shown.schedules.find((s) => s.class === 'write')!.sentTotal).toBeGreaterThan(0);

    const byCaller = new Map(shown.callers.map((c) => [c.caller, c]));
    for (const caller of ['billing', 'reports', 'dashboard', 'nightly-batch', 'anonymous'])
      expect(byCaller.get(caller)?.requestsTotal).toBe(metric('strettch_gateway_requests_total', { caller }));
    const denials = (caller: string) => byCaller.get(caller)!.denials;
    const sum = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);
    // By reason, against the counters the gateway keeps for the same refusals.
    expect(sum(denials('dashboard'))).toBe(3);
    expect(sum(denials('dashboard'))).toBe(metric('strettch_gateway_rejections_total', { reason: 'FORBIDDEN' }));
    // Refused before any caller is known: the bad token, and the first test's unknown paths (when it ran).
    expect(denials('anonymous')['auth-malformed']).toBe(1);
    expect(denials('anonymous')['target-outside-base-path'] ?? 0).toBe(
      metric('strettch_gateway_rejections_total', { reason: 'ROUTE_NOT_FOUND' }),
    );
    expect(denials('anonymous')['auth-malformed']).toBe(
      metric('strettch_gateway_rejections_total', { reason: 'UNAUTHORIZED' }),
    );
    expect(denials('anonymous')['auth-malformed']).toBe(
      metric('strettch_gateway_auth_failures_total', { reason: 'malformed' }),
    );
    const scheduleRefusals = shown.callers.flatMap((c) =>
      Object.entries(c.denials).filter(([reason]) => reason.startsWith('schedule-')),
    );
    expect(scheduleRefusals.reduce((a, [, n]) => a + n, 0)).toBe(metric('strettch_gateway_schedule_rejections_total'));
    expect(sum(denials('nightly-batch'))).toBe(3);
    expect(sum(denials('nightly-batch')) + sum(Object.fromEntries(scheduleRefusals))).toBe(
      metric('strettch_gateway_rejections_total', { reason: 'TOO_MANY_REQUESTS' }),
    );
    expect(shown.callers.reduce((a, c) => a + sum(c.denials), 0)).toBe(metric('strettch_gateway_rejections_total'));
    expect(shown.policyReload).toMatch(/^refused at \d\d:\d\d:\d\dZ \(1 problem;/);
    expect(shown.policyVersion).toMatch(/^[0-9a-f]{12}$/);
    expect(consoleErrors).toEqual([]);

    // No secret anywhere: not the account's key, the HS256 secret, a token or the Redis password.
    const html = await page.content();
    const json = JSON.stringify((await fleet.request(0, 'GET', '/status.json', { admin: true })).body);
    for (const secret of [...fleet.secrets, REDIS_PASSWORD, fleet.token('billing'), fleet.token('dashboard')]) {
      expect(html).not.toContain(secret);
      expect(json).not.toContain(secret);
    }

    await page.close();
  }, 60_000);

  it('shows the fallback and since when while Redis is lost, and the shared schedule once it is back', async () => {
    const page = await browser.newPage();
    await page.goto(`${admin(0)}/status`);
    await nextRefreshes(page, 1);
    const state = async () => (await readPage(page)).schedules.find((s) => s.class === 'read')!.state;
    expect(await state()).toBe('running');

    const lostAtMs = Date.now();
    await redis.kill();
    await fleet.request(0, 'GET', READ_TARGET, { caller: 'billing' });
    await waitUntil(async () => (await state()) === 'fallback', 5000, 100);
    const [shown, metrics] = await Promise.all([
      readPage(page),
      fleet.request(0, 'GET', '/metrics', { admin: true }).then((r) => String(r.body)),
    ]);
    expect(sumMetric(metrics, 'strettch_gateway_schedule_mode', { mode: 'fallback' })).toBe(1);
    expect(shown.scheduleMode).toMatch(/^fallback since \d\d:\d\d:\d\dZ/);
    for (const row of shown.schedules) {
      expect(row.state).toBe('fallback');
      expect(row.fleet1s).toBe('—');
    }
    const doc = (await fleet.request(0, 'GET', '/status.json', { admin: true })).body as StatusDocument;
    expect(doc.schedules[0]!.stateSinceMs).toBeGreaterThanOrEqual(lostAtMs);
    expect(JSON.stringify(doc)).not.toContain(REDIS_PASSWORD);

    // A restarted server has forgotten its CONFIG SET password until it is set again: the gateways
    // may reconnect in between, and the Redis client warns that a password was not needed.
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    await redis.restart();
    await redis.command('CONFIG', 'SET', 'requirepass', REDIS_PASSWORD);
    await waitUntil(async () => (await state()) === 'running', 15_000, 200);
    warn.mockRestore();
    expect(await fleet.metric(0, 'strettch_gateway_schedule_mode', { mode: 'shared' })).toBe(1);
    await page.close();
  }, 30_000);
});
