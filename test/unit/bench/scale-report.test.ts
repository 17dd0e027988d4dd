import type { PhaseSummary } from '../../../bench/latency-stats';
import type { ScaleLoadResult } from '../../../bench/scale/load';
import { renderChart } from '../../../bench/scale/chart';
import { buildReport, checkTargets, formatReport, pointFigures, type PointFigures } from '../../../bench/scale/report';
import type { ExpiryWatch, PointMeasurement } from '../../../bench/scale/run';
import { SCALE_DEFAULTS } from '../../../bench/scale/options';

const MB = 1024 * 1024;

function load(p50Ms: number, p99Ms: number, statuses: Record<string, number> = { 200: 400 }): ScaleLoadResult {
  const latency: PhaseSummary = {
    okCount: statuses['200'] ?? 0,
    errorCount: 0,
    elapsedMs: 2000,
    requestsPerSecond: 200,
    meanMs: p50Ms,
    p50Ms,
    p90Ms: p99Ms,
    p99Ms,
    maxMs: p99Ms,
  };
  return {
    count: 400,
    latency,
    statuses,
    clientErrors: {},
    sendLagP99Ms: 0.4,
    sendLagMaxMs: 1,
  };
}

function measurement(callers: number, accounts: number, over: Partial<PointMeasurement> = {}): PointMeasurement {
  return {
    callers,
    accounts,
    activeAccounts: Math.min(callers, accounts),
    baseline: load(21, 24),
    gateway: load(24.5, 30),
    replicas: [0, 1, 2].map((r) => ({
      rssStartBytes: 100 * MB,
      rssEndBytes: (104 + r) * MB,
      cpuStartSec: 1,
      cpuEndSec: 1.5,
      redisRoundTrips: 134,
    })),
    emptyUsedMemoryBytes: 900_000,
    emptyDatasetBytes: 38_000,
    usedMemoryBytes: 1_000_000,
    datasetBytes: 100_000,
    commandsProcessed: 4000,
    loadElapsedMs: 2000,
    keys: {
      total: 2,
      scheduleKeys: 2,
      byPattern: {},
      bytes: 5000,
      scheduleBytes: 5000,
      withoutExpiry: [],
      withoutExpiryCount: 0,
      maxTtlMs: 60_010,
    },
    ...over,
  };
}

