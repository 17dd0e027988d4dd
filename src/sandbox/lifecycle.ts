/**
 * The compute lifecycle as a pure state machine. Transitions are lazy: an action records where the
 * compute is heading and when it gets there, and `settle` reads the state at any instant. No
 * timers, so nothing keeps a process alive and tests move an injected clock instead of sleeping.
 *
 * States: the provider's list (CREATING, RUNNING, STOPPED, REBOOTING, DESTROYING, DESTROYED) plus
 * STARTING (named by the console's lifecycle doc) and STOPPING (the sandbox's own, so that every
 * accepted action is visible at once to a poller; see docs/sandbox.md).
 */
export const COMPUTE_STATES = [
  'CREATING',
  'RUNNING',
  'STOPPING',
  'STOPPED',
  'STARTING',
  'REBOOTING',
  'DESTROYING',
  'DESTROYED',
] as const;
export type ComputeState = (typeof COMPUTE_STATES)[number];

export type PowerAction = 'start' | 'stop' | 'reboot' | 'delete';

interface ActionRule {
  from: readonly ComputeState[];
  through: ComputeState;
  to: ComputeState;
}

/** Which states accept which action. Delete takes anything not already being destroyed. */
export const ACTION_RULES: Readonly<Record<PowerAction, ActionRule>> = Object.freeze({
  start: { from: ['STOPPED'], through: 'STARTING', to: 'RUNNING' },
  stop: { from: ['RUNNING'], through: 'STOPPING', to: 'STOPPED' },
  reboot: { from: ['RUNNING'], through: 'REBOOTING', to: 'RUNNING' },
  delete: {
    from: ['CREATING', 'RUNNING', 'STOPPING', 'STOPPED', 'STARTING', 'REBOOTING'],
    through: 'DESTROYING',
    to: 'DESTROYED',
  },
});

export interface Lifecycle {
  state: ComputeState;
  /** When the current state began (the compute's `updatedAt` follows it). */
  sinceMs: number;
  /** Where a transitional state leads, and when it gets there. */
  pending?: { to: ComputeState; atMs: number };
}

export function created(nowMs: number, createDelayMs: number): Lifecycle {
  return { state: 'CREATING', sinceMs: nowMs, pending: { to: 'RUNNING', atMs: nowMs + createDelayMs } };
}

/** The lifecycle as it stands at `nowMs`. */
export function settle(lifecycle: Lifecycle, nowMs: number): Lifecycle {
  if (!lifecycle.pending || nowMs < lifecycle.pending.atMs) return lifecycle;
  return { state: lifecycle.pending.to, sinceMs: lifecycle.pending.atMs };
}

export type ActionResult =
  | { kind: 'accepted'; lifecycle: Lifecycle }
  | { kind: 'wrong-state'; state: ComputeState; allowedFrom: readonly ComputeState[] };

export function applyAction(lifecycle: Lifecycle, action: PowerAction, nowMs: number, delayMs: number): ActionResult {
  const current = settle(lifecycle, nowMs);
  const rule = ACTION_RULES[action];
  if (!rule.from.includes(current.state)) return { kind: 'wrong-state', state: current.state, allowedFrom: rule.from };
  return {
    kind: 'accepted',
    lifecycle: { state: rule.through, sinceMs: nowMs, pending: { to: rule.to, atMs: nowMs + delayMs } },
  };
}

export function isGone(state: ComputeState): boolean {
  return state === 'DESTROYING' || state === 'DESTROYED';
}
