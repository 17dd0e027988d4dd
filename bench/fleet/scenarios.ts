/**
 * What each scenario changes and what it judges, in one table (pure): the run, the targets, the
 * report and the chart read it instead of testing scenario names.
 */

export const SCENARIOS = ['fixed', 'sliding', 'outage', 'starved', 'restart', 'limits-auto', 'failover'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

/** The Redis the bench runs on (`--redis`): one redis-server, a Sentinel setup, or a Cluster. */
export const REDIS_TOPOLOGIES = ['single', 'sentinel', 'cluster'] as const;
export type RedisTopologyName = (typeof REDIS_TOPOLOGIES)[number];

export interface ScenarioTraits {
  /** The sandbox's window model. */
  window: 'fixed' | 'sliding';
  /**
   * Redis is SIGKILLed mid-phase: restarted empty (single node), or, with `failover`, its master
   * only, and the topology promotes a replica (Sentinel, Cluster). The outage window is left out
   * of the capacity figures either way.
   */
  killsRedis: boolean;
  failover: boolean;
  /** The topologies the scenario means something on. */
  topologies: readonly RedisTopologyName[];
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
  /**
   * The account's limits are `auto`, and the sandbox switches from `launch` to `current` mid-phase
   * (`--switch-at-sec`): judged on the adaptation, not on 0 upstream 429s.
   */
  switchesLimits: boolean;
  /** What the printed report and the chart call it. */
  title: string;
}

const BASE = {
  killsRedis: false,
  failover: false,
  topologies: REDIS_TOPOLOGIES,
  hogsCpu: false,
  restartsReplicas: false,
  judgesCapacity: true,
  judgesRoundTrips: true,
  expectsTransportErrors: false,
  switchesLimits: false,
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
    topologies: ['single'],
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
  'limits-auto': {
    ...BASE,
    window: 'sliding',
    switchesLimits: true,
    // Utilization, shares and Jain are figures of the launch limits: the switch takes them away.
    judgesCapacity: false,
    title: 'sliding, limits: auto, provider switches launch → current mid-phase',
  },
  failover: {
    ...BASE,
    window: 'sliding',
    killsRedis: true,
    failover: true,
    judgesCapacity: false,
    // Replicas count the replication stream in INFO commandstats: the baseline's count is off.
    judgesRoundTrips: false,
    topologies: ['sentinel', 'cluster'],
    title: 'sliding, Redis master killed mid-phase (failover)',
  },
});

/** The scenarios run when `--scenarios` is not given: each that means something on the topology. */
export function defaultScenarios(redis: RedisTopologyName): ScenarioName[] {
  return SCENARIOS.filter((name) => SCENARIO_TRAITS[name].topologies.includes(redis));
}
