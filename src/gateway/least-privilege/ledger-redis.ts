/**
 * The compute ledger in Redis, shared by every replica: one script call (one round trip) per
 * operation, atomic, on the keys of one account. A Redis that does not answer makes every method
 * reject with `StoreUnavailableError` (fail closed): a local fallback would grant the same last free
 * place on several replicas.
 */
import type { RedisConnection } from '../../redis';
import { StoreUnavailableError } from '../../redis/errors';
import { encodeKeyPart } from '../../schedule/keys';
import { LEDGER_SCRIPT } from './ledger-lua';
import { assertIds, assertRepair, assertValidReservation, assertWindowMs, CREATES_WINDOW_MS } from './ledger-memory';
import type {
  ComputeLedger,
  CreateReservation,
  CreateReservationRequest,
  LedgerRepair,
  LedgerRepairResult,
  QuotaName,
} from './types';

export const DEFAULT_LEDGER_KEY_PREFIX = 'sg:ledger';

/**
 * Redis keys of one account's ledger. Everything between `{` and `}` is the Cluster hash tag, so all
 * keys of an account live in one slot and one script can touch them together.
 */
export interface LedgerKeys {
  /** `<prefix>:{acct:<account>}`: the common part of every key below. */
  readonly id: string;
  /** Hash computeId → callerId. No TTL: ownership must outlive every other record. */
  readonly owners: string;
  /** Hash computeId → "<caller> <reservation>" of computes created and not deleted through the gateway. No TTL. */
  readonly live: string;
  /** Hash caller → live computes. No TTL. */
  readonly liveCounts: string;
  /** Sorted set of holds, scored by expiry; expires with its last hold. */
  readonly pending: string;
  /** Sorted set of one caller's creates, scored by time; expires a window after its newest entry. */
  hourOf(callerId: string): string;
}

export function ledgerKeys(prefix: string, accountId: string): LedgerKeys {
  const id = `${prefix}:{acct:${encodeKeyPart(accountId)}}`;
  return {
    id,
    owners: `${id}:owners`,
    live: `${id}:live`,
    liveCounts: `${id}:live-counts`,
    pending: `${id}:pending`,
    hourOf: (callerId) => `${id}:creates:${encodeKeyPart(callerId)}`,
  };
}

export type LedgerCommandKind = 'reserve' | 'commit' | 'release' | 'deleted' | 'owners' | 'counts' | 'live' | 'repair';

/** Changes per script call of a rebuild: each call is atomic and short, however many computes there are. */
export const REPAIRS_PER_CALL = 500;

