/**
 * The replicas' answers, shared while they learn a window phase (docs/rate-schedule.md §4c). Each
 * replica sees only its own answers: at 5 writes/s through three replicas its sends are ~600 ms
 * apart, wider than the learner pairs (half a window), so it brackets a boundary only now and then
 * and took 12 s to more than 40 s to be sure. The fleet's sends together are ~200 ms apart. So a
 * replica that is not sure yet publishes its (send time, count) pairs on the phase channel, at most
 * one message per schedule every `FLUSH_EVERY_MS`, and feeds the others' into its own learner; not
 * after SHARE_WITHOUT_EVIDENCE_MS without any sign of a boundary.
 *
 * A message: `<schedule id>\tobs\t<replica id>\t<limit>\t<sent>:<used>,<sent>:<used>…`, send times
 * on the store's clock (ms, one decimal). The limit is the one the counts were answered under: a
 * replica on another limit (limits changing) drops them, as it drops its own.
 */
import type { PhaseObservation } from './window-phase';

/** At most one message per schedule and replica this often: four a second while unsure, none once sure. */
export const FLUSH_EVERY_MS = 250;
/**
 * A schedule whose answers have shown no boundary this long after its first one stops sharing: a
 * sliding-window provider never shows one (its phase is never learnt), and sharing would go on for
 * as long as requests flow. Evidence (a bracket here, or another replica's `learning`) resumes it.
 */
export const SHARE_WITHOUT_EVIDENCE_MS = 20_000;
/** The body's marker after the schedule id. */
export const OBSERVATIONS_MARKER = 'obs';

export interface SharedObservations {
  replicaId: string;
  limitPerWindow: number;
  observations: PhaseObservation[];
}

/** Collects one schedule's observations and says when a batch is due. */
export class ObservationOutbox {
  private pending: PhaseObservation[] = [];
  private flushedAtMs = Number.NEGATIVE_INFINITY;
  private firstAtMs?: number;

  /**
   * Adds one; returns the batch to publish when one is due (and empties the box), else undefined.
   * `evidence`: the learner has seen a boundary (or been told of one); without it for
   * SHARE_WITHOUT_EVIDENCE_MS, nothing more is kept or sent.
   */
  add(observation: PhaseObservation, nowMs: number, evidence: boolean): PhaseObservation[] | undefined {
    this.firstAtMs ??= nowMs;
    if (!evidence && nowMs - this.firstAtMs > SHARE_WITHOUT_EVIDENCE_MS) {
      this.pending = [];
      return undefined;
    }
    this.pending.push(observation);
    if (nowMs - this.flushedAtMs < FLUSH_EVERY_MS) return undefined;
    this.flushedAtMs = nowMs;
    const batch = this.pending;
    this.pending = [];
    return batch;
  }
}

/** The message body after the schedule id. */
export function encodeObservations(shared: SharedObservations): string {
  const pairs = shared.observations.map((o) => `${o.sentAtMs.toFixed(1)}:${o.used}`).join(',');
  return [OBSERVATIONS_MARKER, shared.replicaId, String(shared.limitPerWindow), pairs].join('\t');
}

/** The fields after the schedule id (split on tabs); undefined for anything malformed. */
export function decodeObservations(fields: readonly string[]): SharedObservations | undefined {
  const [marker, replicaId, limit, pairs] = fields;
  if (marker !== OBSERVATIONS_MARKER || replicaId === undefined || replicaId === '' || pairs === undefined)
    return undefined;
  const limitPerWindow = Number(limit);
  if (!(limitPerWindow > 0)) return undefined;
  const observations: PhaseObservation[] = [];
  for (const pair of pairs.split(',')) {
    const [sent, used] = pair.split(':');
    const sentAtMs = Number(sent);
    const count = Number(used);
    if (sent === '' || !Number.isFinite(sentAtMs) || !Number.isInteger(count) || count < 0) return undefined;
    observations.push({ sentAtMs, used: count });
  }
  return { replicaId, limitPerWindow, observations };
}
