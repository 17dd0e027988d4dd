/**
 * The rate schedule as the gateway uses it: reserve a slot on the schedule of (account, class),
 * wait for it, send. One factory composes the stores:
 *
 * - `memory`: no Redis configured; the calendar runs in this process.
 * - `shared`: the calendar runs in Redis (one script call per request), shared by all replicas.
 * - `fallback`: Redis failed or timed out; a local calendar at rate ÷ expectedReplicas takes over
 *   until Redis answers again, then the shared calendar is seeded past every local slot.
 *
 * Denials are values; a store failure never reaches the caller, it changes the mode.
 */
import type { OperationClass } from '../catalog/catalog';
import {
  createRedisConnection,
  isLoudStoreFailure,
  StoreUnavailableError,
  type RedisConnection,
  type RedisConnectionOptions,
} from '../redis';
import type { CalendarReply, CalendarReserveInput, FairnessParams, ScheduleInfo, UpstreamCounts } from './calendar';
import type { ScheduleStore, ShiftReply } from './store';
import {
  DEFAULT_SAFETY,
  fallbackRatePerSecond,
  gridSendToleranceMs,
  intervalMs,
  scheduleFor,
  sendBudgetMs,
  sendToleranceMs,
} from './intervals';
import { phaseChannel, scheduleKeys, shiftChannel, type ScheduleKeys } from './keys';
import { MemoryScheduleStore } from './memory-store';
import { noScheduleCommands, RedisScheduleStore, type ScheduleCommandKind } from './redis-store';
import { StoreClock } from './store-clock';
import { ScheduleActivity } from './activity';
import { SCHEDULE_TUNING_DEFAULTS, type FallbackOptions } from './tuning';
import { preciseNow } from './precise-clock';
import { WindowPhaseLearner, type PhaseObservation } from './window-phase';
import { chooseGrid, MAX_CLOCK_UNCERTAINTY_MS, type GridChoice, type GridKind } from './window-grid';
import { decodeObservations, encodeObservations, ObservationOutbox, OBSERVATIONS_MARKER } from './phase-sharing';
import { SlotPrefetch, type ParkedFor, type PrefetchCounts } from './slot-prefetch';
import { AdaptiveMargin, type SafetyBounds } from './adaptive-margin';
import { FLEET_PROPOSAL_TTL_MS, FLEET_PROPOSE_EVERY_MS, proposeFleetSafety } from './fleet-safety';
import { randomUUID } from 'node:crypto';

export type { FallbackOptions } from './tuning';
import type {
  AccountRateLimits,
  GrantedReservation,
  RateLimitReport,
  RejectedReservation,
  RejectionReason,
  Reservation,
  ReserveRequest,
  ScheduleClass,
  ScheduleMode,
  ScheduleState,
  SlotOutcome,
  SlotTicket,
} from './types';

/** Structural, so a pino logger fits. */
export interface ScheduleLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface Timers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface RedisScheduleOptions extends RedisConnectionOptions {
  /** Key and channel prefix. Default `sg`. */
  keyPrefix?: string;
}

export interface FairnessOptions {
  /** A caller counts in the sum of weights while seen this recently. Default 5000. */
  activeWindowMs: number;
  /** A caller's fairness state (and reserved headroom) is dropped after this long idle. Default 300000. */
  forgetCallerMs: number;
  /** Free slots within this many intervals of now are idle capacity, open to any caller. Default 2. */
  idleLookaheadSlots: number;
  /** Cap on the sum of reserved shares. Default 0.5. */
  maxReservedShareTotal: number;
}

export interface RateScheduleOptions {
  /** Absent: the in-memory schedule (`memory` mode). `connection`: share a connection built elsewhere in src/redis. */
  redis?: RedisScheduleOptions | { connection: RedisConnection; keyPrefix?: string };
  /** The provider's limits of an account; undefined for an unknown account (a programming error: reserve throws). */
  limits: (accountId: string) => AccountRateLimits | undefined;
  /** Fraction of the provider limit the schedule uses, in (0, 1]; covers dispatch jitter. An account's `safety`
   * overrides it. Default `DEFAULT_SAFETY` (0.95). */
  safety?: number;
  /** Replicas sharing the schedule; each falls back to rate ÷ this. Use the maximum (HPA max). */
  expectedReplicas: number;
  now?: () => number;
  logger?: ScheduleLogger;
  /** Default per-caller bound on future reservations per schedule. Default 32. */
  maxQueuedPerCaller?: number;
  fairness?: Partial<FairnessOptions>;
  fallback?: Partial<FallbackOptions>;
  /** Idle schedules' state expires this long after their last slot. Default 60000. */
  idleTtlMs?: number;
  /** Slots of upstream deficit ignored before the schedule slows down (response latency, counting skew). Default 2. */
  feedbackTolerance?: number;
  /**
   * How late after its slot a request may still be released, in ms; a later wake-up takes a new
   * slot. Default: half the send budget of the schedule's safety (`sendToleranceMs`), 26 ms at 0.95.
   */
  sendToleranceMs?: number;
  /**
   * Learn a fixed-window provider's window phase from upstream answers (`observe` with `sentAtMs`)
   * and, once sure, place each window's slots inside it at 100 % of the limit (docs §4c). Default false
   * (opt-in, `SCHEDULE_LEARN_WINDOW_PHASE=1`; see tuning.ts).
   */
  learnWindowPhase?: boolean;
  /**
   * Shared mode: on a schedule at this many requests per second or more (after safety), a caller
   * sending back to back finds its next slot already reserved (slot-prefetch.ts, docs §3c): no
   * round trip before the request. 0: never. Not on an adaptive safety's schedule. Default 1000.
   */
  prefetchMinRatePerSecond?: number;
  onStateChange?: (state: ScheduleState) => void;
  /** The safety a schedule runs at: called when this replica first uses it, and on every adaptive change. */
  onSafetyChange?: (accountId: string, scheduleClass: ScheduleClass, safety: number) => void;
  timers?: Timers;
}

export interface ScheduleStats {
  mode: ScheduleMode;
  /** Redis commands sent by this schedule (probes and seeds included); 0 in memory mode. */
  redisCommands: Record<
    ScheduleCommandKind | 'probe' | 'calibrate' | 'total' | 'eval' | 'evalsha' | 'noscriptRetries',
    number
  >;
  /** Reservations answered from what this replica already knew (a shared pause past the deadline): no round trip. */
  answeredLocally: number;
  /**
   * Reservations that shared a script call with others (`reserve-many`: sent while the previous call
   * was out, or a request's own with the slots parked for its caller).
   */
  batchedReservations: number;
  granted: Record<ScheduleMode, number>;
  rejected: Record<RejectionReason, number>;
  /** Grants taken from idle capacity beyond the caller's share. */
  idleCapacityGrants: number;
  storeFailures: number;
  modeChanges: number;
  /** Slot-to-dispatch delay measured by `waitForSlot`: how late callers were released. */
  dispatch: { count: number; totalLateMs: number; maxLateMs: number };
  /** Wake-ups later than the send tolerance: not released, a new slot is needed. */
  lateWakeups: number;
  /** Slots reserved a request ahead (`prefetchMinRatePerSecond`): taken, passed unused, refused by the store. */
  prefetch: PrefetchCounts;
}

/**
 * One schedule (account, class) as this replica sees it now, for the status page. Read on demand
 * from what the schedule already keeps; nothing of it is computed on the request path.
 */
export interface ScheduleQueueView {
  accountId: string;
  scheduleClass: ScheduleClass;
  /** The rate this replica schedules at now: limit × safety, or the fallback's share while Redis is down. */
  ratePerSecond: number;
  /** The safety in force on this replica (the measured one for an adaptive safety). */
  safety: number;
  /** This replica's sends on the schedule (requests released on their slot) since start. */
  sentTotal: number;
  /** This replica's sends per completed second, oldest first (the last `ACTIVITY_HISTORY_SECONDS` − 1). */
  sendsPerSecond: number[];
  /** Sends in the last 10 s, the current second included. */
  sentLast10s: number;
  /** Requests of this replica waiting for their slot now, and how long the longest has waited. */
  waiting: number;
  oldestWaitMs?: number;
  /** No new slot before this (a pause after an upstream 429, a recovery guard), on `now()`; absent when none. */
  pausedUntilMs?: number;
  /** Upstream 429s this replica observed on the schedule, and the last one's time. */
  upstreamRefusals: number;
  lastRefusalAtMs?: number;
}

export interface ObserveOptions {
  status?: number;
  /** When the request was written upstream, on `now()`: feeds the window phase learner. */
  sentAtMs?: number;
}

export interface ScheduleWindowPhase {
  accountId: string;
  scheduleClass: ScheduleClass;
  grid: GridKind;
  /** A provider window boundary at `phaseMs + k·1000` on the store's clock, ± `uncertaintyMs`; when confident. */
  phaseMs?: number;
  uncertaintyMs?: number;
  brackets: number;
  relearns: number;
}

export interface FleetSlots {
  accountId: string;
  scheduleClass: ScheduleClass;
  slotsLastSecond: number;
}

