/**
 * `GET /computes` for a caller that may see only its own computes. The upstream cannot filter by
 * creator, so the gateway reads the account's whole list (pages of 100, each an upstream request
 * with its own schedule slot and retries), keeps the caller's computes by the ledger, and answers
 * the page the caller asked for with `meta` counting only those: the same envelope, pagination
 * that adds up.
 */
import type { ForwardRequest } from '../forward/proxy';
import type { LeastPrivilegeGuard } from './guard';
import { isJsonObject } from '../body/strict-json';
import type { Checked } from '../checked';
import type { CallerAccess } from '../access';
import type { AttemptsResult } from '../upstream-attempts';
import type { Exchange, ForwardEnding } from './stage';

/** The provider's largest page. */
export const UPSTREAM_PAGE_LIMIT = 100;
/** 10 000 computes; an account beyond that is answered 502 rather than scanned for ever. */
export const MAX_UPSTREAM_PAGES = 100;
/** One page of 100 computes is far below this. */
export const MAX_LIST_PAGE_BYTES = 4 * 1024 * 1024;

export interface ListPaging {
  page: number;
  limit: number;
}

/** The caller's `page` and `limit` (already validated as positive integers by the target checker). */
export function listPaging(query: ReadonlyArray<[string, string]>): ListPaging | { error: string } {
  const value = (name: string, fallback: number) => Number(query.find(([n]) => n === name)?.[1] ?? fallback);
  const paging = { page: value('page', 1), limit: value('limit', 20) };
  if (paging.limit > UPSTREAM_PAGE_LIMIT) return { error: `limit: must be at most ${UPSTREAM_PAGE_LIMIT}` };
  return paging;
}

interface ListEnvelope {
  success: boolean;
  message?: unknown;
  data: unknown[];
  meta: { total: number; page: number; limit: number };
  requestId?: unknown;
  timestamp?: unknown;
}

export function parseListEnvelope(body: Buffer): ListEnvelope | undefined {
  try {
    const parsed: unknown = JSON.parse(body.toString('utf8'));
    if (
      !isJsonObject(parsed) ||
      !Array.isArray(parsed.data) ||
      !isJsonObject(parsed.meta) ||
      typeof parsed.meta.total !== 'number'
    )
      return undefined;
    return parsed as unknown as ListEnvelope;
  } catch {
    return undefined;
  }
}

/** The items of a list page that the caller created; an item without a string id is nobody's. */
async function callersOwn(
  guard: LeastPrivilegeGuard,
  caller: CallerAccess,
  items: readonly unknown[],
): Promise<Checked<unknown[]>> {
  const ids = items.map((item) => (isJsonObject(item) && typeof item.id === 'string' ? item.id : undefined));
  const known = ids.filter((id): id is string => id !== undefined);
  const owners = await guard.owners(caller, known);
  if (!owners.ok) return owners;
  const ownerOf = new Map(known.map((id, i) => [id, owners.value[i]]));
  return { ok: true, value: items.filter((_, i) => ids[i] !== undefined && ownerOf.get(ids[i]!) === caller.callerId) };
}

/**
 * Shadow mode for a list: the caller gets the page unfiltered; how many of its computes would have
 * been hidden is logged and counted. A page that cannot be read or checked is simply relayed.
 */
export async function countHiddenInShadow(
  guard: LeastPrivilegeGuard,
  caller: CallerAccess,
  page: Buffer,
): Promise<void> {
  const envelope = parseListEnvelope(page);
  if (envelope === undefined) return;
  const mine = await callersOwn(guard, caller, envelope.data);
  if (mine.ok && mine.value.length < envelope.data.length)
    guard.shadowHidden(caller, envelope.data.length - mine.value.length);
}

const badUpstreamList = (reason: string): AttemptsResult => ({
  kind: 'rejected',
  rejection: { code: 'UPSTREAM_UNAVAILABLE', reason },
  attempts: 0,
});

/**
 * The caller's page of its own computes. `answered`: the filtered page is written; otherwise what
 * the caller gets instead, as from one attempt chain.
 */
export async function listOwnComputes(
  guard: LeastPrivilegeGuard,
  exchange: Pick<Exchange, 'caller' | 'request' | 'send' | 'relay'>,
  paging: ListPaging,
): Promise<ForwardEnding> {
  const owned: unknown[] = [];
  let attempts = 0;
  let queueWaitMs = 0;

  for (let page = 1; page <= MAX_UPSTREAM_PAGES; page += 1) {
    const request: ForwardRequest = {
      upstreamPath: `/computes?page=${page}&limit=${UPSTREAM_PAGE_LIMIT}`,
      headers: exchange.request.headers,
      capture: { maxBytes: MAX_LIST_PAGE_BYTES },
    };
    // Each page is a request of its own: its own slot, its own deadline.
    const sent = await exchange.send(request);
    attempts += sent.attempts;
    if (sent.kind !== 'sent') return sent.kind === 'rejected' ? { ...sent, attempts } : sent;
    queueWaitMs += sent.queueWaitMs;
    const { outcome } = sent;
    // The upstream's refusal (401, 429, 5xx…) or a transport failure is the caller's answer.
    if (outcome.kind !== 'captured' || outcome.upstreamStatus !== 200) return { ...sent, attempts, queueWaitMs };
    const envelope = parseListEnvelope(outcome.body);
    if (envelope === undefined) return badUpstreamList('upstream-list-unreadable');
    const mine = await callersOwn(guard, exchange.caller, envelope.data);
    if (!mine.ok) return { kind: 'rejected', rejection: mine.rejection, attempts };
    owned.push(...mine.value);
    if (envelope.data.length < UPSTREAM_PAGE_LIMIT || page * UPSTREAM_PAGE_LIMIT >= envelope.meta.total) {
      const { page: wanted, limit } = paging;
      const body = {
        ...envelope,
        data: owned.slice((wanted - 1) * limit, wanted * limit),
        meta: { ...envelope.meta, total: owned.length, page: wanted, limit },
      };
      exchange.relay(outcome, Buffer.from(JSON.stringify(body)));
      return { kind: 'answered', attempts, queueWaitMs };
    }
  }
  return badUpstreamList('upstream-list-too-long');
}
