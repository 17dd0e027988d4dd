/** The targets, checked against one phase's figures (pure). */
import type { ScenarioName } from './options';
import type { PhaseFigures } from './figures';

export interface TargetCheck {
  target: string;
  value: string;
  /** null: not judged in this scenario (said why in `value`). */
  pass: boolean | null;
}

export const TARGETS = Object.freeze({
  upstream429: 0,
  minUtilization: 0.95,
  shareTolerance: 0.1,
  minJain: 0.98,
  /** Connection setup (CLIENT SETNAME, SUBSCRIBE) and probes add a little over exactly 1. */
  maxRoundTripsPerDecision: 1.01,
});

const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
const fixed = (x: number, digits = 2) => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a');

export function checkTargets(figures: PhaseFigures, scenario: ScenarioName): TargetCheck[] {
  const { read, write } = figures;
  const ratios = [...read.shares, ...write.shares].map((s) => s.ratio);
  const minRatio = Math.min(...ratios);
  const maxRatio = Math.max(...ratios);
  const minJain = Math.min(read.jain, write.jain);
  const gatewayFailures = figures.client.gateway5xx + figures.client.transportErrors;
  return [
    { target: '0 upstream 429s', value: `${read.upstream429} read, ${write.upstream429} write`, pass: figures.upstream429 === TARGETS.upstream429 },
    {
      target: 'no 1 s window above the limit (any phase)',
      value: `read ${read.maxInSlidingWindow}/${read.limitPerSecond}, write ${write.maxInSlidingWindow}/${write.limitPerSecond}`,
      pass: read.maxInSlidingWindow <= read.limitPerSecond && write.maxInSlidingWindow <= write.limitPerSecond,
    },
    {
      target: 'utilization ≥ 95 %',
      value: `read ${pct(read.utilization)}, write ${pct(write.utilization)}${scenario === 'outage' ? ' (outside the outage window)' : ''}`,
      pass: read.utilization >= TARGETS.minUtilization && write.utilization >= TARGETS.minUtilization,
    },
    {
      target: 'weighted shares within ±10 %',
      value: `share ÷ fair share ${fixed(minRatio)}–${fixed(maxRatio)}${scenario === 'outage' ? ' (outside the outage window)' : ''}`,
      pass: Number.isFinite(minRatio) && minRatio >= 1 - TARGETS.shareTolerance && maxRatio <= 1 + TARGETS.shareTolerance,
    },
    { target: 'Jain ≥ 0.98 (equal weights)', value: `read ${fixed(read.jain, 3)}, write ${fixed(write.jain, 3)}${scenario === 'outage' ? ' (outside the outage window)' : ''}`, pass: Number.isFinite(minJain) && minJain >= TARGETS.minJain },
    {
      target: '1 Redis round trip per request',
      value:
        `${fixed(figures.redis.roundTripsPerDecision, 3)} per request that asked the limiter, ${fixed(figures.redis.roundTripsPerAdmitted, 3)} per admitted request` +
        (scenario === 'outage' ? ' (not judged: decisions during the outage cost none)' : ''),
      pass: scenario === 'outage' ? null : figures.redis.roundTripsPerDecision <= TARGETS.maxRoundTripsPerDecision,
    },
    { target: 'no gateway 5xx within deadline', value: `${figures.client.gateway5xx} 5xx, ${figures.client.transportErrors} unanswered`, pass: gatewayFailures === 0 },
  ];
}
