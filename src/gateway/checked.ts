/**
 * The one shape of a check in the request path: it passes, with what it produced, or it denies,
 * with the rejection the HTTP edge will send. Outcomes with more endings than pass/deny (a slot, an
 * attempt chain) are `kind` unions whose denial is likewise `{ kind: 'rejected', rejection }`.
 */
import type { GatewayRejection } from './errors';

export type Denied = { ok: false; rejection: GatewayRejection };
export type Checked<T = undefined> = { ok: true; value: T } | Denied;

export const pass = <T>(value: T): Checked<T> => ({ ok: true, value });
export const PASSED: Checked = Object.freeze({ ok: true, value: undefined });
export const deny = (rejection: GatewayRejection): Denied => ({ ok: false, rejection });