export interface RateSchedule {
  reserve(request: ReserveRequest): Promise<Reservation>;
  /** Waits until the slot, following pauses learnt meanwhile; `expired` when a pause pushed it past the deadline. */
  waitForSlot(reservation: GrantedReservation, options?: { signal?: AbortSignal }): Promise<SlotOutcome>;
  /**
   * From a `ready` release to the request's first byte about to leave (the forwarder's last check),
   * in ms: the second part of the send delay an adaptive safety is sized from. Ignored otherwise.
   */
  recordWireDelay(accountId: string, operationClass: OperationClass, delayMs: number): void;
  /**
   * The account's limits no longer map any class to this schedule (`limits: auto` adopted another
   * structure or a lower rate): its waiters here answer `late`, so each takes a new slot under the
   * limits now in force. `pauseMs` > 0 also pauses it for every replica (announced like any pause),
   * so the waiters of replicas that have not switched yet do not send meanwhile.
   */
  retire(accountId: string, scheduleClass: ScheduleClass, pauseMs: number): Promise<void>;
  /** Shared pause (e.g. after an upstream 429) until `untilMs` on this process's clock. */
  pause(accountId: string, operationClass: OperationClass, untilMs: number): Promise<void>;
  /** Feeds an upstream response's headers back: a 429 pauses; remaining below expectation slows the schedule. */
  observe(
    accountId: string,
    operationClass: OperationClass,
    report: RateLimitReport,
    options?: ObserveOptions,
  ): Promise<void>;
  /** Per schedule used here: the grid it runs on and its phase learner's progress (status page, tests). */
  windowPhases(): ScheduleWindowPhase[];
  state(): ScheduleState;
  stats(): ScheduleStats;
  /** Every schedule this replica has used since start. */
  queues(): ScheduleQueueView[];
  /**
   * Shared mode: per schedule this replica has used, the slots every replica took in the last second,
   * read from the shared calendar (one script call each). Undefined in other modes; a schedule whose
   * read failed is left out. For the status page, never the request path.
   */
  fleetSlotsLastSecond(): Promise<FleetSlots[] | undefined>;
  close(): Promise<void>;
}

interface Runtime {
  keys: ScheduleKeys;
  accountId: string;
  scheduleClass: ScheduleClass;
  intervalMs: number;
  fallbackIntervalMs: number;
  /** Longest a release may come after its slot (see `sendToleranceMs`). */
  sendToleranceMs: number;
  /** Present when the account's safety is adaptive: sized from this replica's measured send delays. */
  margin?: AdaptiveMargin;
  /** Shared mode, adaptive: the fleet's lowest proposal (`fleet-safety.ts`), and when this replica last proposed. */
  fleet?: { safety: number; atMs: number; next?: { safety: number; atMs: number } };
  fleetProposedAtMs?: number;
  fleetProposedSafety?: number;
  /** What the last shared reply said, on our clock. */
  shared: { epoch: string; shiftTotalMs: number; tailAtMs?: number; floorAtMs?: number; lastReplyAtMs?: number };
  /** The local store's (memory or fallback) view. */
  local: { epoch: string; shiftTotalMs: number };
  /** The fallback episode this runtime's local calendar was seeded for. */
  fallbackEpisode: number;
  /** The latest upstream counts, waiting to ride on the next shared reservation. */
  pendingReport?: { counts: UpstreamCounts; tolerance: number; observedAtMs: number };
  /** Latest slot granted to this replica, any source. */
  ownTailAtMs?: number;
  waiters: Set<() => void>;
  activity: ScheduleActivity;
  /** Set by `retire`; cleared when the limits map a class here again. */
  retired: boolean;
  /** The provider's limit per window for this schedule and the safety in force (the grid's inputs). */
  limitPerWindow: number;
  safety: number;
  /** Learns a fixed-window provider's phase from this replica's answers and, while unsure, the others'. */
  phase: WindowPhaseLearner;
  /** This replica's answers waiting to go to the others while its learner is unsure (phase-sharing.ts). */
  phaseOutbox: ObservationOutbox;
  /** The lateness the learner allows a sliding window's sends (`phaseLateMs`); a new one starts it over. */
  phaseLateMs: number;
  /** The grid of the latest reservation. */
  grid: GridKind;
  /** When this replica last told the others the phase it is sure of. */
  phaseAnnouncedAtMs?: number;
  /**
   * The provider looks fixed-window (here or, announced, at another replica): the learning rate from
   * then on. Not before: a change of interval re-grids, which costs the queue's holes and upsets
   * fairness for a moment, so a sliding-window provider is never made to pay it.
   */
  boundarySeen: boolean;
}

const DEFAULT_FAIRNESS: FairnessOptions = {
  activeWindowMs: 5000,
  forgetCallerMs: 300_000,
  idleLookaheadSlots: 2,
  maxReservedShareTotal: 0.5,
};
/**
 * After a return to the shared schedule, remaining-count feedback waits one provider window (1 s)
 * past the last request the local fallback may still send (its slots reach `fallback.maxWaitMs`
 * beyond the return): until then the provider counts requests the shared calendar never held.
 */
const PROVIDER_WINDOW_MS = 1000;
/** Upstream counts older than this (half a provider window) no longer describe the window they came from. */
const PENDING_REPORT_MAX_AGE_MS = 500;
/** A shared tail older than this at an outage is not trusted: others may have reserved since. */
const STALE_TAIL_MS = 1000;
/**
 * Rate-limit headers carry whole seconds: `Retry-After: 1` or a reset at the next second says
 * "somewhere within the next second", not "wait a second". Only what a provider asks beyond that
 * resolution is a pause it really wants (a penalty, another client exhausting the key).
 */
const HEADER_RESOLUTION_MS = 1000;
/** The provider's window, for the phase learner: limits are per second. */
const WINDOW_MS = 1000;
/** A replica sure of the phase repeats it this often, for replicas that started since. */
const PHASE_ANNOUNCE_EVERY_MS = 5000;
/** TIME samples taken when a connection becomes ready, so the first slots are mapped precisely. */
const CALIBRATION_SAMPLES = 3;
/** A prefetch is granted only a slot this close (on a dense schedule, one without a queue). */
const PREFETCH_MAX_WAIT_MS = 1;
/**
 * Slots parked in one call at most (as many as fit in `PREFETCH_MAX_WAIT_MS`): each call costs its
 * caller's thread CPU, so several; few enough that parked slots are taken well within their
 * freshness and few are lost when a caller stops (why 8: docs/rate-schedule.md §3c).
 */
const PREFETCH_BATCH = 8;
/** Callers with parked-slot bookkeeping at most, per replica (least recently seen dropped first). */
const MAX_PREFETCH_LANES = 10_000;

export function createRateSchedule(options: RateScheduleOptions): RateSchedule {
  return new RateScheduleImpl(options);
}

class RateScheduleImpl implements RateSchedule {
  private readonly now: () => number;
  private readonly timers: Timers;
  private readonly fairness: FairnessOptions;
  private readonly fallbackOptions: FallbackOptions;
  private readonly maxQueued: number;
  private readonly idleTtlMs: number;
  private readonly keyPrefix: string;
  private readonly runtimes = new Map<string, Runtime>();
  private readonly connection?: RedisConnection;
  private readonly ownsConnection: boolean;
  /** The window phase learner is opt-in (`learnWindowPhase`). */
  private readonly learnsPhase: boolean;
  private readonly shared?: RedisScheduleStore;
  /** Memory mode: the schedule; redis mode: the fallback calendar. */
  private readonly local: MemoryScheduleStore;
  private mode: ScheduleMode;
  private sinceMs: number;
  private reason?: string;
  private episode = 0;
  private episodeStartedAtMs = 0;
  private everShared = false;
  private recovering?: Promise<void>;
  private initial?: Promise<void>;
  private probeTimer?: unknown;
  private closed = false;
  private probes = 0;
  private calibrations = 0;
  private answeredLocally = 0;
  /** Slots parked for callers sending back to back on dense schedules (shared mode). */
  private readonly prefetch = new SlotPrefetch(MAX_PREFETCH_LANES);
  private readonly prefetchMinRate: number;
  /** Redis TIME on this process's clock (shared mode); the local stores run on `now` itself. */
  private readonly storeClock = new StoreClock();
  /** This process among the replicas proposing an adaptive safety. */
  private readonly replicaId = randomUUID();
  private readonly counters = {
    granted: { shared: 0, fallback: 0, memory: 0 } as Record<ScheduleMode, number>,
    rejected: { deadline: 0, backlog: 0, paused: 0 } as Record<RejectionReason, number>,
    idleCapacityGrants: 0,
    storeFailures: 0,
    modeChanges: 0,
    dispatch: { count: 0, totalLateMs: 0, maxLateMs: 0 },
    lateWakeups: 0,
  };