describe('bench:scale figures', () => {
  it('added latency over the baseline, RSS growth per replica, decisions per CPU second, Redis per second', () => {
    const f = pointFigures(
      measurement(1000, 10, { gateway: load(24.5, 30, { 200: 390, 429: 6 }), activeAccounts: 10 }),
    );
    expect(f).toMatchObject({
      callers: 1000,
      accounts: 10,
      requests: 400,
      ok: 390,
      failures: { 429: 6 },
      baselineP50Ms: 21,
      p50Ms: 24.5,
      addedP50Ms: 3.5,
      addedP99Ms: 6,
      rssEndMb: [104, 105, 106],
      rssGrowthMb: [4, 5, 6],
      gatewayCpuSec: 1.5,
      // 390 answered over 1.5 CPU seconds of the three replicas together.
      decisionsPerCoreSec: 260,
      scheduleStateBytes: 5000,
      redisMemoryOverEmptyBytes: 100_000,
      redisCommandsPerSec: 2000,
      redisRoundTripsPerSec: 201,
      keysWithoutExpiry: 0,
    });
    // A client error (no answer) is a failure too, by reason.
    const withErrors = measurement(10, 1, { gateway: { ...load(24, 30), clientErrors: { timeout: 2 } } });
    expect(pointFigures(withErrors).failures).toEqual({ timeout: 2 });
    // A gateway without the round-trip counter: unknown, not zero.
    const noCounter = measurement(10, 1);
    noCounter.replicas[1]!.redisRoundTrips = null;
    expect(pointFigures(noCounter).redisRoundTripsPerSec).toBeNull();
  });

  const figures = (p50At10k: number, rssAt10kMb: number): PointFigures[] => [
    pointFigures(measurement(10, 1)),
    pointFigures(measurement(1000, 1)),
    pointFigures(
      measurement(10_000, 1, {
        gateway: load(p50At10k, 40),
        replicas: [0, 1, 2].map(() => ({
          rssStartBytes: 100 * MB,
          rssEndBytes: rssAt10kMb * MB,
          cpuStartSec: 0,
          cpuEndSec: 1,
          redisRoundTrips: 0,
        })),
      }),
    ),
  ];
  const expiry = (goneAtSec: number | null): ExpiryWatch => ({
    point: { callers: 10_000, accounts: 1 },
    idleTtlMs: 60_000,
    samples: [
      { atSec: 0, dbsize: 2, scheduleKeys: 2, scheduleBytes: 900_000, usedMemoryOverEmptyBytes: 1_200_000 },
      {
        atSec: 61,
        dbsize: goneAtSec === null ? 2 : 0,
        scheduleKeys: goneAtSec === null ? 2 : 0,
        scheduleBytes: goneAtSec === null ? 900_000 : 0,
        usedMemoryOverEmptyBytes: 20_000,
      },
    ],
    scheduleKeysGoneAtSec: goneAtSec,
  });

  it('judges the targets from the fewest to the most callers at the same accounts', () => {
    const met = checkTargets(figures(26.9, 150), expiry(61));
    expect(met.map((c) => [c.name, c.met])).toEqual([
      ['p50 within 10 % from 10 to 10000 callers (1 accounts)', true],
      ['RSS growth < 50 MB from 10 to 10000 callers (1 accounts)', true],
      ["an idle account's Redis memory returns to ~0", true],
    ]);
    expect(met[0]!.detail).toBe('24.5 → 26.9 ms (+9.8 %)');
    expect(met[1]!.detail).toBe('largest replica 106 → 150 MB (+44.0 MB)');
    expect(met[2]!.detail).toContain('state 878.9 KB → 0, every schedule key gone 61 s after the load');

    const missed = checkTargets(figures(27, 157), expiry(null));
    expect(missed.map((c) => c.met)).toEqual([false, false, false]);
    expect(missed[2]!.detail).toBe('2 schedule keys (878.9 KB) left after 61 s');
  });

  it('says when the grid cannot judge a target, rather than passing it', () => {
    const checks = checkTargets([pointFigures(measurement(10, 1)), pointFigures(measurement(10, 5))], null);
    expect(checks.map((c) => c.met)).toEqual([null, null]);
  });

  it('the report: settings, figures, targets, raw measurements; the table names every point and target', () => {
    const run = { points: [measurement(10, 1), measurement(100, 1)], expiry: expiry(61) };
    const report = buildReport(
      run,
      { ...SCALE_DEFAULTS, callers: [10, 100], accounts: [1] },
      { node: 'v20', platform: 'linux/x64', cpuCount: 2, cpuModel: 'test', loadAverage: [0, 0, 0] },
      new Date('2026-12-03T10:00:00Z'),
    );
    expect(report).toMatchObject({
      bench: 'scale',
      startedAt: '2026-12-03T10:00:00.000Z',
      settings: { callers: [10, 100], accounts: [1], ratePerSec: 250, phaseSec: 8, idleTtlSec: null },
      raw: run.points,
    });
    expect(report.points).toHaveLength(2);
    const text = formatReport(report);
    expect(text).toMatch(/^10 +1 +400\/400 +24\.5 \(\+3\.5\)/m);
    expect(text).toMatch(/^100 +1 /m);
    expect(text).toContain('met   p50 within 10 % from 10 to 100 callers (1 accounts)');
    expect(text).toContain("met   an idle account's Redis memory returns to ~0");

    const svg = renderChart(report);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    // Three panels; p50 and p99 with the baseline dashed beside each; one legend entry per accounts value.
    expect(svg.match(/<g transform/g)).toHaveLength(3);
    expect(svg.match(/stroke-dasharray="5 4"/g)).toHaveLength(2);
    expect(svg).toContain('1 account<');
    expect(svg).toContain('>100<');
  });
});
