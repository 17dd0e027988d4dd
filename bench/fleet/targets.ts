/** The issue's targets, checked against one phase's figures (pure). */
import type { PhaseFigures } from './figures';
import type { LimitsSwitchRecord } from './results';
import { SCENARIO_TRAITS, type ScenarioName } from './scenarios';

export interface TargetCheck {
  target: string;
  value: string;
  /** null: reported, not judged (in this scenario, or the figure is unknown; `value` says why). */
  pass: boolean | null;
}

export const TARGETS = Object.freeze({
  upstream429: 0,
  minUtilization: 0.95,
  shareTolerance: 0.1,
  minJain: 0.98,
  /** Start-up (seed, calibration), probes and the odd re-reserved late slot add a little over exactly 1. */
  maxScheduleRoundTripsPerDecision: 1.1,
  /** limits-auto (issue #15): the provider lowers its limits mid-phase. */
  maxUpstream429WhenLimitsSwitch: 1,
  maxAdaptationMs: 2000,
});

const pct = (x: number) => (Number.isFinite(x) ? `${(x * 100).toFixed(1)} %` : 'n/a');
const fixed = (x: number | null, digits = 2) => (x !== null && Number.isFinite(x) ? x.toFixed(digits) : 'n/a');

/** `limitsSwitch`: the limits-auto scenario's record (the switch, the adaptation, what the gateways said). */
export function checkTargets(
  figures: PhaseFigures,
  scenario: ScenarioName,
  limitsSwitch?: LimitsSwitchRecord,
): TargetCheck[] {
  const traits = SCENARIO_TRAITS[scenario];
  const { read, write, redis, client } = figures;
  const ratios = [...read.shares, ...write.shares].map((s) => s.ratio);
  const minRatio = Math.min(...ratios);
  const maxRatio = Math.max(...ratios);
  const minJain = Math.min(read.jain, write.jain);
  // Capacity is taken away on purpose in some scenarios: reported there, not judged.
  const capacity = (pass: boolean) => (traits.judgesCapacity ? pass : null);
  const capacityNote = traits.killsRedis ? ' (outside the outage window)' : '';
  const notJudged = traits.judgesCapacity ? '' : '; reported, not judged in this scenario';
  const perDecision = redis.scheduleRoundTripsPerDecision;
  const roundTripNote =
    perDecision === null
      ? ' (not judged: the gateways do not export their command count)'
      : traits.judgesRoundTrips
        ? ''
        : ' (not judged: decisions during the outage cost none)';
  const failures = client.gateway5xx + (traits.expectsTransportErrors ? 0 : client.transportErrors);
  const upstream429Check: TargetCheck = traits.switchesLimits
    ? {
        target: `≤ ${TARGETS.maxUpstream429WhenLimitsSwitch} upstream 429 (the provider lowers its limits mid-phase)`,
        value: `${figures.upstream429} (${read.upstream429} read, ${write.upstream429} write; ${limitsSwitch?.adaptation.upstream429 ?? 'n/a'} after the switch)`,
        pass: figures.upstream429 <= TARGETS.maxUpstream429WhenLimitsSwitch,
      }
    : {
        target: '0 upstream 429s',
        value: `${read.upstream429} read, ${write.upstream429} write`,
        pass: figures.upstream429 === TARGETS.upstream429,
      };
  return [
    upstream429Check,
    windowCheck(figures, traits.window),
    {
      target: 'utilization ≥ 95 %',
      value: `read ${pct(read.utilization)}, write ${pct(write.utilization)}${capacityNote}${notJudged}`,
      pass: capacity(read.utilization >= TARGETS.minUtilization && write.utilization >= TARGETS.minUtilization),
    },
    {
      target: 'weighted shares within ±10 %',
      value: `share ÷ fair share ${fixed(minRatio)}–${fixed(maxRatio)}${capacityNote}${notJudged}`,
      pass: capacity(
        Number.isFinite(minRatio) && minRatio >= 1 - TARGETS.shareTolerance && maxRatio <= 1 + TARGETS.shareTolerance,
      ),
    },
    {
      target: 'Jain ≥ 0.98 (equal weights)',
      value: `read ${fixed(read.jain, 3)}, write ${fixed(write.jain, 3)}${capacityNote}${notJudged}`,
      pass: capacity(Number.isFinite(minJain) && minJain >= TARGETS.minJain),
    },
    {
      target: `≤ ${TARGETS.maxScheduleRoundTripsPerDecision} limiter round trips per decision`,
      value:
        `${fixed(perDecision, 3)} per decision; ledger ${fixed(redis.ledgerRoundTripsPerCreate, 3)} per create; ` +
        `${fixed(redis.roundTripsPerDecision, 3)} in all per decision (commands sent, ${redis.source})${roundTripNote}`,
      pass:
        perDecision === null || !traits.judgesRoundTrips
          ? null
          : perDecision <= TARGETS.maxScheduleRoundTripsPerDecision,
    },
    {
      target: traits.expectsTransportErrors ? 'no gateway 5xx' : 'no gateway 5xx within deadline',
      value: `${client.gateway5xx} 5xx, ${client.transportErrors} unanswered${traits.expectsTransportErrors ? ' (connection errors expected while a replica restarts; not judged)' : ''}`,
      pass: failures === 0,
    },
    ...(traits.switchesLimits ? limitsSwitchChecks(limitsSwitch) : []),
  ];
}

