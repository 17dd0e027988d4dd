import type { AdaptationFigures } from '../../../bench/fleet/adaptation';
import type { AdoptionSeen } from '../../../bench/fleet/adoption-probes';
import type { LimitsSwitchRecord } from '../../../bench/fleet/results';
import { SCENARIOS, SCENARIO_TRAITS, type ScenarioName } from '../../../bench/fleet/scenarios';
import { checkTargets, type TargetCheck } from '../../../bench/fleet/targets';
import { phaseFigures, type FigureOverrides } from './fleet-fixtures';

const verdicts = (scenario: ScenarioName, overrides: FigureOverrides = {}) =>
  Object.fromEntries(checkTargets(phaseFigures(overrides), scenario).map((c: TargetCheck) => [c.target, c.pass]));
const JUDGES_CAPACITY: ScenarioName[] = ['fixed', 'sliding'];
const REPORTS_CAPACITY: ScenarioName[] = ['outage', 'starved', 'restart'];

describe('fleet targets', () => {
  it.each(JUDGES_CAPACITY)('%s: every target judged, and met by a good phase', (scenario) => {
    expect(Object.values(verdicts(scenario))).toEqual([true, true, true, true, true, true, true]);
  });

  it.each(SCENARIOS.filter((name) => !SCENARIO_TRAITS[name].switchesLimits))(
    '%s: an upstream 429 fails',
    (scenario) => {
      expect(verdicts(scenario, { write: { upstream429: 1 } })['0 upstream 429s']).toBe(false);
    },
  );

  const SLIDING = SCENARIOS.filter((name) => SCENARIO_TRAITS[name].window === 'sliding');
  it.each(SLIDING)('%s: one more than the limit in any 1000 ms fails (read or write)', (scenario) => {
    expect(
      verdicts(scenario, { read: { maxInSlidingWindow: 31 } })['no 1 s window above the limit (any 1000 ms)'],
    ).toBe(false);
    expect(
      verdicts(scenario, { write: { maxInSlidingWindow: 6 } })['no 1 s window above the limit (any 1000 ms)'],
    ).toBe(false);
    expect(verdicts(scenario)['no 1 s window above the limit (any 1000 ms)']).toBe(true);
  });

  it("fixed: judged by the provider's fixed windows; one more in a span across a boundary is reported, not a fault", () => {
    const FIXED = "no 1 s window above the limit (the provider's fixed windows)";
    expect(verdicts('fixed', { read: { maxInFixedWindow: 31 } })[FIXED]).toBe(false);
    expect(verdicts('fixed', { write: { maxInFixedWindow: 6 } })[FIXED]).toBe(false);
    expect(verdicts('fixed', { read: { maxInSlidingWindow: 31 }, write: { maxInSlidingWindow: 6 } })[FIXED]).toBe(true);
    const check = checkTargets(phaseFigures({ read: { maxInSlidingWindow: 31 } }), 'fixed')[1]!;
    expect(check.value).toContain('any 1000 ms: read 31/30');
  });

  it.each(JUDGES_CAPACITY)('%s: low utilization, unfair shares and a low Jain fail', (scenario) => {
    const v = verdicts(scenario, {
      read: { utilization: 0.9, jain: 0.9 },
      write: { shares: [{ callerId: 'c', weight: 1, sent: 1, ratio: 0.8 }] },
    });
    expect([v['utilization ≥ 95 %'], v['weighted shares within ±10 %'], v['Jain ≥ 0.98 (equal weights)']]).toEqual([
      false,
      false,
      false,
    ]);
  });

  it.each(REPORTS_CAPACITY)('%s: utilization, shares and Jain are reported, not judged', (scenario) => {
    const checks = checkTargets(phaseFigures({ read: { utilization: 0.5, jain: 0.5 } }), scenario);
    const capacity = checks.filter((c) => /utilization|shares|Jain/.test(c.target));
    expect(capacity.map((c) => c.pass)).toEqual([null, null, null]);
    expect(capacity[0]!.value).toMatch(/read 50\.0 %.*reported, not judged/);
  });

  const ROUND_TRIPS = '≤ 1.1 limiter round trips per decision';
  it.each(['fixed', 'sliding', 'starved', 'restart'] as const)(
    '%s: more than 1.1 limiter round trips per decision fails',
    (scenario) => {
      expect(verdicts(scenario, { redis: { scheduleRoundTripsPerDecision: 1.1 } })[ROUND_TRIPS]).toBe(true);
      expect(verdicts(scenario, { redis: { scheduleRoundTripsPerDecision: 1.11 } })[ROUND_TRIPS]).toBe(false);
    },
  );

  it('outage: round trips are reported, not judged', () => {
    const check = checkTargets(phaseFigures({ redis: { scheduleRoundTripsPerDecision: 0.6 } }), 'outage').find(
      (c) => c.target === ROUND_TRIPS,
    )!;
    expect(check.pass).toBeNull();
    expect(check.value).toMatch(
      /^0\.600 per decision; ledger 2\.000 per create; 1\.100 in all per decision \(commands sent, gateway metric\) \(not judged: decisions during the outage cost none\)$/,
    );
  });

  it('round trips the gateways do not export are n/a, not judged', () => {
    const check = checkTargets(
      phaseFigures({
        redis: {
          roundTrips: null,
          scheduleRoundTrips: null,
          ledgerRoundTrips: null,
          scheduleRoundTripsPerDecision: null,
          ledgerRoundTripsPerCreate: null,
          roundTripsPerDecision: null,
        },
      }),
      'fixed',
    ).find((c) => c.target === ROUND_TRIPS)!;
    expect(check.pass).toBeNull();
    expect(check.value).toMatch(/^n\/a per decision; ledger n\/a per create; n\/a in all/);
  });

  it('judges connection errors except while replicas restart; gateway 5xx everywhere', () => {
    expect(verdicts('fixed', { client: { transportErrors: 1 } })['no gateway 5xx within deadline']).toBe(false);
    expect(verdicts('starved', { client: { transportErrors: 1 } })['no gateway 5xx within deadline']).toBe(false);
    expect(verdicts('restart', { client: { transportErrors: 400 } })['no gateway 5xx']).toBe(true);
    expect(verdicts('restart', { client: { gateway5xx: 1 } })['no gateway 5xx']).toBe(false);
  });

  describe('limits-auto', () => {
    const adaptation = (overrides: Partial<AdaptationFigures> = {}): AdaptationFigures => ({
      limitPerSecond: 2,
      arrivals: 24,
      upstream429: 1,
      overLimitWindows: 1,
      maxInAnySecond: 3,
      adaptationMs: 30,
      settled: true,
      admittedPerSecondAfter: 1.8,
      utilizationAfter: 0.9,
      ...overrides,
    });
    const adoption = (overrides: Partial<AdoptionSeen> = {}): AdoptionSeen => ({
      replicasLogged: 1,
      logLines: [{ gateway: 2, afterSwitchMs: 25, from: 'read 30/s, write 5/s', to: 'all 2/s', reason: 'lower' }],
      adoptionsCounted: 1,
      replicasExportingNewLimit: 3,
      exported: [{ all: 2 }, { all: 2 }, { all: 2 }],
      ...overrides,
    });
    const record = (a: Partial<AdaptationFigures> = {}, seen: AdoptionSeen | null = adoption()) =>
      ({
        switchAtMs: 8000,
        profile: 'current',
        limitsPerSecond: { all: 2 },
        adaptation: adaptation(a),
        ...(seen ? { adoption: seen } : {}),
      }) satisfies LimitsSwitchRecord;
    const judged = (upstream429: number, r: LimitsSwitchRecord) =>
      Object.fromEntries(
        checkTargets(phaseFigures({ read: { upstream429 } }), 'limits-auto', r).map((c) => [c.target, c.pass]),
      );
    const ADAPTS = 'adapts within 2 s (every 1000 ms window from then on ≤ the new limit)';
    const AT_MOST_ONE = '≤ 1 upstream 429 (the provider lowers its limits mid-phase)';
    const LOGGED = 'change logged once, counted once, new limit exported by every replica';

    it('one upstream 429 and an adaptation within 2 s pass; two 429s or 2001 ms fail', () => {
      expect(judged(1, record())).toMatchObject({ [AT_MOST_ONE]: true, [ADAPTS]: true, [LOGGED]: true });
      expect(judged(1, record())).not.toHaveProperty(['0 upstream 429s']);
      expect(judged(2, record())[AT_MOST_ONE]).toBe(false);
      expect(judged(0, record({ adaptationMs: 2000 }))[ADAPTS]).toBe(true);
      expect(judged(0, record({ adaptationMs: 2001 }))[ADAPTS]).toBe(false);
      expect(judged(0, record({ adaptationMs: 100, settled: false }))[ADAPTS]).toBe(false);
    });

    it('the change must be logged once, counted once and exported by every replica', () => {
      expect(judged(0, record({}, adoption({ replicasExportingNewLimit: 2 })))[LOGGED]).toBe(false);
      expect(judged(0, record({}, adoption({ logLines: [] })))[LOGGED]).toBe(false);
      expect(judged(0, record({}, adoption({ adoptionsCounted: 2 })))[LOGGED]).toBe(false);
    });

    it('the baseline (no gateways to ask) is judged on 429s and adaptation only; a missing record fails', () => {
      expect(judged(0, record({}, null))).not.toHaveProperty([LOGGED]);
      expect(
        Object.fromEntries(checkTargets(phaseFigures(), 'limits-auto').map((c) => [c.target, c.pass]))[ADAPTS],
      ).toBe(false);
    });
  });
});
