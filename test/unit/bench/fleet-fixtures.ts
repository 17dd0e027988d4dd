/** Hand-built fleet bench figures for the unit tests: a phase that meets every target, to bend one figure at a time. */
import type { ClassFigures, PhaseFigures, RedisFigures } from '../../../bench/fleet/figures';
import type { FleetRun, PhaseResult, ScenarioResult } from '../../../bench/fleet/results';
import type { ScenarioName } from '../../../bench/fleet/scenarios';
import { SCENARIO_TRAITS } from '../../../bench/fleet/scenarios';
import { checkTargets } from '../../../bench/fleet/targets';

export function classFigures(limitPerSecond: number, overrides: Partial<ClassFigures> = {}): ClassFigures {
  return {
    limitPerSecond,
    admitted: limitPerSecond * 17,
    upstream429: 0,
    maxInFixedWindow: limitPerSecond,
    maxInSlidingWindow: limitPerSecond,
    admittedPerSecond: limitPerSecond * 0.96,
    utilization: 0.96,
    queueWaitMs: { count: 100, p50: 900, p99: 1900, max: 1990 },
    shares: [
      { callerId: 'fleet-caller-1', weight: 1, sent: 10, ratio: 1.0 },
      { callerId: 'fleet-caller-2', weight: 2, sent: 20, ratio: 1.02 },
    ],
    jain: 1,
    timeline: [{ second: 0, admitted: limitPerSecond, rejected: 0 }],
    ...overrides,
  };
}

export interface FigureOverrides {
  read?: Partial<ClassFigures>;
  write?: Partial<ClassFigures>;
  redis?: Partial<RedisFigures>;
  client?: Partial<PhaseFigures['client']>;
}

export function phaseFigures(overrides: FigureOverrides = {}): PhaseFigures {
  const read = classFigures(30, overrides.read);
  const write = classFigures(5, overrides.write);
  return {
    measuredSeconds: 17,
    read,
    write,
    upstream429: read.upstream429 + write.upstream429,
    duplicateCreates: 0,
    redis: {
      source: 'gateway metric',
      roundTrips: 1100,
      scheduleRoundTrips: 1000,
      ledgerRoundTrips: 100,
      sentByOp: { 'schedule:reserve': 1000, 'ledger:reserve': 50, 'ledger:commit': 50 },
      executed: 10_000,
      byCommand: { evalsha: 1100 },
      admitted: 700,
      decisions: 1000,
      creates: 50,
      roundTripsPerAdmitted: 1100 / 700,
      roundTripsPerDecision: 1.1,
      scheduleRoundTripsPerDecision: 1,
      ledgerRoundTripsPerCreate: 2,
      ...overrides.redis,
    },
    client: {
      responses: 1000,
      forwarded: 700,
      gateway429: 300,
      gateway429ByKind: { read: 200, write: 100 },
      upstream429Seen: 0,
      gateway5xx: 0,
      transportErrors: 0,
      unexpected: {},
      cutAtEnd: 0,
      ...overrides.client,
    },
  };
}

export function phaseResult(scenario: ScenarioName, overrides: FigureOverrides = {}): PhaseResult {
  const figures = phaseFigures(overrides);
  return {
    figures,
    contention: {
      loadAverage1m: 1,
      cpuCount: 2,
      benchLoopDelayP99Ms: 1,
      benchLoopDelayMaxMs: 5,
      loadLoopDelayP99Ms: 2,
      loadLoopDelayMaxMs: 8,
    },
    checks: checkTargets(figures, scenario),
  };
}

export function scenarioResult(
  name: ScenarioName,
  ours: FigureOverrides = {},
  baseline: FigureOverrides = {},
): ScenarioResult {
  return {
    name,
    window: SCENARIO_TRAITS[name].window,
    windowPhaseMs: 0,
    ours: phaseResult(name, ours),
    baseline: phaseResult(name, baseline),
  };
}

export function fleetRun(run: number, scenarios: ScenarioResult[]): FleetRun {
  return { run, scenarios };
}
