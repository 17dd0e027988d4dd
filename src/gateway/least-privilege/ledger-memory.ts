/**
 * The compute ledger in this process: the embedded default (one replica, no Redis). It defines the
 * semantics that `ledger-lua.ts` ports to Redis; the shared case table runs against both.
 *
 * Nothing here survives a restart, ownership included: a single-process gateway that restarts
 * forgets who created what (callers with `ownership` then see their old computes as foreign).
 */
import { StoreUnavailableError } from '../../redis/errors';
import type {
  ComputeLedger,
  CreateReservation,
  CreateReservationRequest,
  LedgerRepair,
  LedgerRepairResult,
  QuotaName,
} from './types';

/** Creates count against `createsPerHour` for this long. */
export const CREATES_WINDOW_MS = 3_600_000;

export interface MemoryComputeLedgerOptions {
  now?: () => number;
  /** Length of the per-hour window; tests shorten it. Default one hour. */
  windowMs?: number;
}

/** One quota that a reservation would break, before the ledger decides whether to record it. */
interface Exceeded {
  quota: QuotaName;
  limit: number;
  retryAfterMs?: number;
}

interface LiveCompute {
  callerId: string;
  /** The reservation whose create made it, so a repeated commit is told apart from a replay. */
  reservationId: string;
}

interface AccountState {
  /** computeId → callerId; never dropped. */
  readonly owners: Map<string, string>;
  readonly live: Map<string, LiveCompute>;
  readonly liveCounts: Map<string, number>;
  /** callerId → reservationId → hold expiry (ms). */
  readonly pending: Map<string, Map<string, number>>;
  /** callerId → reservationId → reserved at (ms). */
  readonly creates: Map<string, Map<string, number>>;
}

/**
 * Checks what both ledgers need before touching state: ids are non-empty strings, limits are
 * non-negative integers, the hold is a positive number of ms. A bad value is a bug in the caller.
 */
export function assertValidReservation(request: CreateReservationRequest): void {
  assertIds({ accountId: request.accountId, callerId: request.callerId, reservationId: request.reservationId });
  for (const name of ['callerLiveMax', 'callerPerHourMax', 'accountLiveMax'] as const) {
    const value = request[name];
    if (value !== undefined && !(Number.isSafeInteger(value) && value >= 0)) {
      throw new RangeError(`compute ledger: ${name} must be a non-negative integer, got ${String(value)}`);
    }
  }
  if (!(Number.isFinite(request.holdMs) && request.holdMs > 0)) {
    throw new RangeError(`compute ledger: holdMs must be a positive number of ms, got ${String(request.holdMs)}`);
  }
  if (typeof request.enforce !== 'boolean') throw new TypeError('compute ledger: enforce must be a boolean');
}

export function assertIds(ids: Record<string, string>): void {
  for (const [name, value] of Object.entries(ids)) {
    if (typeof value !== 'string' || value === '')
      throw new TypeError(`compute ledger: ${name} must be a non-empty string`);
  }
}

/** A rebuild's change names non-empty ids (the Redis script reads `''` as "none"). */
export function assertRepair(repair: LedgerRepair, index: number): void {
  const ids: Record<string, string> = { [`repairs[${index}].computeId`]: repair.computeId };
  if (repair.expected !== undefined) ids[`repairs[${index}].expected`] = repair.expected;
  if (repair.kind === 'owner') ids[`repairs[${index}].owner`] = repair.owner;
  else if (repair.caller !== undefined) ids[`repairs[${index}].caller`] = repair.caller;
  assertIds(ids);
}

export function assertWindowMs(windowMs: number): void {
  if (!(Number.isFinite(windowMs) && windowMs > 0))
    throw new RangeError(`compute ledger: windowMs must be positive, got ${windowMs}`);
}

export class MemoryComputeLedger implements ComputeLedger {
  private readonly accounts = new Map<string, AccountState>();
  private readonly now: () => number;
  private readonly windowMs: number;
  private closed = false;

  constructor(options: MemoryComputeLedgerOptions = {}) {
    this.now = options.now ?? Date.now;
    this.windowMs = options.windowMs ?? CREATES_WINDOW_MS;
    assertWindowMs(this.windowMs);
  }

