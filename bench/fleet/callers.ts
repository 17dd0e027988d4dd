/**
 * The bench's callers: a few configured gateway callers with weights (most 1, one 2, one 3), each
 * driven by several concurrent loops (the "concurrent callers"), reads and writes mixed, spread
 * over the gateways. Pure: a plan, no I/O.
 */

export interface CallerSpec {
  /** The token `sub` and the policy's caller name. */
  id: string;
  weight: number;
  readWorkers: number;
  writeWorkers: number;
}

export type RequestKind = 'read' | 'write';

export interface WorkerPlan {
  index: number;
  callerId: string;
  weight: number;
  kind: RequestKind;
  /** Index of the gateway (or baseline replica) this loop talks to. */
  replica: number;
}

export const CALLER_WEIGHTS: readonly number[] = Object.freeze([1, 1, 1, 1, 2, 3]);
/** Of each caller's loops, this fraction reads (at least one loop of each kind). */
const READ_FRACTION = 0.7;

export function planCallers(workers: number, weights: readonly number[] = CALLER_WEIGHTS): CallerSpec[] {
  const base = Math.floor(workers / weights.length);
  const extra = workers % weights.length;
  return weights.map((weight, i) => {
    const loops = base + (i < extra ? 1 : 0);
    const readWorkers = Math.min(loops - 1, Math.max(1, Math.round(loops * READ_FRACTION)));
    return { id: `fleet-caller-${i + 1}`, weight, readWorkers, writeWorkers: loops - readWorkers };
  });
}

/** Every loop of every caller, round-robin over `replicas` so each caller reaches each replica. */
export function planWorkers(callers: readonly CallerSpec[], replicas: number): WorkerPlan[] {
  const plans: WorkerPlan[] = [];
  for (const caller of callers) {
    const kinds: RequestKind[] = [
      ...Array<RequestKind>(caller.readWorkers).fill('read'),
      ...Array<RequestKind>(caller.writeWorkers).fill('write'),
    ];
    kinds.forEach((kind, i) =>
      plans.push({ index: plans.length, callerId: caller.id, weight: caller.weight, kind, replica: i % replicas }),
    );
  }
  return plans;
}
