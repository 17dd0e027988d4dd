/**
 * The audit trail: one record per write attempt (operation class `write`: create, delete, start,
 * stop, reboot, upsize), whether it reached the provider or not. Records are built here from facts
 * the request path collected, by pure functions; where they go is the composition root's choice.
 *
 * Only allow-listed fields go in: identifiers, statuses, codes. Never a header, a token, a key or a
 * body (a create body holds public keys and user data).
 */
import { PATH_PARAMETER_PATTERNS, type Operation, type OperationId } from '../catalog/catalog';
import type { GatewayErrorCode } from './errors';
import { readSettings } from './settings';

/**
 * - `forwarded`: the provider answered (`upstreamStatus`, whatever it was).
 * - `failed`: sent to the provider without a usable answer (timeout, connection lost, redirect):
 *   the write may or may not have happened.
 * - `denied`: the gateway refused it (`code`, `reason`); the provider never saw it.
 * - `abandoned`: the caller went away while it waited for its slot; the provider never saw it.
 */
export const AUDIT_OUTCOMES = ['forwarded', 'failed', 'denied', 'abandoned'] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

export interface AuditRecord {
  requestId: string;
  operation: OperationId;
  outcome: AuditOutcome;
  /** The configured caller; absent when authentication failed (an unverified subject is not a name). */
  caller?: string;
  account?: string;
  /** The path's `{id}`; for a create, the new compute's id from the provider's 202 body. */
  computeId?: string;
  /** What the caller received; absent when nothing was sent (`abandoned`). */
  status?: number;
  upstreamStatus?: number;
  /** The gateway's own error code, when it answered itself. */
  code?: GatewayErrorCode;
  /** The internal reason (e.g. `missing-scope:computes:delete`, `auth-expired`), as in the access log. */
  reason?: string;
  /** When the gateway received the request; the line's own `time` is when the record was written. */
  receivedAt: string;
}

/** What the request path learnt about one write, by the time its response closed. */
export interface AuditFacts {
  requestId: string;
  operation: Operation;
  receivedAtMs: number;
  caller?: string;
  account?: string;
  /** The validated `{id}` path parameter. */
  pathComputeId?: string;
  /** True once the request was handed to the forwarder. */
  forwarded: boolean;
  upstreamStatus?: number;
  rejection?: { code: GatewayErrorCode; reason?: string };
  /** Undefined when no response head was sent. */
  status?: number;
  /** The first bytes of the provider's response body (creates only). */
  responseStart?: Buffer;
}

/** Where records go; the composition root builds it. */
export interface AuditTrail {
  record(entry: AuditRecord): void;
}

export const isAudited = (operation: Pick<Operation, 'traits'>): boolean => operation.traits.audited;

/** The create's 202 is a small envelope; more than this is not one we read an id from. */
export const MAX_CAPTURED_BODY_BYTES = 16 * 1024;

export function auditOutcome(facts: Pick<AuditFacts, 'forwarded' | 'rejection' | 'upstreamStatus'>): AuditOutcome {
  if (facts.forwarded) return facts.rejection || facts.upstreamStatus === undefined ? 'failed' : 'forwarded';
  return facts.rejection ? 'denied' : 'abandoned';
}

/**
 * The id of a created compute, from the provider's envelope `{ data: { id } }`. Only an id of the
 * catalog's own shape is taken, so nothing else of the body can reach the record.
 */
export function createdComputeId(body: Buffer | undefined): string | undefined {
  if (body === undefined || body.length === 0 || body.length > MAX_CAPTURED_BODY_BYTES) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
  const data = typeof parsed === 'object' && parsed !== null ? (parsed as { data?: unknown }).data : undefined;
  const id = typeof data === 'object' && data !== null ? (data as { id?: unknown }).id : undefined;
  const text = typeof id === 'number' && Number.isSafeInteger(id) ? String(id) : id;
  return typeof text === 'string' && PATH_PARAMETER_PATTERNS.id!.test(text) ? text : undefined;
}

export function buildAuditRecord(facts: AuditFacts): AuditRecord {
  const outcome = auditOutcome(facts);
  const answered = facts.upstreamStatus !== undefined && facts.upstreamStatus >= 200 && facts.upstreamStatus < 300;
  const computeId =
    facts.pathComputeId ??
    (facts.operation.traits.ownership === 'creates' && outcome === 'forwarded' && answered
      ? createdComputeId(facts.responseStart)
      : undefined);
  const record: AuditRecord = {
    requestId: facts.requestId,
    operation: facts.operation.id,
    outcome,
    receivedAt: new Date(facts.receivedAtMs).toISOString(),
  };
  if (facts.caller !== undefined) record.caller = facts.caller;
  if (facts.account !== undefined) record.account = facts.account;
  if (computeId !== undefined) record.computeId = computeId;
  if (facts.status !== undefined) record.status = facts.status;
  if (facts.upstreamStatus !== undefined) record.upstreamStatus = facts.upstreamStatus;
  if (facts.rejection) {
    record.code = facts.rejection.code;
    if (facts.rejection.reason !== undefined) record.reason = facts.rejection.reason;
  }
  return record;
}

export type AuditSetting = { kind: 'stdout' } | { kind: 'file'; path: string };

/** `AUDIT_LOG`: `stdout` (the default) or a file path, appended to and created with mode 0600. */
export function parseAuditSetting(
  value: string | undefined,
): { ok: true; setting: AuditSetting } | { ok: false; problem: string } {
  // Parsed where every setting is (settings.ts); kept here for callers that read only this one.
  const read = readSettings({ AUDIT_LOG: value });
  return read.ok ? { ok: true, setting: read.settings.audit } : { ok: false, problem: read.problems[0]! };
}
