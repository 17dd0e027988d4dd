import { expectedSec, FLEET_DEFAULTS, FLEET_USAGE, parseFleetArgs, SCENARIOS } from '../../../bench/fleet/options';

const parse = (argv: string[]) => {
  const parsed = parseFleetArgs(argv);
  if (!parsed.ok) throw new Error(parsed.problems.join('; '));
  return parsed.options;
};
const problems = (argv: string[]) => {
  const parsed = parseFleetArgs(argv);
  return parsed.ok ? [] : parsed.problems;
};

describe('bench:fleet options', () => {
  it('defaults: 3 runs of every scenario, 20 s per phase, the policy default safety', () => {
    expect(parse([])).toMatchObject({
      runs: 3,
      durationSec: 20,
      warmupSec: 3,
      workers: 60,
      maxWaitMs: 2000,
      safety: 0.95,
      scenarios: ['fixed', 'sliding', 'outage', 'starved', 'restart', 'limits-auto'],
      redis: 'single',
      switchAtSec: 8,
    });
    expect(SCENARIOS).toEqual(['fixed', 'sliding', 'outage', 'starved', 'restart', 'limits-auto', 'failover']);
  });

  it('--safety auto: the adaptive safety (issue #15); a number as before', () => {
    expect(parse(['--safety', 'auto', '--runs', '1']).safety).toBe('auto');
    expect(parse(['--runs', '1', '--safety=auto']).safety).toBe('auto');
    expect(parse(['--safety', '0.97']).safety).toBe(0.97);
    expect(problems(['--safety', 'fast']).length).toBe(1);
  });

  it('--learn-window-phase: the opt-in phase learner for the gateways, off by default as in the product', () => {
    expect(parse([]).learnWindowPhase).toBe(false);
    expect(parse(['--learn-window-phase', '--scenarios', 'fixed']).learnWindowPhase).toBe(true);
    expect(FLEET_USAGE).toContain('--learn-window-phase');
  });

  it('--redis sentinel|cluster: the failover scenario instead of the outage by default; each only where it applies', () => {
    expect(parse(['--redis', 'sentinel'])).toMatchObject({
      redis: 'sentinel',
      scenarios: ['fixed', 'sliding', 'starved', 'restart', 'limits-auto', 'failover'],
    });
    expect(parse(['--redis=cluster', '--scenarios', 'failover']).scenarios).toEqual(['failover']);
    expect(problems(['--redis', 'replicated'])).toEqual(['--redis: must be one of single, sentinel, cluster']);
    expect(problems(['--scenarios', 'failover'])).toEqual([
      '--scenarios: failover needs --redis sentinel or cluster, not single',
    ]);
    expect(problems(['--redis', 'cluster', '--scenarios', 'outage,fixed'])).toEqual([
      '--scenarios: outage needs --redis single, not cluster',
    ]);
    // The failover is placed by the outage flags, and must end before the phase does.
    expect(problems(['--redis', 'sentinel', '--duration-sec', '10', '--scenarios', 'failover'])).toEqual([
      '--outage-at-sec + --outage-sec: must end before --duration-sec',
    ]);
  });

  it('keeps the scenarios in their fixed order, whatever order they are named in', () => {
    expect(parse(['--scenarios', 'restart,fixed,starved']).scenarios).toEqual(['fixed', 'starved', 'restart']);
    expect(parse(['--scenarios=outage']).scenarios).toEqual(['outage']);
  });

  it('reads --runs as a whole number of at least 1', () => {
    expect(parse(['--runs', '5']).runs).toBe(5);
    expect(problems(['--runs', '0'])).toEqual(['--runs: must be a whole number from 1 to 20']);
    expect(problems(['--runs', '1.5'])).toEqual(['--runs: must be a whole number from 1 to 20']);
  });

  it('has no unjudged prewarm any more', () => {
    expect(problems(['--prewarm-sec=2'])).toEqual(['--prewarm-sec: unknown flag']);
    expect(FLEET_DEFAULTS).not.toHaveProperty('prewarmSec');
    expect(FLEET_USAGE).not.toMatch(/prewarm/);
  });

  it('says the warm-up leaves out only utilization, shares and queue waits', () => {
    expect(FLEET_USAGE).toMatch(
      /--warmup-sec <n>\s+first seconds of a phase left out of utilization, shares and queue waits\s+only; 429s and the most in any 1 s count from the first request/,
    );
  });

  it('refuses unknown scenarios and an outage that outlasts the phase', () => {
    expect(problems(['--scenarios', 'fixed,nope'])).toEqual([
      '--scenarios: unknown nope; choose from fixed, sliding, outage, starved, restart, limits-auto, failover',
    ]);
    expect(problems(['--duration-sec', '10'])).toEqual([
      '--outage-at-sec + --outage-sec: must end before --duration-sec',
      '--switch-at-sec: must leave at least 3 s of --duration-sec after the switch (2 s to adapt, one window to see it)',
    ]);
    expect(problems(['--duration-sec', '10', '--scenarios', 'fixed,starved,restart'])).toEqual([]);
    expect(problems(['--warmup-sec', '20'])).toEqual(['--warmup-sec: must be shorter than --duration-sec']);
  });

  it('expects a default run to take about a quarter of an hour', () => {
    expect(expectedSec(FLEET_DEFAULTS)).toBe(3 * 6 * (2 * 20 + 10));
    expect(expectedSec({ runs: 1, scenarios: ['fixed'], durationSec: 10 })).toBe(30);
  });

  it('limits-auto: --switch-at-sec must leave 3 s of the phase (2 s to adapt, one window to see it)', () => {
    expect(parse(['--scenarios', 'limits-auto', '--switch-at-sec', '5']).switchAtSec).toBe(5);
    expect(parse(['--scenarios', 'limits-auto', '--duration-sec', '10', '--switch-at-sec', '7']).switchAtSec).toBe(7);
    expect(problems(['--scenarios', 'limits-auto', '--duration-sec', '10', '--switch-at-sec', '7.5'])).toEqual([
      '--switch-at-sec: must leave at least 3 s of --duration-sec after the switch (2 s to adapt, one window to see it)',
    ]);
    // Only the scenario that switches cares.
    expect(problems(['--scenarios', 'sliding', '--duration-sec', '10', '--switch-at-sec', '9'])).toEqual([]);
  });
});