  constructor(private readonly options: RateScheduleOptions) {
    const safety = options.safety ?? DEFAULT_SAFETY;
    if (!(safety > 0 && safety <= 1)) throw new RangeError(`safety must be in (0, 1], got ${safety}`);
    fallbackRatePerSecond(1, safety, options.expectedReplicas); // validates expectedReplicas
    this.now = options.now ?? preciseNow;
    this.timers = options.timers ?? {
      setTimeout: (cb, ms) => setTimeout(cb, ms),
      clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
    };
    this.fairness = { ...DEFAULT_FAIRNESS, ...options.fairness };
    this.fallbackOptions = { ...SCHEDULE_TUNING_DEFAULTS.fallback, ...options.fallback };
    this.maxQueued = options.maxQueuedPerCaller ?? SCHEDULE_TUNING_DEFAULTS.maxQueuedPerCaller;
    this.idleTtlMs = options.idleTtlMs ?? SCHEDULE_TUNING_DEFAULTS.idleTtlMs;
    this.keyPrefix = options.redis?.keyPrefix ?? 'sg';
    this.sinceMs = this.now();
    this.learnsPhase = options.learnWindowPhase === true;
    this.prefetchMinRate = options.prefetchMinRatePerSecond ?? SCHEDULE_TUNING_DEFAULTS.prefetchMinRatePerSecond;
    if (options.redis === undefined) {
      this.mode = 'memory';
      this.ownsConnection = false;
      this.local = new MemoryScheduleStore({ now: this.now, idleTtlMs: this.idleTtlMs, epochPrefix: 'mem' });
      return;
    }
    this.mode = 'shared';
    this.local = new MemoryScheduleStore({ now: this.now, idleTtlMs: this.idleTtlMs, epochPrefix: 'fallback' });
    if ('connection' in options.redis) {
      this.connection = options.redis.connection;
      this.ownsConnection = false;
    } else {
      this.connection = createRedisConnection(options.redis);
      this.ownsConnection = true;
    }
    this.shared = new RedisScheduleStore({
      connection: this.connection,
      keyPrefix: this.keyPrefix,
      idleTtlMs: this.idleTtlMs,
    });
    const connection = this.connection;
    connection.onStatusChange((status) => {
      if (status === 'down') {
        this.enterFallback('connection lost');
        // The next server may be another machine (failover): its clock is measured anew, and the
        // window phases learnt on the old one are learnt again.
        this.storeClock.reset();
        for (const rt of this.runtimes.values()) rt.phase.forget();
      } else void this.recover();
    });
    const listen = (channel: string, onMessage: (message: string) => void, withoutIt: string): void => {
      connection.subscribe(channel, onMessage).catch((error: unknown) => {
        this.options.logger?.warn({ err: describe(error) }, `rate schedule: ${withoutIt}`);
      });
    };
    // Only a learning replica has phases to hear: no subscription otherwise.
    if (this.learnsPhase)
      listen(
        phaseChannel(this.keyPrefix),
        (message) => this.onPhaseMessage(message),
        'window phase announcements unavailable; each replica learns the phase alone',
      );
    listen(
      shiftChannel(this.keyPrefix),
      (message) => this.onShiftMessage(message),
      'pause announcements unavailable; replicas learn pauses from replies',
    );
    this.reason = 'connecting';
    this.initial = this.awaitFirstConnection(
      connection,
      ('connectTimeoutMs' in options.redis ? options.redis.connectTimeoutMs : undefined) ?? 1000,
    );
  }

  // ---- public API -------------------------------------------------------------------------

  async reserve(request: ReserveRequest): Promise<Reservation> {
    if (this.closed) throw new Error('rate schedule: closed');
    validate(request);
    const rt = this.runtime(request.accountId, request.operationClass);
    if (this.initial !== undefined) await this.initial;
    if (this.recovering !== undefined) await this.recovering;
    if (this.mode === 'shared') {
      const startedAt = this.now();
      const known = this.knownPause(rt, request, startedAt);
      if (known !== undefined) return known;
      const lane = this.prefetches(rt) ? prefetchLane(rt, request) : undefined;
      const parked = lane && this.takeParked(rt, lane, request, startedAt);
      if (parked !== undefined) return parked;
      // The caller's next slot, when it sends back to back, in the same call: after this one.
      const ahead = lane && this.aheadFor(rt, lane, request, startedAt, false);
      const own = lane === undefined ? request : this.beyondParked(lane, request);
      try {
        const { replies, replyAt, grid } = await this.reserveShared(
          rt,
          ahead === undefined ? [own] : [own, ...aheadRequests(ahead)],
          startedAt,
        );
        if (ahead !== undefined) this.parkAhead(rt, ahead, replies.slice(1), replyAt, grid);
        return this.finish(rt, request, replies[0]!, 'shared', replyAt, 'shared', rt.shared.epoch, grid);
      } catch (error) {
        if (ahead !== undefined) this.prefetch.settle(ahead.lane.key, 'failed', this.now(), ahead.count);
        this.storeFailed(error);
      }
    }
    return this.reserveLocal(rt, request);
  }

  async waitForSlot(reservation: GrantedReservation, options: { signal?: AbortSignal } = {}): Promise<SlotOutcome> {
    const rt = this.runtimes.get(reservation.ticket.scheduleKey);
    const startedAt = this.now();
    // Seen by the status page while it waits; in the same function, so no extra promise per request.
    const waiter = rt?.activity.beginWait(startedAt);
    try {
      for (;;) {
        if (options.signal?.aborted || this.closed) return { kind: 'aborted' };
        // Not sent under limits no longer in force: a new slot under the current ones.
        if (rt?.retired === true) return { kind: 'late', waitedMs: this.now() - startedAt, lateMs: 0 };
        const shiftMs = rt === undefined ? 0 : extraShift(rt, reservation.ticket);
        const target = reservation.slotAtMs + shiftMs;
        if (target > reservation.deadlineAtMs + 1e-6)
          return { kind: 'expired', retryAfterMs: Math.max(1, Math.ceil(target - reservation.deadlineAtMs)) };
        const now = this.now();
        if (now >= target) {
          const lateMs = now - target;
          const d = this.counters.dispatch;
          d.count += 1;
          d.totalLateMs += lateMs;
          if (lateMs > d.maxLateMs) d.maxLateMs = lateMs;
          // Held back or not, it is part of the release delay an adaptive margin must cover.
          rt?.margin?.recordReleaseLate(now, lateMs);
          // Sent now, it would land in the provider's window beside the next slots' requests.
          const sendByMs = reservation.latestSendAtMs + shiftMs;
          if (now > sendByMs) {
            this.counters.lateWakeups += 1;
            return { kind: 'late', waitedMs: now - startedAt, lateMs };
          }
          rt?.activity.sends.add(now);
          return { kind: 'ready', waitedMs: now - startedAt, lateMs, releasedAtMs: now, sendByMs };
        }
        await this.sleepOrWake(rt, target - now, options.signal);
      }
    } finally {
      if (waiter !== undefined) rt?.activity.endWait(waiter);
    }
  }

  recordWireDelay(accountId: string, operationClass: OperationClass, delayMs: number): void {
    const limits = this.options.limits(accountId);
    if (limits === undefined) return;
    const keys = scheduleKeys(this.keyPrefix, accountId, scheduleFor(limits, operationClass).scheduleClass);
    this.runtimes.get(keys.id)?.margin?.recordWireDelay(this.now(), delayMs);
  }

  async retire(accountId: string, scheduleClass: ScheduleClass, pauseMs: number): Promise<void> {
    const keys = scheduleKeys(this.keyPrefix, accountId, scheduleClass);
    const rt = this.runtimes.get(keys.id);
    if (rt === undefined) {
      // Never used here, perhaps by other replicas: their waiters still need the announced pause.
      if (pauseMs > 0 && this.mode === 'shared' && this.initial === undefined)
        await this.shared!.pause(keys, pauseMs).catch((error: unknown) => this.storeFailed(error));
      return;
    }
    rt.retired = true;
    wake(rt);
    if (pauseMs > 0) await this.shift(rt, (store) => store.pause(rt.keys, pauseMs));
  }

  async pause(accountId: string, operationClass: OperationClass, untilMs: number): Promise<void> {
    const rt = this.runtime(accountId, operationClass);
    const delayMs = untilMs - this.now();
    if (!(delayMs > 0)) return;
    this.options.logger?.info(
      { schedule: rt.keys.id, delayMs: Math.round(delayMs) },
      'rate schedule: paused by upstream',
    );
    await this.shift(rt, (store) => store.pause(rt.keys, delayMs));
  }

  async observe(
    accountId: string,
    operationClass: OperationClass,
    report: RateLimitReport,
    options: ObserveOptions = {},
  ): Promise<void> {
    if (options.status === 429) {
      await this.onUpstreamRefusal(accountId, operationClass, report);
      return;
    }
    if (options.sentAtMs !== undefined) this.learnPhase(accountId, operationClass, report, options.sentAtMs);
    if (report.remaining === undefined || report.limit === undefined || report.resetAtMs === undefined) return;
    // Back on the shared schedule less than a provider window ago: its calendar lacks the slots the
    // upstream counted meanwhile (granted by the local fallback, or lost with a restarted Redis), so
    // the count would read them as a stranger's and pause on top of the transition guard.
    if (
      this.mode === 'shared' &&
      this.counters.modeChanges > 0 &&
      this.now() - this.sinceMs < PROVIDER_WINDOW_MS + this.fallbackOptions.maxWaitMs
    )
      return;
    const rt = this.runtime(accountId, operationClass);
    const counts = { remaining: report.remaining, limit: report.limit, resetKey: String(report.resetAtMs) };
    const tolerance = this.options.feedbackTolerance ?? SCHEDULE_TUNING_DEFAULTS.feedbackTolerance;
    if (this.mode === 'shared') {
      // No command of its own: the counts ride on this schedule's next reservation, so an admitted
      // request costs one round trip. The latest counts win; stale ones are dropped unsent.
      rt.pendingReport = { counts, tolerance, observedAtMs: this.now() };
      return;
    }
    // In fallback the local calendar holds only this replica's slots (and none of the shared ones
    // still answering), while `remaining` counts every replica's: the other replicas' share would
    // read as a stranger's and pause this one for seconds. 429s above still pause it.
    if (this.mode === 'fallback') return;
    this.prepareLocal(rt);
    this.learnLocal(rt, await this.local.report(rt.keys, counts, tolerance));
  }