  reserveCreate(request: CreateReservationRequest): Promise<CreateReservation> {
    return this.run(() => {
      assertValidReservation(request);
      const { callerId, reservationId } = request;
      const now = this.now();
      const account = this.account(request.accountId, now);
      const mine = account.pending.get(callerId);
      const creates = this.createsOf(account, callerId, now);
      // The same reservation again (a retry of one attempt chain) holds its place already.
      const selfPending = mine?.has(reservationId) ? 1 : 0;
      const selfCreate = creates?.has(reservationId) ? 1 : 0;
      let pendingTotal = 0;
      for (const holds of account.pending.values()) pendingTotal += holds.size;
      const callerLive = (account.liveCounts.get(callerId) ?? 0) + (mine?.size ?? 0) - selfPending;
      const accountLive = account.live.size + pendingTotal - selfPending;
      const hourCount = (creates?.size ?? 0) - selfCreate;

      const exceeded = this.firstExceeded(request, { callerLive, accountLive, hourCount }, creates, now);
      if (exceeded && request.enforce) return { ok: false, ...exceeded, recorded: false };
      setIn(account.pending, callerId, reservationId, now + request.holdMs);
      if (selfCreate === 0) setIn(account.creates, callerId, reservationId, now);
      return exceeded ? { ok: false, ...exceeded, recorded: true } : { ok: true };
    });
  }

  commitCreate(accountId: string, callerId: string, reservationId: string, computeId: string): Promise<void> {
    return this.run(() => {
      assertIds({ accountId, callerId, reservationId, computeId });
      const now = this.now();
      const account = this.account(accountId, now);
      const wasPending = deleteIn(account.pending, callerId, reservationId);
      const current = account.live.get(computeId);
      let record = true;
      if (current !== undefined) {
        if (current.callerId === callerId) {
          record = false;
          // An Idempotency-Key replay returned a compute that is already live: this create made nothing.
          if (current.reservationId !== reservationId) deleteIn(account.creates, callerId, reservationId);
        } else {
          // Live under another caller: the id was reused upstream (deleted outside the gateway).
          // The upstream says this create made it, so it moves to this caller.
          countDown(account.liveCounts, current.callerId);
        }
      } else if (account.owners.get(computeId) === callerId) {
        // Deleted through the gateway, and this replays the create that made it: not revived.
        record = false;
        if (wasPending) deleteIn(account.creates, callerId, reservationId);
      }
      if (record) {
        account.live.set(computeId, { callerId, reservationId });
        account.liveCounts.set(callerId, (account.liveCounts.get(callerId) ?? 0) + 1);
        account.owners.set(computeId, callerId);
      }
    });
  }

  releaseCreate(accountId: string, callerId: string, reservationId: string): Promise<void> {
    return this.run(() => {
      assertIds({ accountId, callerId, reservationId });
      const account = this.account(accountId, this.now());
      deleteIn(account.pending, callerId, reservationId);
      deleteIn(account.creates, callerId, reservationId);
    });
  }

  ownerOf(accountId: string, computeId: string): Promise<string | undefined> {
    return this.run(() => {
      assertIds({ accountId, computeId });
      return this.accounts.get(accountId)?.owners.get(computeId);
    });
  }

  ownersOf(accountId: string, computeIds: readonly string[]): Promise<(string | undefined)[]> {
    return this.run(() => {
      assertIds({ accountId });
      computeIds.forEach((computeId, i) => assertIds({ [`computeIds[${i}]`]: computeId }));
      const owners = this.accounts.get(accountId)?.owners;
      return computeIds.map((computeId) => owners?.get(computeId));
    });
  }

  recordDeleted(accountId: string, computeId: string): Promise<void> {
    return this.run(() => {
      assertIds({ accountId, computeId });
      const account = this.accounts.get(accountId);
      const current = account?.live.get(computeId);
      if (account === undefined || current === undefined) return;
      account.live.delete(computeId);
      countDown(account.liveCounts, current.callerId);
    });
  }

  counts(
    accountId: string,
    callerId: string,
  ): Promise<{ callerLive: number; accountLive: number; callerCreatesLastHour: number }> {
    return this.run(() => {
      assertIds({ accountId, callerId });
      const now = this.now();
      const account = this.account(accountId, now);
      let pendingTotal = 0;
      for (const holds of account.pending.values()) pendingTotal += holds.size;
      return {
        callerLive: (account.liveCounts.get(callerId) ?? 0) + (account.pending.get(callerId)?.size ?? 0),
        accountLive: account.live.size + pendingTotal,
        callerCreatesLastHour: this.createsOf(account, callerId, now)?.size ?? 0,
      };
    });
  }

  liveComputes(accountId: string): Promise<Map<string, string>> {
    return this.run(() => {
      assertIds({ accountId });
      const live = this.accounts.get(accountId)?.live ?? new Map<string, LiveCompute>();
      return new Map([...live].map(([computeId, { callerId }]) => [computeId, callerId]));
    });
  }

