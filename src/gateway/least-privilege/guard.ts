/**
 * Least privilege in the request path (issue #7): request bodies (parsed and held to the document
 * by `body/request-body.ts`) within the caller's constraints, actions only on the caller's own
 * computes, creates within quotas, and the ledger kept in step with what the upstream did. In
 * shadow mode a caller's would-be denials are logged and counted and the request goes on. Denials
 * are values, as everywhere in the request path.
 */
import { PATH_PARAMETER_PATTERNS, type Operation } from '../../catalog/catalog';
import type { CallerAccess } from '../access';
import { forwardedJsonBytes } from '../body/forwarded-json';
import type { JsonBody } from '../body/request-body';
import { isJsonObject } from '../body/strict-json';
import { PASSED, type Checked } from '../checked';
import type { GatewayRejection } from '../errors';
import type { Logger } from '../observability/logger';
import type { GatewayMetrics } from '../observability/metrics';
import { checkRequestBody, reservedTagViolations } from './constraints';
import { withOwnerTag } from './owner-tag';
import type { ComputeLedger, ConstraintViolation, QuotaName } from './types';

export type LeastPrivilegeCheck = 'constraint' | 'ownership' | 'quota';

export interface GuardDeps {
  ledger: ComputeLedger;
  logger: Logger;
  metrics: GatewayMetrics;
  /** How long a create's reservation holds its place when the upstream's answer never came. */
  holdMs: number;
}

/** How a create ended, for its place under the quotas. */
export type CreateEnding =
  | { kind: 'answered'; status: number; body: Buffer }
  /** Never forwarded (the schedule refused it, the caller left): nothing was created. */
  | { kind: 'not-sent' }
  /** Forwarded, answer lost (connection failure, timeout): the compute may exist. */
  | { kind: 'lost' };

/** What a create's reservation needs to be settled once the upstream has answered. */
export interface CreateTicket {
  accountId: string;
  callerId: string;
  reservationId: string;
  /** A place is held under the quotas (to release or commit); false: the create is only recorded once it succeeds. */
  held: boolean;
}

/** Operations on one compute, whose caller must own it when ownership applies. */
const actsOnOneCompute = (operation: Operation): boolean =>
  operation.traits.ownership === 'acts-on-one' || operation.traits.ownership === 'deletes';

const ledgerUnavailable = (reason: string): GatewayRejection => ({
  code: 'SERVICE_UNAVAILABLE',
  reason: `ledger-${reason}`,
});

function constraintRejection(violations: readonly ConstraintViolation[]): GatewayRejection {
  return {
    code: 'FORBIDDEN',
    publicMessage: `Request constraint violated: ${violations.map((v) => `${v.constraint}: ${v.message}`).join('; ')}`,
    reason: `constraint:${violations.map((v) => v.constraint).join(',')}`,
  };
}

/** The id of the compute in a create's 202 body (`data.id`), if the body has one. */
export function createdComputeId(body: Buffer): string | undefined {
  try {
    const parsed: unknown = JSON.parse(body.toString('utf8'));
    const data = isJsonObject(parsed) ? parsed.data : undefined;
    const id = isJsonObject(data) ? data.id : undefined;
    return typeof id === 'string' && PATH_PARAMETER_PATTERNS.id!.test(id) ? id : undefined;
  } catch {
    return undefined;
  }
}