  state(): ScheduleState {
    return this.reason === undefined
      ? { mode: this.mode, sinceMs: this.sinceMs }
      : { mode: this.mode, sinceMs: this.sinceMs, reason: this.reason };
  }

  stats(): ScheduleStats {
    const byKind = this.shared?.commandCounts() ?? noScheduleCommands();
    const conn = this.connection?.counts() ?? { total: 0, eval: 0, evalsha: 0, noscriptRetries: 0 };
    const c = this.counters;
    return {
      mode: this.mode,
      redisCommands: {
        ...byKind,
        probe: this.probes,
        calibrate: this.calibrations,
        total: conn.total,
        eval: conn.eval,
        evalsha: conn.evalsha,
        noscriptRetries: conn.noscriptRetries,
      },
      answeredLocally: this.answeredLocally,
      batchedReservations: this.shared?.batchedReservationCount() ?? 0,
      granted: { ...c.granted },
      rejected: { ...c.rejected },
      idleCapacityGrants: c.idleCapacityGrants,
      storeFailures: c.storeFailures,
      modeChanges: c.modeChanges,
      dispatch: { ...c.dispatch },
      lateWakeups: c.lateWakeups,
      prefetch: { ...this.prefetch.counts },
    };
  }

  queues(): ScheduleQueueView[] {
    const now = this.now();
    return [...this.runtimes.values()].map((rt) => {
      const { activity } = rt;
      const floorAtMs = this.mode === 'shared' ? rt.shared.floorAtMs : this.local.inspect(rt.keys)?.floor;
      const oldestSinceMs = activity.oldestWaitSinceMs();
      const view: ScheduleQueueView = {
        accountId: rt.accountId,
        scheduleClass: rt.scheduleClass,
        ratePerSecond: 1000 / (this.mode === 'fallback' ? rt.fallbackIntervalMs : rt.intervalMs),
        safety: rt.safety,
        sentTotal: activity.sends.total(),
        sendsPerSecond: activity.sends.completedSeconds(now),
        sentLast10s: activity.sends.lastSeconds(now, 10),
        waiting: activity.waitingCount(),
        upstreamRefusals: activity.upstreamRefusals,
      };
      if (oldestSinceMs !== undefined) view.oldestWaitMs = now - oldestSinceMs;
      if (floorAtMs !== undefined && floorAtMs > now) view.pausedUntilMs = floorAtMs;
      if (activity.lastRefusalAtMs !== undefined) view.lastRefusalAtMs = activity.lastRefusalAtMs;
      return view;
    });
  }

  async fleetSlotsLastSecond(): Promise<FleetSlots[] | undefined> {
    const shared = this.shared;
    if (this.mode !== 'shared' || shared === undefined || this.initial !== undefined) return undefined;
    const reads = [...this.runtimes.values()].map(async (rt): Promise<FleetSlots | undefined> => {
      try {
        const slotsLastSecond = await shared.recentSlots(rt.keys, PROVIDER_WINDOW_MS);
        return { accountId: rt.accountId, scheduleClass: rt.scheduleClass, slotsLastSecond };
      } catch {
        // A status read does not change the mode: the request path finds an outage itself.
        return undefined;
      }
    });
    return (await Promise.all(reads)).filter((read) => read !== undefined);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopProbe();
    for (const rt of this.runtimes.values()) for (const wake of rt.waiters) wake();
    if (this.ownsConnection) await this.connection?.close();
  }

  // ---- reservations -----------------------------------------------------------------------

  private input(
    rt: Runtime,
    request: ReserveRequest,
    source: 'shared' | 'local',
    nowMs: number,
    grid: GridChoice,
  ): CalendarReserveInput {
    const local = source === 'local';
    const iv = local && this.mode === 'fallback' ? rt.fallbackIntervalMs : grid.intervalMs;
    const fairness: FairnessParams = {
      activeWindowMs: this.fairness.activeWindowMs,
      forgetCallerMs: this.fairness.forgetCallerMs,
      lookaheadMs: this.fairness.idleLookaheadSlots * iv,
      maxReservedShareTotal: this.fairness.maxReservedShareTotal,
    };
    const maxWaitMs =
      this.mode === 'fallback' ? Math.min(request.maxWaitMs, this.fallbackOptions.maxWaitMs) : request.maxWaitMs;
    const input: CalendarReserveInput = {
      intervalMs: iv,
      callerId: request.callerId,
      weight: request.weight,
      reservedShare: request.reservedShare ?? 0,
      maxWaitMs,
      maxQueued: request.maxQueued ?? this.maxQueued,
      fairness,
      knownEpoch: local ? '' : rt.shared.epoch,
      lossGuardMs: this.fallbackOptions.transitionGuardMs,
      idleTtlMs: this.idleTtlMs,
    };
    if (!local && rt.ownTailAtMs !== undefined) input.hintOffsetMs = rt.ownTailAtMs - nowMs;
    if (local && this.mode === 'fallback') return input;
    // An old grid's free slots are kept only if it is as sparse as the limit and safety in force ask
    // (a lowered safety means its budget no longer covers the delays measured). Not in fallback: each
    // replica's local grid there is sized for its share, not for the limit.
    input.minKeptIntervalMs = rt.intervalMs;
    if (grid.anchorMs !== undefined) {
      input.anchorMs = grid.anchorMs;
      input.anchorSlackMs = grid.anchorSlackMs ?? 0;
      if (grid.anchorWindow !== undefined) input.anchorWindow = grid.anchorWindow;
    }
    return input;
  }

  // ---- slots reserved a request ahead (slot-prefetch.ts) ------------------------------------

  /** Dense schedules only, and not an adaptive safety's: a parked slot used late would read as release delay. */
  private prefetches(rt: Runtime): boolean {
    return this.prefetchMinRate > 0 && rt.margin === undefined && 1000 / rt.intervalMs >= this.prefetchMinRate;
  }

  /** A slot parked for this caller, still fresh: the request goes on it without a round trip (and parks the next). */
  private takeParked(
    rt: Runtime,
    lane: PrefetchLane,
    request: ReserveRequest,
    nowMs: number,
  ): GrantedReservation | undefined {
    if (rt.retired) return undefined;
    const slot = this.prefetch.take(
      lane.key,
      lane.parking,
      nowMs,
      nowMs + request.maxWaitMs,
      // A slot of an earlier Redis state is not in the calendar; a fresh one has half its tolerance left.
      (s) =>
        s.ticket.epoch !== rt.shared.epoch ? -Infinity : (s.slotAtMs + s.latestSendAtMs) / 2 + extraShift(rt, s.ticket),
    );
    if (slot === undefined) return undefined;
    this.counters.granted.shared += 1;
    if (slot.idleCapacity) this.counters.idleCapacityGrants += 1;
    const ahead = this.aheadFor(rt, lane, request, nowMs, true);
    if (ahead !== undefined) void this.prefetchSlots(rt, ahead);
    return {
      ...slot,
      waitMs: Math.max(0, slot.slotAtMs - nowMs),
      deadlineAtMs: Math.max(nowMs + request.maxWaitMs, slot.slotAtMs),
    };
  }

  /**
   * The caller's slots parked here (or on their way) stand in for its next requests' own: they do not
   * count against the request's queue bound. A prefetch is granted only under the bound itself, so
   * the caller holds at most twice its bound, the parked half each within 1 ms and only while the
   * schedule has no queue.
   */
  private beyondParked(lane: PrefetchLane, request: ReserveRequest): ReserveRequest {
    const parked = this.prefetch.outstanding(lane.key);
    return parked === 0 ? request : { ...request, maxQueued: (request.maxQueued ?? this.maxQueued) + parked };
  }

  /**
   * Whether to park the caller's next slots with this request: prefetches of their own (the short
   * deadline of one), counted as pending until `parkAhead` or a failure settles them; as many in one
   * call as fit in that deadline, up to `PREFETCH_BATCH`.
   */
  private aheadFor(
    rt: Runtime,
    lane: PrefetchLane,
    request: ReserveRequest,
    nowMs: number,
    tookParked: boolean,
  ): Ahead | undefined {
    // As deep as the caller's queue bound (see beyondParked).
    const maxParked = Math.max(1, request.maxQueued ?? this.maxQueued);
    const batch = Math.min(PREFETCH_BATCH, Math.floor(PREFETCH_MAX_WAIT_MS / rt.intervalMs));
    const reuseWindowMs = rt.sendToleranceMs / 2;
    const count = this.prefetch.wanted(lane.key, lane.parking, nowMs, tookParked, reuseWindowMs, maxParked, batch);
    if (count === 0) return undefined;
    return { lane, request: { ...request, maxWaitMs: PREFETCH_MAX_WAIT_MS }, count };
  }