/** limits-auto: adapted within 2 s of the switch (adaptation.ts defines it), and the change logged and exported. */
function limitsSwitchChecks(record: LimitsSwitchRecord | undefined): TargetCheck[] {
  const a = record?.adaptation;
  const adapts: TargetCheck = {
    target: `adapts within ${TARGETS.maxAdaptationMs / 1000} s (every 1000 ms window from then on ≤ the new limit)`,
    value: a
      ? `${a.adaptationMs} ms${a.settled ? '' : ' (still above the limit when the load ended)'}; most in any 1000 ms after the switch ${a.maxInAnySecond}/${a.limitPerSecond}, ${a.overLimitWindows} windows above it; then ${fixed(a.admittedPerSecondAfter)}/s admitted (${pct(a.utilizationAfter)} of ${a.limitPerSecond}/s)`
      : 'n/a (the switch was not recorded)',
    pass: a ? a.settled && a.adaptationMs <= TARGETS.maxAdaptationMs : false,
  };
  const seen = record?.adoption;
  if (!seen) return [adapts];
  const replicas = seen.exported.length;
  const logged: TargetCheck = {
    target: 'change logged once, counted once, new limit exported by every replica',
    value:
      `logged by ${seen.replicasLogged} replica(s) in ${seen.logLines.length} line(s)` +
      `${seen.logLines.map((l) => ` [gateway ${l.gateway}, ${l.afterSwitchMs ?? '?'} ms after the switch, ${l.reason}: ${l.from} → ${l.to}]`).join('')}; ` +
      `limits_adopted_total ${seen.adoptionsCounted}; new limit exported by ${seen.replicasExportingNewLimit}/${replicas}`,
    pass: seen.logLines.length === 1 && seen.adoptionsCounted === 1 && seen.replicasExportingNewLimit === replicas,
  };
  return [adapts, logged];
}

/**
 * The provider's own windows: any 1000 ms for a sliding-window one; its fixed windows for a
 * fixed-window one, which is all it counts (a schedule that learnt their phase fills each one, so a
 * span across a boundary may hold one more: reported beside).
 */
function windowCheck(figures: PhaseFigures, window: 'fixed' | 'sliding'): TargetCheck {
  const { read, write } = figures;
  const anySpan = `read ${read.maxInSlidingWindow}/${read.limitPerSecond}, write ${write.maxInSlidingWindow}/${write.limitPerSecond}`;
  if (window === 'sliding')
    return {
      target: 'no 1 s window above the limit (any 1000 ms)',
      value: anySpan,
      pass: read.maxInSlidingWindow <= read.limitPerSecond && write.maxInSlidingWindow <= write.limitPerSecond,
    };
  return {
    target: "no 1 s window above the limit (the provider's fixed windows)",
    value: `read ${read.maxInFixedWindow}/${read.limitPerSecond}, write ${write.maxInFixedWindow}/${write.limitPerSecond}; any 1000 ms: ${anySpan}`,
    pass: read.maxInFixedWindow <= read.limitPerSecond && write.maxInFixedWindow <= write.limitPerSecond,
  };
}
