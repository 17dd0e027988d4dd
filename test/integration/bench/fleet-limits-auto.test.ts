/**
 * `npm run bench:fleet -- --scenarios limits-auto` in seconds: one short run through the compiled
 * gateways, sandbox, baseline replicas and load process, on a real redis-server. Checks what the
 * scenario's figures rest on — the switch made and recorded, the referee's decisions read, the
 * adoption seen in the gateways' logs and /metrics, the report and chart built — and the issue's
 * two targets for ours; the full figures are the bench's job.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { compileBenchInto, compileProductInto } from '../../helpers/compile-product';
import { createChildGroup, type ChildGroup } from '../../../bench/fleet/children';
import { renderChart } from '../../../bench/fleet/chart';
import { FLEET_DEFAULTS, type FleetOptions } from '../../../bench/fleet/options';
import { buildReport, formatReport } from '../../../bench/fleet/report';
import type { FleetRuns } from '../../../bench/fleet/results';
import { runFleet } from '../../../bench/fleet/run';

describe('bench:fleet limits-auto, one short run', () => {
  const root = path.resolve(__dirname, '../../..');
  const distDir = path.join(root, '.test-build', 'fleet-limits-auto');
  const benchOut = path.join(root, '.test-build', 'fleet-limits-auto-bench');
  const benchDir = path.join(benchOut, 'bench');
  const options: FleetOptions = {
    ...FLEET_DEFAULTS,
    runs: 1,
    scenarios: ['limits-auto'],
    durationSec: 7,
    warmupSec: 1,
    switchAtSec: 3,
    workers: 12,
  };
  let workDir: string;
  let group: ChildGroup;
  let result: FleetRuns;

  beforeAll(async () => {
    compileProductInto(distDir);
    compileBenchInto(benchOut);
    workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sg-fleet-auto-'));
    group = createChildGroup();
    result = await runFleet(options, { distDir, benchDir, workDir, group, log: () => undefined });
  }, 180_000);

  afterAll(async () => {
    await group?.stopAll();
    if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
  });

  it('switches the sandbox to current mid-phase, in both phases, and times the adaptation from the referee', () => {
    const scenario = result.runs[0]!.scenarios[0]!;
    for (const phase of [scenario.ours, scenario.baseline]) {
      const r = phase.limitsSwitch!;
      expect(r).toMatchObject({ profile: 'current', limitsPerSecond: { all: 2 } });
      expect(r.switchAtMs).toBeGreaterThanOrEqual(3000);
      expect(r.switchAtMs).toBeLessThan(3500);
      // The referee's decisions since the switch: every 429 of the phase after it is among them.
      expect(r.adaptation.upstream429).toBeLessThanOrEqual(phase.figures.upstream429);
      expect(r.adaptation.arrivals).toBeGreaterThan(0);
    }
    // The baseline keeps sending at 30/5 per second: refused, and never within the new limit.
    expect(scenario.baseline.limitsSwitch!.adaptation.upstream429).toBeGreaterThan(1);
    expect(scenario.baseline.limitsSwitch!.adaptation.maxInAnySecond).toBeGreaterThan(2);
  });

  it('ours: at most one upstream 429, adapted within 2 s, logged once and exported by every gateway', () => {
    const ours = result.runs[0]!.scenarios[0]!.ours;
    const verdicts = Object.fromEntries(ours.checks.map((c) => [c.target, c.pass]));
    const context = JSON.stringify({ limitsSwitch: ours.limitsSwitch, contention: ours.contention });
    expect({ verdicts, context }).toMatchObject({
      verdicts: {
        '≤ 1 upstream 429 (the provider lowers its limits mid-phase)': true,
        'adapts within 2 s (every 1000 ms window from then on ≤ the new limit)': true,
        'change logged once, counted once, new limit exported by every replica': true,
      },
    });
    const adoption = ours.limitsSwitch!.adoption!;
    expect(adoption.logLines).toEqual([
      expect.objectContaining({ from: 'read 30/s, write 5/s', to: 'all 2/s' }) as unknown,
    ]);
    expect(adoption.exported).toEqual([
      { all: 2, read: 0, write: 0 },
      { all: 2, read: 0, write: 0 },
      { all: 2, read: 0, write: 0 },
    ]);
  });

  it('prints the switch in the table and draws it on the chart', () => {
    const machine = {
      node: process.version,
      platform: process.platform,
      cpuCount: 2,
      cpuModel: 'test',
      loadAverage: [],
    };
    const report = buildReport(result, options, machine, new Date());
    expect(report.summary[0]!.ours.limitsSwitch!.replicasExportingNewLimit!.median).toBe(3);
    const text = formatReport(report, options);
    expect(text).toContain('limits switch: adapted after, ms');
    expect(text).toMatch(/limits switch, ours: sandbox on current \{"all":2\} at 3\.\d s/);
    expect(renderChart(report)).toContain('provider → 2/s all');
  });
});
