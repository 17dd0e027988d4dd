/**
 * `ledger rebuild` as a pure plan: what the compute ledger of one account should hold, read from the
 * provider's own state (each compute's `owner:<caller>` tag and state), compared with what it holds.
 * For a Redis lost without persistence, or computes created or deleted outside the gateway.
 *
 * The rules, in short: a compute tagged `owner:<caller>` (one such tag, naming a caller of this
 * account) is that caller's, and live unless it is being destroyed; a live compute without an owner
 * tag keeps whatever the ledger says (callers with `ownerTag: false` write none); a compute the
 * ledger counts as live that the provider no longer has, or is destroying, stops counting.
 * Owners are only ever added or changed, never removed: a deleted compute's owner record is what
 * keeps a replayed create from reviving it (ledger-lua.ts, `commit`).
 */
import type { LedgerRepair } from './types';
import { OWNER_TAG_PREFIX, isReservedTag } from './owner-tag';

/** A compute as the provider lists it (the fields the plan reads). */
export interface ProviderCompute {
  readonly id: string;
  readonly state: string;
  readonly tags: readonly string[];
}

/** States of a compute on its way out: it no longer counts as live (the gateway frees it on the delete's 2xx). */
export const GONE_STATES: ReadonlySet<string> = new Set(['DESTROYING', 'DESTROYED']);

export interface RebuildInput {
  /** The callers of this account in the policy: only their owner tags are restored. */
  readonly accountCallers: readonly string[];
  readonly computes: readonly ProviderCompute[];
  /** The ledger's live computes (compute id → caller), read before the provider's list. */
  readonly live: ReadonlyMap<string, string>;
  /** The ledger's owners of the provider's computes (absent: none). */
  readonly owners: ReadonlyMap<string, string>;
}

/** How a compute's tags name its owner. */
export type OwnerTagReading =
  | { kind: 'owner'; callerId: string }
  | { kind: 'none' }
  /** More than one `owner:` tag, or one in another letter case: written outside the gateway. */
  | { kind: 'ambiguous'; tags: string[] }
  /** `owner:<name>` where `name` is not a caller of this account. */
  | { kind: 'not-on-account'; callerId: string };

export interface CallerLedger {
  callerId: string;
  liveBefore: number;
  liveAfter: number;
  /** The caller's live computes after the rebuild, in the provider's order. */
  computeIds: string[];
}

export interface RebuildPlan {
  computes: { total: number; live: number; gone: number };
  /** Every caller of the account, and any other the ledger counts live computes for. */
  callers: CallerLedger[];
  /** Live at the provider, no owner tag, no owner in the ledger: no caller with ownership may act on them. */
  unowned: string[];
  ambiguous: { computeId: string; tags: string[] }[];
  notOnAccount: { computeId: string; callerId: string }[];
  /** Owners the ledger had that a tag contradicts (shown apart: they change who may act on a compute). */
  ownerChanges: { computeId: string; from: string; to: string }[];
  repairs: LedgerRepair[];
}

export function readOwnerTag(tags: readonly string[], accountCallers: ReadonlySet<string>): OwnerTagReading {
  const reserved = tags.filter(isReservedTag);
  if (reserved.length === 0) return { kind: 'none' };
  const [tag] = reserved;
  if (reserved.length > 1 || !tag!.startsWith(OWNER_TAG_PREFIX)) return { kind: 'ambiguous', tags: reserved };
  const callerId = tag!.slice(OWNER_TAG_PREFIX.length);
  return accountCallers.has(callerId) ? { kind: 'owner', callerId } : { kind: 'not-on-account', callerId };
}

export function planLedgerRebuild(input: RebuildInput): RebuildPlan {
  const callers = new Set(input.accountCallers);
  const plan: RebuildPlan = {
    computes: { total: input.computes.length, live: 0, gone: 0 },
    callers: [],
    unowned: [],
    ambiguous: [],
    notOnAccount: [],
    ownerChanges: [],
    repairs: [],
  };
  const liveAfter = new Map(input.live);
  const setLive = (computeId: string, callerId: string | undefined): void => {
    const expected = input.live.get(computeId);
    if (expected === callerId) return;
    plan.repairs.push({ kind: 'live', computeId, expected, caller: callerId });
    if (callerId === undefined) liveAfter.delete(computeId);
    else liveAfter.set(computeId, callerId);
  };
  const listed = new Set<string>();

  for (const compute of input.computes) {
    listed.add(compute.id);
    const isLive = !GONE_STATES.has(compute.state);
    plan.computes[isLive ? 'live' : 'gone'] += 1;
    const reading = readOwnerTag(compute.tags, callers);
    const owner = input.owners.get(compute.id);
    if (reading.kind === 'owner') {
      if (owner !== reading.callerId) {
        plan.repairs.push({ kind: 'owner', computeId: compute.id, expected: owner, owner: reading.callerId });
        if (owner !== undefined) plan.ownerChanges.push({ computeId: compute.id, from: owner, to: reading.callerId });
      }
      setLive(compute.id, isLive ? reading.callerId : undefined);
      continue;
    }
    if (reading.kind === 'ambiguous') plan.ambiguous.push({ computeId: compute.id, tags: reading.tags });
    if (reading.kind === 'not-on-account')
      plan.notOnAccount.push({ computeId: compute.id, callerId: reading.callerId });
    if (!isLive) setLive(compute.id, undefined);
    else if (reading.kind === 'none' && owner === undefined && !input.live.has(compute.id))
      plan.unowned.push(compute.id);
  }
  // Counted live by the ledger, gone from the provider's list: deleted outside the gateway.
  for (const computeId of input.live.keys()) if (!listed.has(computeId)) setLive(computeId, undefined);

  plan.callers = callerLedgers(input, liveAfter);
  return plan;
}

function countByCaller(live: ReadonlyMap<string, string>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const callerId of live.values()) counts.set(callerId, (counts.get(callerId) ?? 0) + 1);
  return counts;
}

function callerLedgers(input: RebuildInput, liveAfter: ReadonlyMap<string, string>): CallerLedger[] {
  const before = countByCaller(input.live);
  const after = countByCaller(liveAfter);
  const ids = [...new Set([...input.accountCallers, ...before.keys(), ...after.keys()])];
  const order = new Map(input.computes.map((compute, i) => [compute.id, i]));
  const position = (computeId: string) => order.get(computeId) ?? Number.MAX_SAFE_INTEGER;
  return ids.map((callerId) => ({
    callerId,
    liveBefore: before.get(callerId) ?? 0,
    liveAfter: after.get(callerId) ?? 0,
    computeIds: [...liveAfter]
      .filter(([, owner]) => owner === callerId)
      .map(([computeId]) => computeId)
      .sort((a, b) => position(a) - position(b)),
  }));
}