  /** Prefetches alone (a request went on a parked slot), off the request path. */
  private async prefetchSlots(rt: Runtime, ahead: Ahead): Promise<void> {
    try {
      const { replies, replyAt, grid } = await this.reserveShared(rt, aheadRequests(ahead), this.now(), true);
      this.parkAhead(rt, ahead, replies, replyAt, grid);
    } catch (error) {
      this.prefetch.settle(ahead.lane.key, 'failed', this.now(), ahead.count);
      if (!this.closed) this.storeFailed(error);
    }
  }

  /** Parks each granted prefetch; a refused one took nothing. */
  private parkAhead(rt: Runtime, ahead: Ahead, replies: CalendarReply[], replyAt: number, grid: GridChoice): void {
    for (const reply of replies) {
      if (reply.kind === 'rejected') this.prefetch.settle(ahead.lane.key, 'refused', replyAt);
      else if (this.mode !== 'shared' || this.closed) this.prefetch.settle(ahead.lane.key, 'dropped', replyAt);
      else {
        const slot = this.finish(rt, ahead.request, reply, 'shared', replyAt, 'shared', rt.shared.epoch, grid, false);
        if (slot.kind === 'granted') this.prefetch.park(ahead.lane.key, ahead.lane.parking, slot);
      }
    }
  }

  /**
   * Reservations on the shared calendar, in this order, in one script call (the pending upstream
   * report rides on the first), and what the reply teaches: the store's clock and the schedule's state.
   */
  private async reserveShared(
    rt: Runtime,
    requests: readonly ReserveRequest[],
    startedAt: number,
    whileAlone = false,
  ): Promise<{ replies: CalendarReply[]; replyAt: number; grid: GridChoice }> {
    const grid = this.grid(rt, startedAt);
    const replies = await this.shared!.reserveInOrder(
      rt.keys,
      requests.map((request) => this.input(rt, request, 'shared', startedAt, grid)),
      this.takePendingReport(rt, startedAt),
      whileAlone,
    );
    const replyAt = this.now();
    this.storeClock.observe(startedAt, replyAt, replies[0]!.storeNowMs);
    this.learnShared(rt, replies[0]!, replyAt);
    return { replies, replyAt, grid };
  }

  private reserveLocal(rt: Runtime, request: ReserveRequest): Reservation {
    this.prepareLocal(rt);
    const mode = this.mode;
    const now = this.now();
    // In fallback the local calendar runs at its share of the limit: no anchor, the sliding-safe tolerance.
    const grid = mode === 'memory' ? this.grid(rt, now) : this.slidingGrid(rt);
    const reply = this.local.reserveNow(rt.keys, this.input(rt, request, 'local', now, grid));
    this.learnLocal(rt, reply);
    return this.finish(rt, request, reply, mode, this.now(), 'local', rt.local.epoch, grid);
  }

  // ---- window phase -------------------------------------------------------------------------

  /** The grid for a reservation now (window-grid.ts), from what this replica's learner knows. */
  private grid(rt: Runtime, nowMs: number): GridChoice {
    if (!this.learnsPhase) return this.slidingGrid(rt);
    const clock = this.mode === 'memory' ? { offsetMs: 0, uncertaintyMs: 0 } : this.storeClock.estimate(nowMs);
    if (clock === undefined) return this.slidingGrid(rt);
    if (!rt.boundarySeen && rt.phase.looksFixed()) {
      // Every replica changes interval with this one, not at its own first boundary: replicas on
      // different intervals re-grid on each other's reservations.
      rt.boundarySeen = true;
      this.announcePhase(rt, 'learning');
    }
    const phase = rt.phase.estimate();
    const choice = chooseGrid({
      limitPerWindow: rt.limitPerWindow,
      windowMs: WINDOW_MS,
      safety: rt.safety,
      slidingToleranceMs: rt.sendToleranceMs,
      slidingLateMs: rt.phaseLateMs,
      ...(phase === undefined ? {} : { phase }),
      learning: rt.boundarySeen,
      storeNowMs: nowMs + clock.offsetMs,
      clockUncertaintyMs: clock.uncertaintyMs,
    });
    if (choice.kind !== rt.grid)
      this.options.logger?.info(
        { schedule: rt.keys.id, grid: choice.kind, ...(phase ?? {}) },
        'rate schedule: grid changed (window phase learner)',
      );
    rt.grid = choice.kind;
    if (
      phase !== undefined &&
      (rt.phaseAnnouncedAtMs === undefined || nowMs - rt.phaseAnnouncedAtMs >= PHASE_ANNOUNCE_EVERY_MS)
    ) {
      rt.phaseAnnouncedAtMs = nowMs;
      this.announcePhase(rt, `${phase.phaseMs}\t${phase.uncertaintyMs}`);
    }
    return choice;
  }

  /**
   * Replicas learn from their own answers only, so each would be sure at its own moment, and
   * replicas on different grids re-grid on each other's reservations (losing the queue's holes
   * each time): the first to be sure tells the others, which switch with it. Off the request path.
   */
  private announcePhase(rt: Runtime, body: string): void {
    if (this.mode !== 'shared' || this.connection === undefined) return;
    this.connection.command('publish', phaseChannel(this.keyPrefix), `${rt.keys.id}\t${body}`).catch(() => undefined); // a lost announcement only means the others learn alone
  }

  private onPhaseMessage(message: string): void {
    const [id, ...fields] = message.split('\t');
    const [first, second] = fields;
    const rt = id === undefined ? undefined : this.runtimes.get(id);
    if (rt === undefined || !this.learnsPhase) return;
    if (first === OBSERVATIONS_MARKER) {
      const shared = decodeObservations(fields);
      // Our own come back too; counts under another limit belong to another regime.
      if (shared === undefined || shared.replicaId === this.replicaId || shared.limitPerWindow !== rt.limitPerWindow)
        return;
      for (const observation of shared.observations) rt.phase.observe(observation);
      return;
    }
    if (first === 'learning') {
      rt.boundarySeen = true;
      return;
    }
    if (first === 'forget') {
      rt.phase.forget();
      rt.phaseAnnouncedAtMs = undefined;
      return;
    }
    const phaseMs = Number(first);
    const uncertaintyMs = Number(second);
    if (!Number.isFinite(phaseMs) || !(uncertaintyMs >= 0)) return;
    rt.boundarySeen = true;
    rt.phase.adopt({ phaseMs, uncertaintyMs });
  }

  private slidingGrid(rt: Runtime): GridChoice {
    const toleranceMs = rt.sendToleranceMs;
    return { kind: 'sliding-safe', intervalMs: rt.intervalMs, sendToleranceMs: () => toleranceMs };
  }

  /** An admitted answer's count against its send time, on the store's clock (the schedule's). */
  private learnPhase(
    accountId: string,
    operationClass: OperationClass,
    report: RateLimitReport,
    sentAtMs: number,
  ): void {
    if (!this.learnsPhase || report.remaining === undefined || report.limit === undefined) return;
    const rt = this.runtime(accountId, operationClass);
    // Another limit than the schedule's (limits changing): the count belongs to another regime.
    if (report.limit !== rt.limitPerWindow) return;
    const clock = this.mode === 'memory' ? { offsetMs: 0, uncertaintyMs: 0 } : this.storeClock.estimate(sentAtMs);
    if (clock === undefined) return;
    const observation = { sentAtMs: sentAtMs + clock.offsetMs, used: report.limit - report.remaining };
    rt.phase.observe(observation);
    this.shareObservation(rt, observation, clock.uncertaintyMs);
  }

  /**
   * While this replica's learner is unsure, the others get its answers too (phase-sharing.ts): a
   * fleet's sends are closer together than one replica's, so they bracket boundaries sooner. Not an
   * answer whose send time this replica maps onto the store's clock less surely than the fixed grid
   * needs (the others would pair it with theirs).
   */
  private shareObservation(rt: Runtime, observation: PhaseObservation, clockUncertaintyMs: number): void {
    if (this.mode !== 'shared' || rt.phase.estimate() !== undefined) return;
    if (clockUncertaintyMs > MAX_CLOCK_UNCERTAINTY_MS) return;
    const evidence = rt.boundarySeen || rt.phase.status().brackets > 0;
    const batch = rt.phaseOutbox.add(observation, this.now(), evidence);
    if (batch === undefined) return;
    const body = encodeObservations({
      replicaId: this.replicaId,
      limitPerWindow: rt.limitPerWindow,
      observations: batch,
    });
    this.announcePhase(rt, body);
  }

  windowPhases(): ScheduleWindowPhase[] {
    return [...this.runtimes.values()].map((rt) => {
      const status = rt.phase.status();
      const phase = rt.phase.estimate();
      return {
        accountId: rt.accountId,
        scheduleClass: rt.scheduleClass,
        grid: rt.grid,
        ...(phase ?? {}),
        brackets: status.brackets,
        relearns: status.relearns,
      };
    });
  }

