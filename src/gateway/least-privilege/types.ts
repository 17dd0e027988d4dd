/**
 * Least privilege beyond endpoints (issue #7): what a caller may put in a request body, which
 * computes it may act on, and how many it may hold. These types are the contract between the
 * policy (which resolves them per caller), the pure checks, the compute ledger (Redis or memory)
 * and the request path.
 */

/** Limits on the body of `computes.create`; an absent field allows anything. */
export interface CreateConstraints {
  readonly regions?: readonly string[];
  readonly images?: readonly string[];
  readonly specifications?: readonly string[];
  /** Every one of these tags must be present. */
  readonly requiredTags?: readonly string[];
  /** Each tag must match one of these (exact, or a `*` glob such as `pool-*`); required tags are implied. */
  readonly allowedTags?: readonly string[];
  /** A JavaScript regular expression the whole hostName must match (anchored when resolved). */
  readonly hostNamePattern?: string;
  /** `false`: `withPublicIp` may not be true. */
  readonly withPublicIp?: boolean;
}

/** Limits on the body of `computes.upsize`. */
export interface UpsizeConstraints {
  readonly specifications?: readonly string[];
}

export interface CallerConstraints {
  readonly create?: CreateConstraints;
  readonly upsize?: UpsizeConstraints;
}

/** The caller acts only on computes it created through the gateway. */
export interface OwnershipPolicy {
  /** What a request on someone else's compute gets: 403, or 404 to hide that it exists. */
  readonly foreign: 'forbidden' | 'not-found';
  /** Adds the tag `owner:<caller>` to every compute the caller creates. */
  readonly ownerTag: boolean;
}

export interface CallerQuotas {
  /** Computes created by this caller through the gateway and not deleted through it. */
  readonly liveComputes?: number;
  /** Creates in any rolling hour (refused and failed creates do not count). */
  readonly createsPerHour?: number;
}

export interface AccountQuotas {
  readonly liveComputes?: number;
}

/** Everything beyond scopes that applies to one caller. */
export interface LeastPrivilegePolicy {
  readonly constraints?: CallerConstraints;
  readonly ownership?: OwnershipPolicy;
  readonly quotas?: CallerQuotas;
  /** Nothing is denied by constraints, ownership or quotas: would-be denials are logged and counted. */
  readonly shadow: boolean;
}

/** One broken constraint; `constraint` is its policy path, e.g. `create.regions`. */
export interface ConstraintViolation {
  readonly constraint: string;
  /** Public: names the constraint and the offending value, never anything secret. */
  readonly message: string;
}

export type QuotaName = 'caller.liveComputes' | 'caller.createsPerHour' | 'account.liveComputes';

export interface CreateReservationRequest {
  accountId: string;
  callerId: string;
  /** Unique per create attempt chain (the request id); commit and release name it. */
  reservationId: string;
  callerLiveMax?: number;
  callerPerHourMax?: number;
  accountLiveMax?: number;
  /** Shadow mode: record the reservation even when a quota is full, and report what would be refused. */
  enforce: boolean;
  /** How long an uncommitted reservation holds its place (a gateway that died mid-create). */
  holdMs: number;
}

export type CreateReservation =
  | { ok: true }
  /** In shadow mode `recorded` is true: the reservation exists although the quota is full. */
  | { ok: false; quota: QuotaName; limit: number; recorded: boolean; retryAfterMs?: number };

/**
 * One change of a ledger rebuild (`ledger-rebuild.ts`), applied only where the ledger still holds
 * `expected` (undefined: nothing), so a create or delete that ran since the plan was made is kept.
 */
export type LedgerRepair =
  /** The compute's owner becomes `owner`. Owners are never removed. */
  | { kind: 'owner'; computeId: string; expected: string | undefined; owner: string }
  /** The compute is live under `caller`, or (undefined) not live. */
  | { kind: 'live'; computeId: string; expected: string | undefined; caller: string | undefined };

/** `stale`: changes skipped because the ledger no longer held what the plan saw. */
export interface LedgerRepairResult {
  applied: number;
  stale: number;
}

/**
 * Who created which compute, and the counts quotas need. Shared by all replicas (Redis); the
 * embedded default keeps it in memory. Every method is atomic on its own.
 */
export interface ComputeLedger {
  /** Checks every quota given and, when all pass (or `enforce` is false), records a pending create. */
  reserveCreate(request: CreateReservationRequest): Promise<CreateReservation>;
  /** The create succeeded: the compute is live and owned by the caller. Idempotent per compute id. */
  commitCreate(accountId: string, callerId: string, reservationId: string, computeId: string): Promise<void>;
  /** The create was refused by the upstream: the place is free again and the hour's count drops. */
  releaseCreate(accountId: string, callerId: string, reservationId: string): Promise<void>;
  /** The caller that created this compute through the gateway, if any. */
  ownerOf(accountId: string, computeId: string): Promise<string | undefined>;
  /** Owners of several computes at once, in order (undefined where unknown). */
  ownersOf(accountId: string, computeIds: readonly string[]): Promise<(string | undefined)[]>;
  /** The compute was deleted through the gateway: it no longer counts as live. Ownership stays. */
  recordDeleted(accountId: string, computeId: string): Promise<void>;
  /** Live and pending counts, for explain, metrics and tests. */
  counts(
    accountId: string,
    callerId: string,
  ): Promise<{ callerLive: number; accountLive: number; callerCreatesLastHour: number }>;
  /** Every live compute of the account and the caller that created it (for `ledger rebuild`). */
  liveComputes(accountId: string): Promise<Map<string, string>>;
  /**
   * Applies a rebuild's changes (each atomic, and in batches), then recounts the account's live
   * counts from its live computes. Pending creates and the hourly counts are left alone.
   */
  applyRepairs(accountId: string, repairs: readonly LedgerRepair[]): Promise<LedgerRepairResult>;
  close(): Promise<void>;
}
