/** What a run records, as saved in the JSON (types only). */
import type { AdaptationFigures } from './adaptation';
import type { AdoptionSeen } from './adoption-probes';
import type { CallerSpec } from './callers';
import type { PhaseFigures } from './figures';
import type { GatewayCounters, ModeChange } from './gateway-probes';
import type { LearnedGrid } from './learned-grid';
import type { RestartRecord } from './restart-plan';
import type { ScenarioName } from './scenarios';
import type { TargetCheck } from './targets';

export interface OutageRecord {
  /** `restart`: the single redis-server killed and spawned again; `failover`: the master killed, a replica promoted. */
  kind?: 'restart' | 'failover';
  killedAtMs: number;
  /** Restart: spawned again; failover: a replica promoted (the topology names a new live master). */
  restartedAtMs: number;
  modeChanges: ModeChange[];
  /** Per gateway: kill → first `fallback` seen on /readyz (100 ms polling). */
  fallbackAfterKillMs: Array<number | null>;
  /** Per gateway: restart (redis-server spawned again) or promotion → first `shared` seen. */
  sharedAfterRestartMs: Array<number | null>;
}

/** The limits-auto scenario: the provider's switch, and how the fleet followed it. */
export interface LimitsSwitchRecord {
  /** When the sandbox switched (its answer's `atMs`), ms since the phase started. */
  switchAtMs: number;
  profile: string;
  limitsPerSecond: Record<string, number>;
  /** From the referee's decisions since the switch (adaptation.ts). */
  adaptation: AdaptationFigures;
  /** Gateways only: their log lines and /metrics at the end of the phase. */
  adoption?: AdoptionSeen;
}

/** How busy the machine was: the judge and the gateways share its cores with everything else. */
export interface Contention {
  /** 1-minute load average at the end of the phase, and the number of cores. */
  loadAverage1m: number;
  cpuCount: number;
  /** The bench process's own event-loop delay during the phase (it mostly sleeps). */
  benchLoopDelayP99Ms: number;
  benchLoopDelayMaxMs: number;
  /** The load process's (it runs every caller loop). */
  loadLoopDelayP99Ms: number;
  loadLoopDelayMaxMs: number;
  /**
   * The sandbox's, from its stats (absent in results saved before 2026-12-07): the referee counts a
   * request when its loop reaches it, so a stall there reads as a late send at the provider.
   */
  sandboxLoopDelayP99Ms?: number;
  sandboxLoopDelayMaxMs?: number;
}

export interface PhaseResult {
  figures: PhaseFigures;
  contention: Contention;
  checks: TargetCheck[];
  /** Gateways only, summed over every process that served the phase. */
  gateways?: GatewayCounters;
  outage?: OutageRecord;
  restarts?: RestartRecord[];
  limitsSwitch?: LimitsSwitchRecord;
  /** `--learn-window-phase`, ours: when the gateways settled on the fixed grid, and the use after it. */
  learnedGrid?: { read: LearnedGrid; write: LearnedGrid };
}

export interface ScenarioResult {
  name: ScenarioName;
  window: 'fixed' | 'sliding';
  windowPhaseMs: number;
  ours: PhaseResult;
  baseline: PhaseResult;
}

/** One pass over the chosen scenarios. */
export interface FleetRun {
  /** 1-based. */
  run: number;
  scenarios: ScenarioResult[];
}

export interface FleetRuns {
  callers: CallerSpec[];
  runs: FleetRun[];
}