  private finish(
    rt: Runtime,
    request: ReserveRequest,
    reply: CalendarReply,
    mode: ScheduleMode,
    replyAt: number,
    source: 'shared' | 'local',
    epoch: string,
    grid: GridChoice,
    /** False for a prefetch: counted when a request takes it. */
    counted = true,
  ): Reservation {
    if (reply.kind === 'rejected') {
      if (counted) this.counters.rejected[reply.reason] += 1;
      return {
        kind: 'rejected',
        reason: reply.reason,
        retryAfterMs: Math.max(1, Math.ceil(reply.retryAfterMs)),
        mode,
        scheduleClass: rt.scheduleClass,
      };
    }
    if (counted) {
      this.counters.granted[mode] += 1;
      if (reply.idleCapacity) this.counters.idleCapacityGrants += 1;
    }
    // The slot on our clock, never early: at its latest possible local instant (the clock estimate's
    // uncertainty, half the best round trip, is a fraction of a millisecond near Redis). A slot
    // already past when a slow reply is read is late from the start, and taken again.
    const { slotMs, uncertaintyMs } =
      source === 'shared'
        ? this.sharedToLocal(reply.storeNowMs + reply.waitMs, reply, replyAt)
        : { slotMs: replyAt + reply.waitMs, uncertaintyMs: 0 };
    const slotAtMs = slotMs + uncertaintyMs;
    // On the fixed-window grid the tolerance depends on where the slot sits in its window.
    const slotStoreMs = source === 'shared' ? reply.storeNowMs + reply.waitMs : replyAt + reply.waitMs;
    // A free slot kept from the grid before a re-grid goes within that grid's own budget too.
    const keptToleranceMs =
      reply.keptGridIntervalMs === undefined
        ? Infinity
        : gridSendToleranceMs(rt.limitPerWindow, reply.keptGridIntervalMs);
    const latestSendAtMs = slotAtMs + Math.min(grid.sendToleranceMs(slotStoreMs), keptToleranceMs);
    if (rt.ownTailAtMs === undefined || slotAtMs > rt.ownTailAtMs) rt.ownTailAtMs = slotAtMs;
    const ticket: SlotTicket = { scheduleKey: rt.keys.id, source, epoch, shiftTotalMs: reply.shiftTotalMs };
    const maxWaitMs =
      mode === 'fallback' ? Math.min(request.maxWaitMs, this.fallbackOptions.maxWaitMs) : request.maxWaitMs;
    return {
      kind: 'granted',
      waitMs: reply.waitMs,
      slotAtMs,
      latestSendAtMs,
      // Never before the slot itself: the store granted it within the deadline on its clock, and the
      // mapping's uncertainty (up to half a round trip) must not turn a grant into an expiry (maxWait 0).
      deadlineAtMs: Math.max(replyAt + maxWaitMs, slotAtMs),
      mode,
      scheduleClass: rt.scheduleClass,
      idleCapacity: reply.idleCapacity,
      ticket,
    };
  }

  /**
   * A shared pause this replica already knows of ends after the request's deadline: the answer is
   * the same as Redis would give, without the round trip. Floors only rise within an epoch; one
   * that a lost Redis state forgot ends by itself.
   */
  private knownPause(rt: Runtime, request: ReserveRequest, nowMs: number): RejectedReservation | undefined {
    const floorAtMs = rt.shared.floorAtMs;
    const deadlineAtMs = nowMs + request.maxWaitMs;
    const uncertaintyMs = this.storeClock.estimate(nowMs)?.uncertaintyMs ?? 0;
    if (floorAtMs === undefined || floorAtMs - uncertaintyMs <= deadlineAtMs) return undefined;
    this.answeredLocally += 1;
    this.counters.rejected.paused += 1;
    return {
      kind: 'rejected',
      reason: 'paused',
      retryAfterMs: Math.max(1, Math.ceil(floorAtMs - deadlineAtMs)),
      mode: 'shared',
      scheduleClass: rt.scheduleClass,
    };
  }

  /** A time on Redis's clock, from a reply that arrived at `replyAtMs`, on this process's clock. */
  private sharedToLocal(
    storeMs: number,
    reply: ScheduleInfo,
    replyAtMs: number,
  ): { slotMs: number; uncertaintyMs: number } {
    const estimate = this.storeClock.estimate(replyAtMs);
    if (estimate === undefined) return { slotMs: replyAtMs + (storeMs - reply.storeNowMs), uncertaintyMs: 0 };
    return { slotMs: storeMs - estimate.offsetMs, uncertaintyMs: estimate.uncertaintyMs };
  }

  /** Counts observed within the last provider window still describe it; older ones are dropped. */
  private takePendingReport(rt: Runtime, nowMs: number): { counts: UpstreamCounts; tolerance: number } | undefined {
    const pending = rt.pendingReport;
    rt.pendingReport = undefined;
    return pending && nowMs - pending.observedAtMs <= PENDING_REPORT_MAX_AGE_MS ? pending : undefined;
  }

  private runtime(accountId: string, operationClass: OperationClass): Runtime {
    const limits = this.options.limits(accountId);
    if (limits === undefined) throw new Error(`rate schedule: no limits for account ${JSON.stringify(accountId)}`);
    const { scheduleClass, ratePerSecond } = scheduleFor(limits, operationClass);
    const keys = scheduleKeys(this.keyPrefix, accountId, scheduleClass);
    const existing = this.runtimes.get(keys.id);
    const margin = this.marginFor(existing, keys.id, limits.adaptiveSafety);
    const safety =
      margin === undefined
        ? (limits.safety ?? this.options.safety ?? DEFAULT_SAFETY)
        : this.adaptiveSafetyInForce(existing, margin);
    const iv = intervalMs(ratePerSecond, safety);
    const fallbackIv = 1000 / fallbackRatePerSecond(ratePerSecond, safety, this.options.expectedReplicas);
    const toleranceMs = this.options.sendToleranceMs ?? margin?.sendToleranceFor(safety) ?? sendToleranceMs(safety);
    const lateMs = phaseLateMs(margin?.bounds.min ?? safety, this.options.sendToleranceMs);
    let rt = existing;
    if (rt === undefined) {
      rt = {
        keys,
        accountId,
        scheduleClass,
        intervalMs: iv,
        fallbackIntervalMs: fallbackIv,
        sendToleranceMs: toleranceMs,
        safety,
        ...(margin ? { margin } : {}),
        shared: { epoch: '', shiftTotalMs: 0 },
        local: { epoch: '', shiftTotalMs: 0 },
        fallbackEpisode: 0,
        waiters: new Set(),
        activity: new ScheduleActivity(),
        retired: false,
        limitPerWindow: ratePerSecond,
        phase: newPhaseLearner(ratePerSecond, lateMs),
        phaseOutbox: new ObservationOutbox(),
        phaseLateMs: lateMs,
        grid: 'sliding-safe',
        boundarySeen: false,
      };
      this.runtimes.set(keys.id, rt);
      this.options.onSafetyChange?.(accountId, scheduleClass, safety);
    } else {
      // Limits are configuration; a reload may change them; an adaptive safety moves by itself.
      if (rt.safety !== safety) {
        this.options.onSafetyChange?.(accountId, scheduleClass, safety);
        if (margin !== undefined)
          this.options.logger?.info(
            { schedule: keys.id, fromSafety: rt.safety, toSafety: safety, ownSafety: margin.safety },
            'rate schedule: safety in force changed',
          );
      }
      rt.intervalMs = iv;
      rt.fallbackIntervalMs = fallbackIv;
      rt.sendToleranceMs = toleranceMs;
      rt.safety = safety;
      rt.margin = margin;
      rt.retired = false;
      if (rt.limitPerWindow !== ratePerSecond || rt.phaseLateMs !== lateMs) {
        // Another limit or safety: other bounds on a count; the phase is learnt again with the new numbers.
        rt.limitPerWindow = ratePerSecond;
        rt.phase = newPhaseLearner(ratePerSecond, lateMs);
        rt.phaseOutbox = new ObservationOutbox();
        rt.phaseLateMs = lateMs;
        rt.boundarySeen = false;
      }
    }
    if (margin !== undefined) this.proposeToFleet(rt, margin.safety);
    return rt;
  }

  /**
   * Shared mode: the fleet's safety (the lowest proposal, switched at one announced instant), while
   * this replica has heard from Redis recently; otherwise this replica's own.
   */
  private adaptiveSafetyInForce(existing: Runtime | undefined, margin: AdaptiveMargin): number {
    const fleet = existing?.fleet;
    const nowMs = this.now();
    if (this.mode !== 'shared' || fleet === undefined || nowMs - fleet.atMs > FLEET_PROPOSAL_TTL_MS)
      return margin.safety;
    return fleet.next !== undefined && nowMs >= fleet.next.atMs ? fleet.next.safety : fleet.safety;
  }

