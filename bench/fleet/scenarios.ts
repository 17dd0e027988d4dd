/**
 * What each scenario changes and what it judges, in one table (pure): the run, the targets, the
 * report and the chart read it instead of testing scenario names.
 */

export const SCENARIOS = ['fixed', 'sliding', 'outage', 'starved', 'restart'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

export interface ScenarioTraits {
  /** The sandbox's window model. */
  window: 'fixed' | 'sliding';
  /** Redis is SIGKILLed mid-phase and restarted empty. */
  killsRedis: boolean;
  /** Busy-loop processes hog every core for the whole scenario (both phases). */
  hogsCpu: boolean;
  /** The replicas are restarted one at a time mid-phase (rolling). */
  restartsReplicas: boolean;
  /**
   * Utilization, shares and Jain are judged; otherwise reported only (the scenario takes capacity
   * away on purpose: a fallback at rate ÷ replicas, a starved CPU, replicas down).
   */
  judgesCapacity: boolean;
  /** Round trips per decision are judged; not during an outage, when decisions cost none. */
  judgesRoundTrips: boolean;
  /** Connection errors are expected (a replica is down for a moment): only 5xx are judged. */
  expectsTransportErrors: boolean;
  /** What the printed report and the chart call it. */
  title: string;
}

const BASE = {
  killsRedis: false,
  hogsCpu: false,
  restartsReplicas: false,
  judgesCapacity: true,
  judgesRoundTrips: true,
  expectsTransportErrors: false,
} as const;

export const SCENARIO_TRAITS: Readonly<Record<ScenarioName, Readonly<ScenarioTraits>>> = Object.freeze({
  fixed: { ...BASE, window: 'fixed', title: 'fixed windows' },
  sliding: { ...BASE, window: 'sliding', title: 'sliding window' },
  outage: {
    ...BASE,
    window: 'sliding',
    killsRedis: true,
    judgesCapacity: false,
    judgesRoundTrips: false,
    title: 'sliding, Redis killed mid-phase',
  },
  starved: { ...BASE, window: 'sliding', hogsCpu: true, judgesCapacity: false, title: 'sliding, both CPUs hogged' },
  restart: {
    ...BASE,
    window: 'sliding',
    restartsReplicas: true,
    judgesCapacity: false,
    expectsTransportErrors: true,
    title: 'sliding, rolling restart of the replicas',
  },
});