/** The inverse of `encodeKeyPart` (every `%` it writes starts an escape, so this is exact). */
export function decodeKeyPart(encoded: string): string {
  return encoded.replace(/%([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

export interface RedisComputeLedgerOptions {
  /** Owned by the caller: `close()` leaves it open. */
  connection: RedisConnection;
  /** Default `sg:ledger`. Must not contain `{` or `}` (they would move the hash tag). */
  keyPrefix?: string;
  /** Tests only: length of the per-hour window. Default one hour. */
  windowMs?: number;
  /** Tests only: replaces Redis `TIME`, so windows and holds are tested without sleeping. */
  pinnedNow?: () => number;
}

const QUOTAS: ReadonlySet<string> = new Set<QuotaName>([
  'caller.liveComputes',
  'account.liveComputes',
  'caller.createsPerHour',
]);

export class RedisComputeLedger implements ComputeLedger {
  private readonly keyPrefix: string;
  private readonly windowMs: number;
  private readonly sent: Record<LedgerCommandKind, number> = {
    reserve: 0,
    commit: 0,
    release: 0,
    deleted: 0,
    owners: 0,
    counts: 0,
    live: 0,
    repair: 0,
  };
  private closed = false;

  constructor(private readonly options: RedisComputeLedgerOptions) {
    this.keyPrefix = options.keyPrefix ?? DEFAULT_LEDGER_KEY_PREFIX;
    if (this.keyPrefix === '' || /[{}]/.test(this.keyPrefix)) {
      throw new RangeError(
        `compute ledger: keyPrefix must be non-empty and contain no '{' or '}', got ${JSON.stringify(this.keyPrefix)}`,
      );
    }
    this.windowMs = options.windowMs ?? CREATES_WINDOW_MS;
    assertWindowMs(this.windowMs);
  }

  /** Script calls sent, by operation (NOSCRIPT re-sends are in the connection's counts). */
  commandCounts(): Readonly<Record<LedgerCommandKind, number>> {
    return { ...this.sent };
  }

  async reserveCreate(request: CreateReservationRequest): Promise<CreateReservation> {
    assertValidReservation(request);
    const keys = ledgerKeys(this.keyPrefix, request.accountId);
    const limit = (value: number | undefined): string | number => value ?? '';
    const reply = await this.run('reserve', callerKeys(keys, request.callerId), [
      encodeKeyPart(request.callerId),
      request.reservationId,
      limit(request.callerLiveMax),
      limit(request.callerPerHourMax),
      limit(request.accountLiveMax),
      request.enforce ? '1' : '0',
      request.holdMs,
    ]);
    if (reply.length === 1 && reply[0] === 'ok') return { ok: true };
    const [kind, quota, limitText, recorded, retry] = reply;
    if (
      kind !== 'quota' ||
      quota === undefined ||
      !QUOTAS.has(quota) ||
      (recorded !== '0' && recorded !== '1') ||
      retry === undefined
    ) {
      throw unexpected(reply);
    }
    return {
      ok: false,
      quota: quota as QuotaName,
      limit: num(limitText),
      recorded: recorded === '1',
      ...(retry === '' ? {} : { retryAfterMs: num(retry) }),
    };
  }

  async commitCreate(accountId: string, callerId: string, reservationId: string, computeId: string): Promise<void> {
    assertIds({ accountId, callerId, reservationId, computeId });
    const keys = callerKeys(ledgerKeys(this.keyPrefix, accountId), callerId);
    expectOk(await this.run('commit', keys, [callerId, encodeKeyPart(callerId), reservationId, computeId]));
  }

  async releaseCreate(accountId: string, callerId: string, reservationId: string): Promise<void> {
    assertIds({ accountId, callerId, reservationId });
    const keys = callerKeys(ledgerKeys(this.keyPrefix, accountId), callerId);
    expectOk(await this.run('release', keys, [encodeKeyPart(callerId), reservationId]));
  }

  async ownerOf(accountId: string, computeId: string): Promise<string | undefined> {
    const [owner] = await this.ownersOf(accountId, [computeId]);
    return owner;
  }

  async ownersOf(accountId: string, computeIds: readonly string[]): Promise<(string | undefined)[]> {
    assertIds({ accountId });
    computeIds.forEach((computeId, i) => assertIds({ [`computeIds[${i}]`]: computeId }));
    if (this.closed) throw closedError();
    if (computeIds.length === 0) return [];
    const reply = await this.run('owners', accountKeys(ledgerKeys(this.keyPrefix, accountId)), computeIds);
    if (reply.length !== computeIds.length) throw unexpected(reply);
    return reply.map((v) => (v.startsWith('=') ? v.slice(1) : v === '' ? undefined : thrower(reply)));
  }

  async recordDeleted(accountId: string, computeId: string): Promise<void> {
    assertIds({ accountId, computeId });
    expectOk(await this.run('deleted', accountKeys(ledgerKeys(this.keyPrefix, accountId)), [computeId]));
  }

  async counts(
    accountId: string,
    callerId: string,
  ): Promise<{ callerLive: number; accountLive: number; callerCreatesLastHour: number }> {
    assertIds({ accountId, callerId });
    const keys = callerKeys(ledgerKeys(this.keyPrefix, accountId), callerId);
    const reply = await this.run('counts', keys, [encodeKeyPart(callerId)]);
    if (reply.length !== 3) throw unexpected(reply);
    const [callerLive, accountLive, hour] = reply;
    return { callerLive: num(callerLive), accountLive: num(accountLive), callerCreatesLastHour: num(hour) };
  }

  async liveComputes(accountId: string): Promise<Map<string, string>> {
    assertIds({ accountId });
    const reply = await this.run('live', accountKeys(ledgerKeys(this.keyPrefix, accountId)), []);
    if (reply.length % 2 !== 0) throw unexpected(reply);
    const live = new Map<string, string>();
    for (let i = 0; i < reply.length; i += 2) live.set(reply[i]!, decodeKeyPart(reply[i + 1]!));
    return live;
  }

  async applyRepairs(accountId: string, repairs: readonly LedgerRepair[]): Promise<LedgerRepairResult> {
    assertIds({ accountId });
    repairs.forEach(assertRepair);
    const keys = accountKeys(ledgerKeys(this.keyPrefix, accountId));
    const total = { applied: 0, stale: 0 };
    // One call even without changes: the live counts are recounted either way.
    for (let first = 0; first === 0 || first < repairs.length; first += REPAIRS_PER_CALL) {
      const args = repairs.slice(first, first + REPAIRS_PER_CALL).flatMap(repairArgs);
      const reply = await this.run('repair', keys, args);
      if (reply.length !== 2) throw unexpected(reply);
      total.applied += num(reply[0]);
      total.stale += num(reply[1]);
    }
    return total;
  }

  /** Stops this ledger; the connection belongs to whoever passed it in. */
  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }

  private async run(
    op: LedgerCommandKind,
    keys: readonly string[],
    args: readonly (string | number)[],
  ): Promise<string[]> {
    if (this.closed) throw closedError();
    const pinned = this.options.pinnedNow?.();
    this.sent[op] += 1;
    const reply = await this.options.connection.runScript(LEDGER_SCRIPT, keys, [
      op,
      pinned === undefined ? '' : String(pinned),
      this.windowMs,
      ...args,
    ]);
    if (!Array.isArray(reply) || !reply.every((v) => typeof v === 'string')) throw unexpected(reply);
    return reply as string[];
  }
}

/** The script's four arguments of one change; the live hash holds encoded callers, the owners hash raw ones. */
function repairArgs(repair: LedgerRepair): string[] {
  if (repair.kind === 'owner') return ['owner', repair.computeId, repair.expected ?? '', repair.owner];
  const enc = (caller: string | undefined) => (caller === undefined ? '' : encodeKeyPart(caller));
  return ['live', repair.computeId, enc(repair.expected), enc(repair.caller)];
}

function accountKeys(keys: LedgerKeys): string[] {
  return [keys.owners, keys.live, keys.liveCounts, keys.pending];
}

function callerKeys(keys: LedgerKeys, callerId: string): string[] {
  return [...accountKeys(keys), keys.hourOf(callerId)];
}

function expectOk(reply: string[]): void {
  if (reply.length !== 1 || reply[0] !== 'ok') throw unexpected(reply);
}

function closedError(): StoreUnavailableError {
  return new StoreUnavailableError('unavailable', 'compute ledger closed');
}

/** A reply the script cannot give: a bug, or a different script under our name. Loud, like a script error. */
function unexpected(reply: unknown): StoreUnavailableError {
  return new StoreUnavailableError('script', `compute ledger script: unexpected reply ${JSON.stringify(reply)}`);
}

function thrower(reply: unknown): never {
  throw unexpected(reply);
}

function num(value: string | undefined): number {
  const n = Number(value);
  if (value === undefined || value === '' || !Number.isFinite(n)) throw unexpected(value);
  return n;
}
