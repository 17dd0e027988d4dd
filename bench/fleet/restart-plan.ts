/**
 * The restart scenario's rolling restart (pure): replica i (0-based) of n is restarted at
 * (i + 1) ÷ (n + 1) of the phase — with three replicas at 1/4, 2/4 and 3/4 — one at a time, so at
 * most one replica is ever down and each new one has a quarter of the phase to settle before the next.
 */

export interface PlannedRestart {
  /** 0-based replica index. */
  replica: number;
  /** Milliseconds after the phase started. */
  atMs: number;
}

export function restartPlan(durationMs: number, replicas: number): PlannedRestart[] {
  return Array.from({ length: replicas }, (_, replica) => ({
    replica,
    atMs: Math.round(((replica + 1) * durationMs) / (replicas + 1)),
  }));
}

/** What happened to one replica, in ms after the phase started. */
export interface RestartRecord {
  /** 1-based, as in the logs. */
  replica: number;
  plannedAtMs: number;
  /** SIGTERM sent (later than planned only if the previous restart was still going on). */
  stoppedAtMs: number;
  /** The old process gone (drained, or SIGKILLed after the grace period). */
  exitedAtMs: number;
  /** The new process listening on the same ports. */
  listeningAtMs: number;
  /** Gateways: its `/readyz` first reported the `shared` schedule; null: not within the phase or 5 s of listening. */
  sharedAtMs?: number | null;
}
