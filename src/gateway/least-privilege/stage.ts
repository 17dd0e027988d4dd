/**
 * Least privilege as one stage of the request path: the pipeline calls it at three
 * points and knows nothing of constraints, ownership, quotas or the ledger. What an operation does
 * is read from its catalog traits, never from its id.
 *
 * There is deliberately no off switch for a policy whose callers use no constraints, ownership or quotas:
 * the stage still keeps the compute ledger (every create and delete, for every caller), so a reload that
 * later grants ownership finds the computes made before it, and the reserved-owner-tag check of a
 * create body holds for every caller.
 */
import type { Operation } from '../../catalog/catalog';
import type { CallerAccess } from '../access';
import type { JsonBody } from '../body/request-body';
import type { Checked } from '../checked';
import type { CapturedResponse, ForwardOutcome, ForwardRequest } from '../forward/proxy';
import type { AttemptsResult } from '../upstream-attempts';
import type { CreateEnding, LeastPrivilegeGuard } from './guard';
import { countHiddenInShadow, listOwnComputes, listPaging, MAX_LIST_PAGE_BYTES } from './own-computes-list';

/** A request ready for the upstream, and the pipeline's means of sending it. */
export interface Exchange {
  caller: CallerAccess;
  operation: Operation;
  /** The compute in the path, if the operation names one. */
  computeId: string | undefined;
  /** The caller's query, already checked against the document. */
  query: ReadonlyArray<[string, string]>;
  request: ForwardRequest;
  /** Names a create's place under the quotas: a repeat (same Idempotency-Key) takes the same place. */
  reservationId: string;
  /** One attempt chain: a slot per attempt, retries when safe, within the caller's deadline. */
  send(request: ForwardRequest): Promise<AttemptsResult>;
  /** Answers the caller with a page the gateway built instead of the upstream's. */
  relay(captured: CapturedResponse, body: Buffer): void;
}

/** `answered`: the stage wrote the caller's answer itself (an own-only list). */
export type ForwardEnding = AttemptsResult | { kind: 'answered'; attempts: number; queueWaitMs: number };

export interface LeastPrivilegeStage {
  /**
   * After the body is read and parsed: the bytes to forward, written from the checked value
   * (constraints and owner tag for create and upsize).
   */
  checkBody(caller: CallerAccess, operation: Operation, body: JsonBody | undefined): Checked<Buffer | undefined>;
  /** Before a slot is taken: may this caller act on the compute the path names? */
  checkTarget(caller: CallerAccess, operation: Operation, computeId: string | undefined): Promise<Checked>;
  /** Sends the request, keeping the ledger in step with what the upstream did. */
  forward(exchange: Exchange): Promise<ForwardEnding>;
}

/** A create's 202 carries one compute; far below this. */
const MAX_CREATE_ANSWER_BYTES = 1024 * 1024;

function createEnding(sent: AttemptsResult): CreateEnding {
  if (sent.kind !== 'sent') return { kind: 'not-sent' };
  return sent.outcome.kind === 'captured'
    ? { kind: 'answered', status: sent.outcome.upstreamStatus, body: sent.outcome.body }
    : { kind: 'lost' };
}

const isSuccess = (outcome: ForwardOutcome): boolean =>
  outcome.kind !== 'failed' && outcome.upstreamStatus >= 200 && outcome.upstreamStatus < 300;

export function createLeastPrivilegeStage(guard: LeastPrivilegeGuard): LeastPrivilegeStage {
  /**
   * A create takes its place under the quotas before it leaves; its answer is held in memory, so
   * the new compute is in the ledger before the caller can use it.
   */
  async function create(exchange: Exchange): Promise<ForwardEnding> {
    const reserved = await guard.reserveCreate(exchange.caller, exchange.reservationId);
    if (!reserved.ok) return { kind: 'rejected', rejection: reserved.rejection, attempts: 0 };
    const sent = await exchange.send({ ...exchange.request, capture: { maxBytes: MAX_CREATE_ANSWER_BYTES } });
    if (reserved.value) await guard.settleCreate(reserved.value, createEnding(sent));
    return sent;
  }

  async function list(exchange: Exchange): Promise<ForwardEnding> {
    const { caller } = exchange;
    if (!caller.leastPrivilege.ownership) return exchange.send(exchange.request);
    if (!caller.leastPrivilege.shadow) {
      const paging = listPaging(exchange.query);
      if ('error' in paging)
        return {
          kind: 'rejected',
          rejection: { code: 'VALIDATION_ERROR', publicMessage: paging.error, reason: 'own-list-limit' },
          attempts: 0,
        };
      return listOwnComputes(guard, exchange, paging);
    }
    // Shadow mode: the page unfiltered, what it would hide counted.
    const sent = await exchange.send({ ...exchange.request, capture: { maxBytes: MAX_LIST_PAGE_BYTES } });
    if (sent.kind === 'sent' && sent.outcome.kind === 'captured' && sent.outcome.upstreamStatus === 200)
      await countHiddenInShadow(guard, caller, sent.outcome.body);
    return sent;
  }

  async function remove(exchange: Exchange): Promise<ForwardEnding> {
    const sent = await exchange.send(exchange.request);
    if (sent.kind === 'sent' && isSuccess(sent.outcome) && exchange.computeId !== undefined)
      await guard.recordDeleted(exchange.caller, exchange.computeId);
    return sent;
  }

  return {
    checkBody: guard.checkBody,
    checkTarget: guard.checkOwnership,
    forward(exchange) {
      switch (exchange.operation.traits.ownership) {
        case 'creates':
          return create(exchange);
        case 'lists':
          return list(exchange);
        case 'deletes':
          return remove(exchange);
        case 'acts-on-one':
        case 'none':
          return exchange.send(exchange.request);
      }
    },
  };
}