  /**
   * Every `FLEET_PROPOSE_EVERY_MS`, off the request path: propose this replica's safety, learn the
   * fleet's lowest. A failure changes nothing (the reservations find an outage themselves); the
   * fleet value then ages out and the replica runs at its own.
   */
  private proposeToFleet(rt: Runtime, ownSafety: number): void {
    const connection = this.connection;
    if (connection === undefined || this.mode !== 'shared' || this.initial !== undefined) return;
    const nowMs = this.now();
    // On the cadence, and at once when this replica's own safety moved (the others learn it sooner).
    const due = rt.fleetProposedAtMs === undefined || nowMs - rt.fleetProposedAtMs >= FLEET_PROPOSE_EVERY_MS;
    if (!due && rt.fleetProposedSafety === ownSafety) return;
    rt.fleetProposedAtMs = nowMs;
    rt.fleetProposedSafety = ownSafety;
    proposeFleetSafety(connection, rt.keys, this.replicaId, ownSafety).then(
      (fleet) => {
        const atMs = this.now();
        rt.fleet = {
          safety: fleet.safety,
          atMs,
          ...(fleet.next ? { next: { safety: fleet.next.safety, atMs: atMs + fleet.next.inMs } } : {}),
        };
      },
      () => undefined,
    );
  }

  /**
   * The adaptive margin of a schedule, evaluated now (at most every half second: see
   * `AdaptiveMargin.evaluate`), kept across calls while its bounds stay the same; a change is
   * logged at info.
   */
  private marginFor(
    existing: Runtime | undefined,
    scheduleId: string,
    bounds: SafetyBounds | undefined,
  ): AdaptiveMargin | undefined {
    if (bounds === undefined) return undefined;
    const current = existing?.margin;
    const margin =
      current !== undefined && current.bounds.min === bounds.min && current.bounds.max === bounds.max
        ? current
        : new AdaptiveMargin(bounds);
    const change = margin.evaluate(this.now());
    if (change !== undefined)
      this.options.logger?.info(
        {
          schedule: scheduleId,
          fromSafety: change.from,
          toSafety: change.to,
          releaseLateMs: round2(change.target.releaseLateMs),
          wireDelayMs: round2(change.target.wireDelayMs),
          neededMs: round2(change.target.neededMs),
        },
        'rate schedule: adaptive safety changed',
      );
    return margin;
  }

  // ---- upstream feedback --------------------------------------------------------------------

  /**
   * An upstream 429 means one request too many in the provider's window: the schedule gives up one
   * slot (every replica's queue moves by one interval), so a refusal costs the fleet one slot, not a
   * second; a second refusal in the same window waits for its reset (`applyRefusal`). What the
   * provider asks beyond its headers' one-second resolution is honoured as a pause.
   */
  private async onUpstreamRefusal(
    accountId: string,
    operationClass: OperationClass,
    report: RateLimitReport,
  ): Promise<void> {
    const rt = this.runtime(accountId, operationClass);
    rt.activity.refused(this.now());
    if (rt.grid === 'fixed') {
      // Slots placed inside the windows should never be refused: the phase moved, or someone else
      // uses the key. Every replica back to the sliding-safe schedule until the phase is learnt again.
      rt.phase.forget();
      rt.phaseAnnouncedAtMs = undefined;
      this.announcePhase(rt, 'forget');
      this.options.logger?.warn(
        { schedule: rt.keys.id },
        'rate schedule: refused on the fixed-window grid; relearning the window phase',
      );
    }
    const askedUntilMs = report.pauseUntilMs ?? report.resetAtMs;
    const beyondResolutionMs = askedUntilMs === undefined ? 0 : askedUntilMs - this.now() - HEADER_RESOLUTION_MS;
    if (beyondResolutionMs > 0) {
      this.options.logger?.info(
        { schedule: rt.keys.id, delayMs: Math.round(beyondResolutionMs) },
        'rate schedule: paused by upstream',
      );
      await this.shift(rt, (store) => store.pause(rt.keys, beyondResolutionMs + rt.intervalMs));
      return;
    }
    const refusal = {
      resetKey: report.resetAtMs === undefined ? '' : String(report.resetAtMs),
      resetDelayMs: askedUntilMs === undefined ? 0 : askedUntilMs - this.now(),
    };
    const shiftedMs = await this.shift(rt, (store) => store.refused(rt.keys, rt.intervalMs, refusal));
    if (shiftedMs > rt.intervalMs + 1)
      this.options.logger?.info(
        { schedule: rt.keys.id, delayMs: Math.round(shiftedMs) },
        'rate schedule: paused by upstream until its window resets (a second refusal in one window)',
      );
  }

  /** Applies a shift (pause, refusal) to the shared calendar, or to the local one when Redis fails; answers how far
   * queued slots moved. */
  private async shift(rt: Runtime, apply: (store: ScheduleStore) => Promise<ShiftReply>): Promise<number> {
    // Like a reservation: not before the first connection (a command sent then would fail and
    // declare a healthy Redis unreachable), nor during a return to the shared schedule.
    if (this.initial !== undefined) await this.initial;
    if (this.recovering !== undefined) await this.recovering;
    if (this.mode === 'shared') {
      const sentAt = this.now();
      try {
        const reply = await apply(this.shared!);
        const replyAt = this.now();
        this.storeClock.observe(sentAt, replyAt, reply.storeNowMs);
        this.learnShared(rt, reply, replyAt);
        return reply.shiftedMs;
      } catch (error) {
        this.storeFailed(error);
      }
    }
    this.prepareLocal(rt);
    const reply = await apply(this.local);
    this.learnLocal(rt, reply);
    return reply.shiftedMs;
  }

  // ---- what replies teach -------------------------------------------------------------------

  private learnShared(rt: Runtime, info: ScheduleInfo, replyAt: number): void {
    const before = `${rt.shared.epoch}/${rt.shared.shiftTotalMs}`;
    if (info.epoch === rt.shared.epoch) rt.shared.shiftTotalMs = Math.max(rt.shared.shiftTotalMs, info.shiftTotalMs);
    else {
      rt.shared.epoch = info.epoch;
      rt.shared.shiftTotalMs = info.shiftTotalMs;
    }
    rt.shared.tailAtMs = this.sharedToLocal(info.storeNowMs + info.tailOffsetMs, info, replyAt).slotMs;
    rt.shared.floorAtMs = this.sharedToLocal(info.storeNowMs + info.floorOffsetMs, info, replyAt).slotMs;
    rt.shared.lastReplyAtMs = replyAt;
    this.everShared = true;
    if (`${rt.shared.epoch}/${rt.shared.shiftTotalMs}` !== before) wake(rt);
  }

  private learnLocal(rt: Runtime, info: ScheduleInfo): void {
    const changed = info.epoch !== rt.local.epoch || info.shiftTotalMs !== rt.local.shiftTotalMs;
    rt.local.epoch = info.epoch;
    rt.local.shiftTotalMs = info.shiftTotalMs;
    if (changed) wake(rt);
  }

  private onShiftMessage(message: string): void {
    const [id, epoch, shift] = message.split('\t');
    const rt = id === undefined ? undefined : this.runtimes.get(id);
    const shiftTotalMs = Number(shift);
    if (rt === undefined || epoch !== rt.shared.epoch || !Number.isFinite(shiftTotalMs)) return;
    if (shiftTotalMs > rt.shared.shiftTotalMs) {
      rt.shared.shiftTotalMs = shiftTotalMs;
      wake(rt);
    }
  }

  // ---- modes --------------------------------------------------------------------------------

  private async awaitFirstConnection(connection: RedisConnection, timeoutMs: number): Promise<void> {
    if (connection.status() !== 'ready') await this.connected(connection, timeoutMs);
    let failure: string | undefined = connection.status() === 'ready' ? undefined : 'redis unreachable at startup';
    if (failure === undefined) {
      try {
        await this.calibrate(connection);
      } catch (error) {
        this.counters.storeFailures += 1;
        failure = describe(error);
      }
    }
    this.initial = undefined;
    if (failure !== undefined) {
      this.enterFallback(failure);
      return;
    }
    this.everShared = true;
    this.reason = undefined;
  }

  /**
   * Samples Redis's clock a few times (TIME, one round trip each) so the first slots are placed on
   * this process's clock from a tight bracket, not from a cold first reply.
   */
  private async calibrate(connection: RedisConnection): Promise<void> {
    for (let i = 0; i < CALIBRATION_SAMPLES; i += 1) {
      const sentAt = this.now();
      this.calibrations += 1;
      const reply = await connection.command('time');
      this.storeClock.observe(sentAt, this.now(), redisTimeMs(reply));
    }
  }

