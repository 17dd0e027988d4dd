/**
 * `npm run bench:scale` (bench/scale*) in seconds: a tiny grid (varied one axis at a time) through the
 * compiled gateway and sandbox as processes, a real redis-server and load process, a 1 s idle TTL.
 * Checks what the figures rest on — every request answered, every key expiring, the idle keys gone,
 * the gateways' own counters read — not the timing, which is the bench's job.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { compileBenchInto, compileProductInto } from '../../helpers/compile-product';
import { createChildGroup, type ChildGroup } from '../../../bench/fleet/children';
import { renderChart } from '../../../bench/scale/chart';
import type { ScaleOptions } from '../../../bench/scale/options';
import { buildReport, formatReport, type ScaleReport } from '../../../bench/scale/report';
import { runScale } from '../../../bench/scale/run';

describe('bench:scale, a tiny grid', () => {
  const root = path.resolve(__dirname, '../../..');
  const distDir = path.join(root, '.test-build', 'scale');
  const benchOut = path.join(root, '.test-build', 'scale-bench');
  const benchDir = path.join(benchOut, 'bench');
  let workDir: string;
  let group: ChildGroup;
  let report: ScaleReport;

  beforeAll(async () => {
    compileProductInto(distDir);
    compileBenchInto(benchOut);
    workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sg-scale-'));
    group = createChildGroup();
    const options: ScaleOptions = {
      callers: [4, 90],
      accounts: [1, 6],
      grid: 'axes',
      phaseSec: 2,
      ratePerSec: 30,
      idleTtlSec: 1,
      expiryWaitSec: 10,
      outFile: path.join(workDir, 'scale.json'),
      chartFile: path.join(workDir, 'scale.svg'),
      keepLogs: false,
      help: false,
    };
    const run = await runScale(options, { distDir, benchDir, workDir, group, log: () => undefined });
    report = buildReport(
      run,
      options,
      {
        node: process.version,
        platform: process.platform,
        cpuCount: os.cpus().length,
        cpuModel: 'test',
        loadAverage: [],
      },
      new Date(),
    );
  }, 180_000);

  afterAll(async () => {
    await group?.stopAll();
    if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
  });

  it('measures each point of the grid, one axis at a time, every request answered 200 both ways', () => {
    expect(report.points.map((p) => [p.callers, p.accounts, p.activeAccounts])).toEqual([
      [4, 1, 1],
      // 4 callers over 6 accounts: two accounts idle.
      [4, 6, 4],
      [90, 1, 1],
    ]);
    // 30/s for 2 s, but 3 s through the gateways for 90 callers: each of them reached once.
    expect(report.points.map((p) => p.requests)).toEqual([60, 60, 90]);
    for (const [i, point] of report.points.entries()) {
      expect(point).toMatchObject({ ok: point.requests, failures: {} });
      expect(report.raw[i]!.baseline.statuses).toEqual({ 200: 60 });
      expect(point.p50Ms).toBeGreaterThan(0);
      expect(point.baselineP50Ms).toBeGreaterThanOrEqual(20); // the sandbox's fixed latency
      expect(point.rssEndMb).toHaveLength(3);
      expect(point.gatewayCpuSec).toBeGreaterThan(0);
      // Every request took a slot on the shared schedule: one EVALSHA each at least, from the gateways' own count.
      expect(report.raw[i]!.replicas.reduce((sum, r) => sum + r.redisRoundTrips!, 0)).toBeGreaterThanOrEqual(60);
      expect(report.raw[i]!.commandsProcessed).toBeGreaterThanOrEqual(60);
    }
  });

  it('finds one schedule (three keys: state, calendar, caller index) per busy account, every key expiring', () => {
    for (const point of report.raw) {
      expect(point.keys.scheduleKeys).toBe(3 * point.activeAccounts);
      expect(point.keys.withoutExpiryCount).toBe(0);
      expect(point.keys.scheduleBytes).toBeGreaterThan(0);
      // The idle TTL past the furthest slot (at most a caller's maxWaitMs ahead), no more.
      expect(point.keys.maxTtlMs).toBeLessThanOrEqual(1000 + 2000);
    }
  });

  it('watches the idle accounts: every schedule key gone within the wait, its state back to 0 bytes', () => {
    expect(report.expiry).not.toBeNull();
    const { samples, scheduleKeysGoneAtSec, point } = report.expiry!;
    expect(point).toEqual({ callers: 90, accounts: 1 });
    expect(samples[0]!.scheduleKeys).toBe(3);
    expect(scheduleKeysGoneAtSec).not.toBeNull();
    expect(samples[samples.length - 1]).toMatchObject({ scheduleKeys: 0, scheduleBytes: 0 });
    expect(report.targets.find((t) => t.name.startsWith("an idle account's"))!.met).toBe(true);
  });

  it('prints the table and draws the chart from the report', () => {
    const text = formatReport(report);
    expect(text.split('\n').filter((line) => /^(4|90) +(1|6)/.test(line))).toHaveLength(3);
    expect(text).toContain('p50 within 10 % from 4 to 90 callers (1 accounts)');
    expect(renderChart(report)).toContain('</svg>');
  });
});
