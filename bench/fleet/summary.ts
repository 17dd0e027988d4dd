/**
 * Several runs in a few numbers (pure): per scenario, each headline figure's median over the runs
 * with its min–max spread, and each target judged over every run — it passes only if it passed in
 * every run that judged it.
 */
import type { PhaseFigures } from './figures';
import type { FleetRun, LimitsSwitchRecord, PhaseResult } from './results';
import type { ScenarioName } from './scenarios';
import type { TargetCheck } from './targets';

export interface Spread {
  median: number;
  min: number;
  max: number;
  /** Per run, in order; null where the figure is unknown (not counted above). */
  runs: Array<number | null>;
}

/** Median (mean of the middle two for an even count) and range of the known values; null when none is known. */
export function spread(values: ReadonlyArray<number | null>): Spread | null {
  const known = values.filter((v): v is number => v !== null && Number.isFinite(v)).sort((a, b) => a - b);
  if (known.length === 0) return null;
  const middle = Math.floor(known.length / 2);
  const median = known.length % 2 === 1 ? known[middle]! : (known[middle - 1]! + known[middle]!) / 2;
  return {
    median,
    min: known[0]!,
    max: known[known.length - 1]!,
    runs: values.map((v) => (v !== null && Number.isFinite(v) ? v : null)),
  };
}

/** The figures the summary carries, ours and the baseline alike. */
export const HEADLINE_FIGURES = Object.freeze({
  upstream429Read: (f: PhaseFigures) => f.read.upstream429,
  upstream429Write: (f: PhaseFigures) => f.write.upstream429,
  maxInAnySecondRead: (f: PhaseFigures) => f.read.maxInSlidingWindow,
  maxInAnySecondWrite: (f: PhaseFigures) => f.write.maxInSlidingWindow,
  utilizationRead: (f: PhaseFigures) => f.read.utilization,
  utilizationWrite: (f: PhaseFigures) => f.write.utilization,
  scheduleRoundTripsPerDecision: (f: PhaseFigures) => f.redis.scheduleRoundTripsPerDecision,
  ledgerRoundTripsPerCreate: (f: PhaseFigures) => f.redis.ledgerRoundTripsPerCreate,
} satisfies Record<string, (f: PhaseFigures) => number | null>);

export type HeadlineName = keyof typeof HEADLINE_FIGURES;

/** limits-auto only: how the fleet followed the provider's switch (results.ts, adaptation.ts). */
export const SWITCH_FIGURES = Object.freeze({
  adaptationMs: (r: LimitsSwitchRecord) => r.adaptation.adaptationMs,
  upstream429AfterSwitch: (r: LimitsSwitchRecord) => r.adaptation.upstream429,
  maxInAnySecondAfterSwitch: (r: LimitsSwitchRecord) => r.adaptation.maxInAnySecond,
  utilizationAfterAdaptation: (r: LimitsSwitchRecord) => r.adaptation.utilizationAfter,
  replicasLogged: (r: LimitsSwitchRecord) => r.adoption?.replicasLogged ?? null,
  replicasExportingNewLimit: (r: LimitsSwitchRecord) => r.adoption?.replicasExportingNewLimit ?? null,
} satisfies Record<string, (r: LimitsSwitchRecord) => number | null>);

export type SwitchFigureName = keyof typeof SWITCH_FIGURES;

export interface CombinedCheck {
  target: string;
  /** false if any run failed; null if no run judged it; true otherwise. */
  pass: boolean | null;
  passedRuns: number;
  judgedRuns: number;
  /** Each run's value, in order. */
  values: string[];
}

/** The same checks from several runs (same targets, same order), judged together. */
export function combineChecks(perRun: ReadonlyArray<readonly TargetCheck[]>): CombinedCheck[] {
  return (perRun[0] ?? []).map((first, i) => {
    const checks = perRun.map((checks) => checks[i]!);
    const judged = checks.filter((c) => c.pass !== null);
    const passedRuns = judged.filter((c) => c.pass === true).length;
    return {
      target: first.target,
      pass: judged.length === 0 ? null : passedRuns === judged.length,
      passedRuns,
      judgedRuns: judged.length,
      values: checks.map((c) => c.value),
    };
  });
}

export interface PhaseSummary {
  figures: Record<HeadlineName, Spread | null>;
  /** limits-auto only. */
  limitsSwitch?: Record<SwitchFigureName, Spread | null>;
  targets: CombinedCheck[];
  /** Every judged target passed in every run. */
  passed: boolean;
}

export interface ScenarioSummary {
  name: ScenarioName;
  runs: number;
  ours: PhaseSummary;
  baseline: PhaseSummary;
}

export function summarizePhase(phases: readonly PhaseResult[]): PhaseSummary {
  const figures = Object.fromEntries(
    (Object.keys(HEADLINE_FIGURES) as HeadlineName[]).map((name) => [
      name,
      spread(phases.map((p) => HEADLINE_FIGURES[name](p.figures))),
    ]),
  ) as Record<HeadlineName, Spread | null>;
  const targets = combineChecks(phases.map((p) => p.checks));
  const summary: PhaseSummary = { figures, targets, passed: targets.every((t) => t.pass !== false) };
  const switches = phases.map((p) => p.limitsSwitch);
  if (switches.some((r) => r !== undefined))
    summary.limitsSwitch = Object.fromEntries(
      (Object.keys(SWITCH_FIGURES) as SwitchFigureName[]).map((name) => [
        name,
        spread(switches.map((r) => (r ? SWITCH_FIGURES[name](r) : null))),
      ]),
    ) as Record<SwitchFigureName, Spread | null>;
  return summary;
}

/** One summary per scenario, in the order the runs ran them. */
export function summarizeRuns(runs: readonly FleetRun[]): ScenarioSummary[] {
  const names = [...new Set(runs.flatMap((r) => r.scenarios.map((s) => s.name)))];
  return names.map((name) => {
    const results = runs.flatMap((r) => r.scenarios.filter((s) => s.name === name));
    return {
      name,
      runs: results.length,
      ours: summarizePhase(results.map((s) => s.ours)),
      baseline: summarizePhase(results.map((s) => s.baseline)),
    };
  });
}