  applyRepairs(accountId: string, repairs: readonly LedgerRepair[]): Promise<LedgerRepairResult> {
    return this.run(() => {
      assertIds({ accountId });
      repairs.forEach(assertRepair);
      const account = this.account(accountId, this.now());
      const result = { applied: 0, stale: 0 };
      for (const repair of repairs) {
        const applied = repair.kind === 'owner' ? repairOwner(account, repair) : repairLive(account, repair);
        result[applied ? 'applied' : 'stale'] += 1;
      }
      // Recounted from the live computes, as the script does.
      account.liveCounts.clear();
      for (const { callerId } of account.live.values())
        account.liveCounts.set(callerId, (account.liveCounts.get(callerId) ?? 0) + 1);
      return result;
    });
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }

  private run<T>(body: () => T): Promise<T> {
    if (this.closed) return Promise.reject(new StoreUnavailableError('unavailable', 'compute ledger closed'));
    try {
      return Promise.resolve(body());
    } catch (error) {
      return Promise.reject(error as Error);
    }
  }

  /** The account's state with expired holds dropped (like ZREMRANGEBYSCORE in the script). */
  private account(accountId: string, now: number): AccountState {
    let account = this.accounts.get(accountId);
    if (account === undefined) {
      account = { owners: new Map(), live: new Map(), liveCounts: new Map(), pending: new Map(), creates: new Map() };
      this.accounts.set(accountId, account);
    }
    for (const [callerId, holds] of account.pending) {
      for (const [reservationId, expiresAtMs] of holds) if (expiresAtMs <= now) holds.delete(reservationId);
      if (holds.size === 0) account.pending.delete(callerId);
    }
    return account;
  }

  /** The caller's creates still inside the window (an entry counts while reservedAt > now - window). */
  private createsOf(account: AccountState, callerId: string, now: number): Map<string, number> | undefined {
    const creates = account.creates.get(callerId);
    if (creates === undefined) return undefined;
    for (const [reservationId, atMs] of creates) if (atMs <= now - this.windowMs) creates.delete(reservationId);
    if (creates.size > 0) return creates;
    account.creates.delete(callerId);
    return undefined;
  }

  /** Quotas in the documented order: caller.liveComputes, account.liveComputes, caller.createsPerHour. */
  private firstExceeded(
    request: CreateReservationRequest,
    counts: { callerLive: number; accountLive: number; hourCount: number },
    creates: Map<string, number> | undefined,
    now: number,
  ): Exceeded | undefined {
    const { callerLiveMax, accountLiveMax, callerPerHourMax } = request;
    if (callerLiveMax !== undefined && counts.callerLive + 1 > callerLiveMax)
      return { quota: 'caller.liveComputes', limit: callerLiveMax };
    if (accountLiveMax !== undefined && counts.accountLive + 1 > accountLiveMax)
      return { quota: 'account.liveComputes', limit: accountLiveMax };
    if (callerPerHourMax !== undefined && counts.hourCount + 1 > callerPerHourMax) {
      // Room comes back when the (count - max)-th oldest other entry (0-based) leaves the window.
      // Ties in time are ordered by id, as in a Redis sorted set.
      const others = [...(creates ?? [])]
        .filter(([reservationId]) => reservationId !== request.reservationId)
        .sort(([idA, a], [idB, b]) => a - b || (idA < idB ? -1 : idA > idB ? 1 : 0));
      const leaving = others[counts.hourCount - callerPerHourMax];
      return {
        quota: 'caller.createsPerHour',
        limit: callerPerHourMax,
        ...(leaving === undefined ? {} : { retryAfterMs: leaving[1] + this.windowMs - now }),
      };
    }
    return undefined;
  }
}

function setIn(outer: Map<string, Map<string, number>>, key: string, inner: string, value: number): void {
  let map = outer.get(key);
  if (map === undefined) {
    map = new Map();
    outer.set(key, map);
  }
  map.set(inner, value);
}

function deleteIn(outer: Map<string, Map<string, number>>, key: string, inner: string): boolean {
  const map = outer.get(key);
  if (map === undefined) return false;
  const deleted = map.delete(inner);
  if (map.size === 0) outer.delete(key);
  return deleted;
}

function countDown(counts: Map<string, number>, callerId: string): void {
  const next = (counts.get(callerId) ?? 0) - 1;
  if (next > 0) counts.set(callerId, next);
  else counts.delete(callerId);
}

/** Each change applies only where the ledger still holds what the plan saw (see the script's `repair`). */
function repairOwner(account: AccountState, repair: Extract<LedgerRepair, { kind: 'owner' }>): boolean {
  if (account.owners.get(repair.computeId) !== repair.expected) return false;
  account.owners.set(repair.computeId, repair.owner);
  return true;
}

function repairLive(account: AccountState, repair: Extract<LedgerRepair, { kind: 'live' }>): boolean {
  if (account.live.get(repair.computeId)?.callerId !== repair.expected) return false;
  if (repair.caller === undefined) account.live.delete(repair.computeId);
  else account.live.set(repair.computeId, { callerId: repair.caller, reservationId: 'rebuilt' });
  return true;
}