  private async connected(connection: RedisConnection, timeoutMs: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = this.timers.setTimeout(() => {
        stop();
        resolve();
      }, timeoutMs);
      const stop = connection.onStatusChange((status) => {
        if (status !== 'ready') return;
        this.timers.clearTimeout(timer);
        stop();
        resolve();
      });
    });
  }

  private storeFailed(error: unknown): void {
    this.counters.storeFailures += 1;
    const reason = describe(error);
    if (this.mode !== 'fallback') {
      const log = isLoudStoreFailure(error) ? 'error' : 'warn';
      this.options.logger?.[log](
        { err: reason },
        'rate schedule: shared schedule failed; falling back to the local schedule',
      );
    }
    this.enterFallback(reason);
  }

  private enterFallback(reason: string): void {
    if (this.closed || this.mode !== 'shared') return;
    this.episode += 1;
    this.episodeStartedAtMs = this.now();
    this.local.clear();
    this.prefetch.clear();
    this.setMode('fallback', reason);
    this.startProbe();
  }

  /** Seeds this runtime's local calendar for the current fallback episode: after every slot the shared schedule may
   * still hold. */
  private prepareLocal(rt: Runtime): void {
    if (this.mode !== 'fallback' || rt.fallbackEpisode === this.episode) return;
    rt.fallbackEpisode = this.episode;
    const now = this.now();
    let floor = now;
    // Other replicas kept booking after our last reply; a saturated tail moves at most as fast as the clock.
    if (rt.shared.tailAtMs !== undefined) {
      const sinceReplyMs = Math.max(0, this.episodeStartedAtMs - (rt.shared.lastReplyAtMs ?? this.episodeStartedAtMs));
      floor = Math.max(floor, rt.shared.tailAtMs + sinceReplyMs + rt.fallbackIntervalMs);
    }
    const fresh =
      rt.shared.lastReplyAtMs !== undefined && rt.shared.lastReplyAtMs >= this.episodeStartedAtMs - STALE_TAIL_MS;
    if (!fresh && this.everShared)
      floor = Math.max(floor, this.episodeStartedAtMs + this.fallbackOptions.transitionGuardMs);
    this.learnLocal(rt, this.local.seedNow(rt.keys, floor - now, 0));
  }

  private recover(): Promise<void> {
    if (this.closed || this.mode !== 'fallback' || this.shared === undefined || this.connection === undefined)
      return Promise.resolve();
    if (this.recovering !== undefined) return this.recovering;
    const shared = this.shared;
    const connection = this.connection;
    const attempt = async (): Promise<void> => {
      // Also the probe: a Redis that answers TIME is back, and its clock is measured before use.
      this.probes += 1;
      await this.calibrate(connection);
      const now = this.now();
      const seeds: Promise<void>[] = [];
      for (const rt of this.runtimes.values()) {
        // After this replica's own slots (local or shared) and any local pause, and not before the guard.
        const floors = [now];
        const local = this.local.inspect(rt.keys);
        if (local?.last !== undefined) floors.push(local.last + rt.fallbackIntervalMs);
        if (local !== undefined) floors.push(local.floor);
        if (rt.ownTailAtMs !== undefined) floors.push(rt.ownTailAtMs + rt.intervalMs);
        const offset = Math.max(...floors) - now;
        seeds.push(
          shared
            .seed(rt.keys, offset, this.fallbackOptions.transitionGuardMs)
            .then((reply) => this.learnShared(rt, reply, this.now())),
        );
      }
      await Promise.all(seeds);
    };
    this.recovering = attempt()
      .then(() => {
        if (this.closed) return;
        this.stopProbe();
        this.local.clear();
        this.setMode('shared', undefined);
      })
      .catch((error: unknown) => {
        this.counters.storeFailures += 1;
        this.reason = describe(error);
      })
      .finally(() => {
        this.recovering = undefined;
      });
    return this.recovering;
  }

  private setMode(mode: ScheduleMode, reason: string | undefined): void {
    this.mode = mode;
    this.reason = reason;
    this.sinceMs = this.now();
    this.counters.modeChanges += 1;
    const state = this.state();
    if (mode === 'fallback') this.options.logger?.warn({ state }, 'rate schedule: fallback to the local schedule');
    else this.options.logger?.info({ state }, 'rate schedule: shared schedule in use');
    this.options.onStateChange?.(state);
  }

  private startProbe(): void {
    if (this.probeTimer !== undefined || this.closed) return;
    const tick = (): void => {
      this.probeTimer = undefined;
      if (this.closed || this.mode !== 'fallback') return;
      if (this.connection?.status() === 'ready') void this.recover();
      this.probeTimer = this.timers.setTimeout(tick, this.fallbackOptions.probeIntervalMs);
      unref(this.probeTimer);
    };
    this.probeTimer = this.timers.setTimeout(tick, this.fallbackOptions.probeIntervalMs);
    unref(this.probeTimer);
  }

  private stopProbe(): void {
    if (this.probeTimer !== undefined) this.timers.clearTimeout(this.probeTimer);
    this.probeTimer = undefined;
  }

  private sleepOrWake(rt: Runtime | undefined, ms: number, signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve) => {
      // Under a millisecond (slots µs apart, at high limits): one turn of the loop, then the caller
      // checks the clock again. A timer would wait at least 1 ms, far past the slot.
      const soon = ms < 1 && this.options.timers === undefined;
      const done = (): void => {
        if (soon) clearImmediate(timer as NodeJS.Immediate);
        else this.timers.clearTimeout(timer);
        rt?.waiters.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = soon ? setImmediate(done) : this.timers.setTimeout(done, Math.max(1, Math.ceil(ms)));
      rt?.waiters.add(done);
      signal?.addEventListener('abort', done, { once: true });
      if (this.closed) done();
    });
  }
}

/** Redis `TIME`: [seconds, microseconds] as strings. */
function redisTimeMs(reply: unknown): number {
  const [seconds, micros] = Array.isArray(reply) ? reply.map(Number) : [];
  if (!Number.isFinite(seconds) || !Number.isFinite(micros))
    throw new Error(`rate schedule: unexpected TIME reply ${JSON.stringify(reply)}`);
  return seconds! * 1000 + micros! / 1000;
}

/**
 * Sure enough once the boundary is known within half the fixed grid's spacing (16.7 ms at 30/s):
 * the rest of the spacing is the lateness a window's last send may have (window-grid.ts). Each
 * replica sees only its own answers, so a tighter bound would take many more windows to reach.
 */
function newPhaseLearner(limitPerWindow: number, lateMs: number): WindowPhaseLearner {
  return new WindowPhaseLearner({
    limitPerWindow,
    lateMs,
    windowMs: WINDOW_MS,
    maxWidthMs: WINDOW_MS / limitPerWindow / 2,
  });
}

/** The way to the provider spreads arrivals beyond the release tolerance by up to this. */
const PROVIDER_SPREAD_MS = 10;

/**
 * How late a send may reach a sliding-window provider, for the learner's bound on a sliding count's
 * fall: the whole send budget at the lowest safety the schedule may run at (an adaptive one's floor),
 * or twice a configured release tolerance if that is more, and the way there.
 */
function phaseLateMs(lowestSafety: number, configuredToleranceMs: number | undefined): number {
  return Math.max(sendBudgetMs(lowestSafety), 2 * (configuredToleranceMs ?? 0)) + PROVIDER_SPREAD_MS;
}

function extraShift(rt: Runtime, ticket: SlotTicket): number {
  const view = ticket.source === 'shared' ? rt.shared : rt.local;
  return view.epoch === ticket.epoch ? Math.max(0, view.shiftTotalMs - ticket.shiftTotalMs) : 0;
}

/** Where a caller's parked slots are kept: per schedule and caller on this replica, for these fairness inputs. */
interface PrefetchLane {
  key: string;
  parking: ParkedFor;
}

/** Slots to park for a caller's next requests: `count` alike reservations, and their lane. */
interface Ahead {
  lane: PrefetchLane;
  request: ReserveRequest;
  count: number;
}

function aheadRequests(ahead: Ahead): ReserveRequest[] {
  return new Array<ReserveRequest>(ahead.count).fill(ahead.request);
}

function prefetchLane(rt: Runtime, request: ReserveRequest): PrefetchLane {
  return {
    key: `${rt.keys.id}\u0000${request.callerId}`,
    parking: { owner: rt, fairness: `${request.weight}|${request.reservedShare ?? 0}|${request.maxQueued ?? ''}` },
  };
}

function wake(rt: Runtime): void {
  for (const w of [...rt.waiters]) w();
}

function unref(handle: unknown): void {
  (handle as { unref?: () => void } | undefined)?.unref?.();
}

function describe(error: unknown): string {
  if (error instanceof StoreUnavailableError) return `${error.kind}: ${error.message}`;
  if (error instanceof Error) return error.message;
  return String(error);
}

function validate(request: ReserveRequest): void {
  if (request.callerId === '') throw new RangeError('reserve: callerId is empty');
  if (!(request.weight > 0) || !Number.isFinite(request.weight))
    throw new RangeError(`reserve: weight must be > 0, got ${request.weight}`);
  if (!(request.maxWaitMs >= 0) || !Number.isFinite(request.maxWaitMs))
    throw new RangeError(`reserve: maxWaitMs must be ≥ 0, got ${request.maxWaitMs}`);
  const share = request.reservedShare ?? 0;
  if (!(share >= 0 && share < 1)) throw new RangeError(`reserve: reservedShare must be in [0, 1), got ${share}`);
  if (request.maxQueued !== undefined && !(request.maxQueued >= 1))
    throw new RangeError(`reserve: maxQueued must be ≥ 1, got ${request.maxQueued}`);
}

function round2(ms: number): number {
  return Math.round(ms * 100) / 100;
}
