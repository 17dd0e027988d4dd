import { renderChart } from '../../../bench/fleet/chart';
import { FLEET_DEFAULTS } from '../../../bench/fleet/options';
import { buildReport, formatReport, formatSpread } from '../../../bench/fleet/report';
import { combineChecks, spread, summarizeRuns } from '../../../bench/fleet/summary';
import { fleetRun, scenarioResult } from './fleet-fixtures';

const MACHINE = { node: 'v20', platform: 'linux/x64', cpuCount: 2, cpuModel: 'test', loadAverage: [1, 1, 1] };

describe('spread over runs', () => {
  it('gives the median and the range', () => {
    expect(spread([3, 1, 2])).toEqual({ median: 2, min: 1, max: 3, runs: [3, 1, 2] });
    expect(spread([1, 10, 2, 3])).toMatchObject({ median: 2.5, min: 1, max: 10 });
    expect(spread([0.95])).toEqual({ median: 0.95, min: 0.95, max: 0.95, runs: [0.95] });
  });

  it('leaves unknown figures out, but keeps their place per run', () => {
    expect(spread([1, null, Number.NaN, 3])).toEqual({ median: 2, min: 1, max: 3, runs: [1, null, null, 3] });
    expect(spread([null, Number.NaN])).toBeNull();
    expect(spread([])).toBeNull();
  });

  it('prints the median, and the range only when the runs differ', () => {
    expect(formatSpread(spread([0, 0, 0]), String)).toBe('0');
    expect(formatSpread(spread([1.02, 0.98, 1.1]), (x) => x.toFixed(2))).toBe('1.02 (0.98–1.10)');
    expect(formatSpread(null, String)).toBe('n/a');
    expect(formatSpread(null, String, '–')).toBe('–');
  });
});

describe('targets over runs', () => {
  const check = (pass: boolean | null, value = 'v') => ({ target: 't', value, pass });

  it('passes only if every run that judged it passed', () => {
    expect(combineChecks([[check(true)], [check(true)], [check(true)]])[0]).toMatchObject({
      pass: true,
      passedRuns: 3,
      judgedRuns: 3,
    });
    expect(combineChecks([[check(true)], [check(false, 'bad')], [check(true)]])[0]).toEqual({
      target: 't',
      pass: false,
      passedRuns: 2,
      judgedRuns: 3,
      values: ['v', 'bad', 'v'],
    });
    expect(combineChecks([[check(null)], [check(null)]])[0]).toMatchObject({ pass: null, judgedRuns: 0 });
    expect(combineChecks([[check(null)], [check(true)]])[0]).toMatchObject({
      pass: true,
      passedRuns: 1,
      judgedRuns: 1,
    });
  });
});

describe('summarizeRuns', () => {
  const runs = [
    fleetRun(1, [scenarioResult('fixed'), scenarioResult('restart', { client: { transportErrors: 300 } })]),
    fleetRun(2, [scenarioResult('fixed', { write: { upstream429: 2 } }), scenarioResult('restart')]),
    fleetRun(3, [
      scenarioResult('fixed', { redis: { scheduleRoundTripsPerDecision: 1.05 } }),
      scenarioResult('restart'),
    ]),
  ];

  it('gives each headline figure per scenario as a median with its spread', () => {
    const [fixed, restart] = summarizeRuns(runs);
    expect(fixed!.name).toBe('fixed');
    expect(restart!.name).toBe('restart');
    expect(fixed!.runs).toBe(3);
    expect(fixed!.ours.figures.upstream429Write).toEqual({ median: 0, min: 0, max: 2, runs: [0, 2, 0] });
    expect(fixed!.ours.figures.scheduleRoundTripsPerDecision).toMatchObject({ median: 1, min: 1, max: 1.05 });
    expect(fixed!.ours.figures.ledgerRoundTripsPerCreate).toMatchObject({ median: 2 });
    expect(Object.keys(fixed!.ours.figures)).toEqual([
      'upstream429Read',
      'upstream429Write',
      'maxInAnySecondRead',
      'maxInAnySecondWrite',
      'utilizationRead',
      'utilizationWrite',
      'scheduleRoundTripsPerDecision',
      'ledgerRoundTripsPerCreate',
    ]);
  });

  it('fails a scenario when one run fails one target', () => {
    const [fixed, restart] = summarizeRuns(runs);
    expect(fixed!.ours.passed).toBe(false);
    expect(fixed!.ours.targets.find((t) => t.target === '0 upstream 429s')).toMatchObject({
      pass: false,
      passedRuns: 2,
      judgedRuns: 3,
    });
    expect(restart!.ours.passed).toBe(true);
  });

  it('feeds the report, the printed tables and the chart of the first run', () => {
    const report = buildReport({ callers: [], runs }, FLEET_DEFAULTS, MACHINE, new Date(0));
    expect(report.verdict).toEqual({ ours: { fixed: false, restart: true }, baseline: { fixed: true, restart: true } });
    expect(report.chartedRun).toBe(1);
    const text = formatReport(report, FLEET_DEFAULTS);
    expect(text).toMatch(/upstream 429s \(read \/ write\)\s+0 \/ 0 \(0–2\)\s+0 \/ 0/);
    expect(text).toMatch(
      /FAIL {2}0 upstream 429s \[2\/3 runs\]: run 1: 0 read, 0 write \| run 2: 0 read, 2 write \| run 3: 0 read, 0 write/,
    );
    expect(text).toMatch(/PASS {2}no gateway 5xx \[3\/3 runs\]/);
    expect(renderChart(report)).toMatch(/run 1 of 3/);
  });
});

describe("the sandbox's event-loop delay in the report", () => {
  const withSandboxDelay = (p99Ms: number | undefined, maxMs: number | undefined) => {
    const scenario = scenarioResult('sliding');
    scenario.ours.contention = {
      ...scenario.ours.contention,
      sandboxLoopDelayP99Ms: p99Ms,
      sandboxLoopDelayMaxMs: maxMs,
    };
    return fleetRun(1, [scenario]);
  };
  const text = (run: ReturnType<typeof fleetRun>) =>
    formatReport(buildReport({ callers: [], runs: [run] }, FLEET_DEFAULTS, MACHINE, new Date(0)), FLEET_DEFAULTS);

  it('prints its p99 and max, and counts it in the warning for a contended machine', () => {
    const printed = text(withSandboxDelay(3.5, 45));
    expect(printed).toMatch(/the sandbox's event-loop delay p99 \/ max ms\s+3\.5 \/ 45/);
    expect(printed).toMatch(
      /WARNING: the machine was contended during ours \(load 1 on 2 cores, timers up to 45 ms late\)/,
    );
  });

  it('leaves the row out for results saved before the sandbox reported it, and warns of nothing', () => {
    const printed = text(withSandboxDelay(undefined, undefined));
    expect(printed).toMatch(/event-loop delay max ms, bench \/ load/);
    expect(printed).not.toMatch(/the sandbox's event-loop delay/);
    expect(printed).not.toMatch(/WARNING/);
  });
});