export function createLeastPrivilegeGuard(deps: GuardDeps) {
  const { ledger, logger, metrics } = deps;

  /** A denial, or in shadow mode a log line and a count and no denial. */
  function denyUnlessShadow(
    caller: CallerAccess,
    check: LeastPrivilegeCheck,
    rejection: GatewayRejection,
  ): GatewayRejection | undefined {
    const shadow = caller.leastPrivilege.shadow;
    metrics.leastPrivilegeDenials.inc({ caller: caller.callerId, check, mode: shadow ? 'shadow' : 'enforced' });
    if (!shadow) return rejection;
    logger.warn(
      { caller: caller.callerId, check, wouldAnswer: rejection.code, reason: rejection.reason },
      'shadow mode: this request would have been denied',
    );
    return undefined;
  }

  /**
   * A body already parsed and held to the document (`acceptRequestBody`): for a create, no
   * caller-set `owner:` tag; for create and upsize, the caller's constraints. Returns the bytes to
   * forward: the checked value itself, written back (with the owner tag when configured), so the
   * upstream sees exactly what was checked.
   */
  function checkBody(
    caller: CallerAccess,
    operation: Operation,
    body: JsonBody | undefined,
  ): Checked<Buffer | undefined> {
    if (operation.traits.body === 'none') return { ok: true, value: body && forwardedJsonBytes(body.value) };
    let value = body?.value;
    // The `owner:` prefix is the gateway's: no caller may claim a compute for someone else.
    const reserved = operation.traits.body === 'create' ? reservedTagViolations(value) : [];
    if (reserved.length > 0) return { ok: false, rejection: constraintRejection(reserved) };
    // No body: the upstream's own validation answers, unless a constraint needs one.
    const violations = checkRequestBody(caller.leastPrivilege, operation.id, value);
    if (violations.length > 0) {
      const rejection = denyUnlessShadow(caller, 'constraint', constraintRejection(violations));
      if (rejection) return { ok: false, rejection };
    }
    if (value === undefined) return { ok: true, value: undefined };
    if (operation.traits.body === 'create' && caller.leastPrivilege.ownership?.ownerTag)
      value = withOwnerTag(value, caller.callerId);
    return { ok: true, value: forwardedJsonBytes(value) };
  }

  /** A caller limited to its own computes may not touch another's (or one the gateway never created). */
  async function checkOwnership(
    caller: CallerAccess,
    operation: Operation,
    computeId: string | undefined,
  ): Promise<Checked> {
    const ownership = caller.leastPrivilege.ownership;
    if (!ownership || computeId === undefined || !actsOnOneCompute(operation)) return PASSED;
    let owner: string | undefined;
    try {
      owner = await ledger.ownerOf(caller.accountId, computeId);
    } catch (error) {
      logger.error({ err: error, caller: caller.callerId }, 'compute ledger unreachable: ownership cannot be checked');
      // Shadow mode never denies; enforced ownership fails closed.
      return caller.leastPrivilege.shadow ? PASSED : { ok: false, rejection: ledgerUnavailable('owner-lookup') };
    }
    if (owner === caller.callerId) return PASSED;
    const rejection = denyUnlessShadow(
      caller,
      'ownership',
      ownership.foreign === 'not-found'
        ? {
            code: 'RESOURCE_NOT_FOUND',
            publicMessage: `Compute ${computeId} was not found.`,
            reason: 'ownership:hidden',
          }
        : {
            code: 'FORBIDDEN',
            publicMessage: `Compute ${computeId} was not created by this caller; it may act only on its own computes.`,
            reason: 'ownership:foreign',
          },
    );
    return rejection ? { ok: false, rejection } : PASSED;
  }

  /**
   * Takes a place under every quota that applies, atomically. Every successful create is recorded
   * (its owner, the live counts), quotas or not; but a create that no quota or ownership depends on
   * holds no place, so it costs no Redis round trip before it is sent (and none if it is refused).
   */
  async function reserveCreate(
    caller: CallerAccess,
    reservationId: string,
  ): Promise<Checked<CreateTicket | undefined>> {
    const quotas = caller.leastPrivilege.quotas;
    const ids = { accountId: caller.accountId, callerId: caller.callerId, reservationId };
    const dependsOnLedger =
      caller.leastPrivilege.ownership !== undefined ||
      quotas !== undefined ||
      caller.accountQuotas?.liveComputes !== undefined;
    if (!dependsOnLedger) return { ok: true, value: { ...ids, held: false } };
    const ticket: CreateTicket = { ...ids, held: true };
    let reservation;
    try {
      reservation = await ledger.reserveCreate({
        ...ids,
        callerLiveMax: quotas?.liveComputes,
        callerPerHourMax: quotas?.createsPerHour,
        accountLiveMax: caller.accountQuotas?.liveComputes,
        enforce: !caller.leastPrivilege.shadow,
        holdMs: deps.holdMs,
      });
    } catch (error) {
      // Only an enforced ownership or quota waits for the ledger; shadow mode goes on unrecorded.
      const refused = !caller.leastPrivilege.shadow;
      metrics.ledgerFailures.inc({ operation: 'reserve-create' });
      logger.error(
        { err: error, caller: caller.callerId, refused },
        'compute ledger unreachable: the create cannot be counted',
      );
      return refused ? { ok: false, rejection: ledgerUnavailable('reserve') } : { ok: true, value: undefined };
    }
    if (reservation.ok) return { ok: true, value: ticket };
    const rejection = denyUnlessShadow(
      caller,
      'quota',
      quotaRejection(reservation.quota, reservation.limit, reservation.retryAfterMs),
    );
    return rejection && !reservation.recorded ? { ok: false, rejection } : { ok: true, value: ticket };
  }

  /**
   * After a create: a 2xx makes the compute live and the caller's; a refusal, or no send at all,
   * frees the place; a lost answer leaves it held until `holdMs`, since the compute may exist.
   */
  async function settleCreate(ticket: CreateTicket, ending: CreateEnding): Promise<void> {
    try {
      if (ending.kind === 'lost') return;
      if (ending.kind === 'answered' && ending.status >= 200 && ending.status < 300) {
        const computeId = createdComputeId(ending.body);
        if (computeId !== undefined)
          return await ledger.commitCreate(ticket.accountId, ticket.callerId, ticket.reservationId, computeId);
        logger.error(
          { caller: ticket.callerId, requestId: ticket.reservationId },
          'create answered without a compute id; its place stays held until it expires',
        );
        return;
      }
      if (ticket.held) await ledger.releaseCreate(ticket.accountId, ticket.callerId, ticket.reservationId);
    } catch (error) {
      // The caller still gets the upstream's answer: the compute exists whatever the ledger says.
      metrics.ledgerFailures.inc({ operation: 'settle-create' });
      logger.error(
        { err: error, caller: ticket.callerId, requestId: ticket.reservationId },
        'compute ledger unreachable: the create was not recorded',
      );
    }
  }

  async function recordDeleted(caller: CallerAccess, computeId: string): Promise<void> {
    try {
      await ledger.recordDeleted(caller.accountId, computeId);
    } catch (error) {
      metrics.ledgerFailures.inc({ operation: 'record-delete' });
      logger.error(
        { err: error, caller: caller.callerId, computeId },
        'compute ledger unreachable: the delete was not recorded',
      );
    }
  }

  /** Owners of a page of computes, for a caller that lists only its own. */
  async function owners(caller: CallerAccess, computeIds: readonly string[]): Promise<Checked<(string | undefined)[]>> {
    try {
      return { ok: true, value: await ledger.ownersOf(caller.accountId, computeIds) };
    } catch (error) {
      logger.error({ err: error, caller: caller.callerId }, 'compute ledger unreachable: the list cannot be filtered');
      return { ok: false, rejection: ledgerUnavailable('owners') };
    }
  }

  /** Shadow mode: a list page showed `count` computes that ownership would have hidden. */
  function shadowHidden(caller: CallerAccess, count: number): void {
    metrics.leastPrivilegeDenials.inc({ caller: caller.callerId, check: 'ownership', mode: 'shadow' });
    logger.warn(
      { caller: caller.callerId, check: 'ownership', wouldHide: count },
      'shadow mode: this list would have hidden computes the caller did not create',
    );
  }

  return { checkBody, checkOwnership, reserveCreate, settleCreate, recordDeleted, owners, shadowHidden };
}

export type LeastPrivilegeGuard = ReturnType<typeof createLeastPrivilegeGuard>;

function quotaRejection(quota: QuotaName, limit: number, retryAfterMs: number | undefined): GatewayRejection {
  const when =
    retryAfterMs === undefined ? '' : ` A place frees up in ${Math.max(1, Math.ceil(retryAfterMs / 1000))} s.`;
  return {
    code: 'QUOTA_EXCEEDED',
    publicMessage: `Quota ${quota} (${limit}) reached.${when}`,
    reason: `quota:${quota}`,
  };
}
