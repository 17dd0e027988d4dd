import { defineLuaScript, StoreUnavailableError, type RedisConnection } from '../redis';
import type { CalendarReply, CalendarReserveInput, ScheduleInfo, UpstreamCounts, UpstreamRefusal } from './calendar';
import { shiftChannel, type ScheduleKeys } from './keys';
import { SCHEDULE_SCRIPT } from './redis-lua';
import type { ScheduleStore, ShiftReply } from './store';
import type { RejectionReason } from './types';

export type ScheduleCommandKind = 'reserve' | 'reserve-many' | 'pause' | 'refused' | 'report' | 'seed';

/** Script calls by operation, none sent yet. */
export function noScheduleCommands(): Record<ScheduleCommandKind, number> {
  return { reserve: 0, 'reserve-many': 0, pause: 0, refused: 0, report: 0, seed: 0 };
}

/** Every kind of script call the store sends. */
export function scheduleCommandKinds(): ScheduleCommandKind[] {
  return Object.keys(noScheduleCommands()) as ScheduleCommandKind[];
}

/** Reservations sent in one `reserve-many` call at most. */
export const MAX_BATCH = 64;
/** Values per reply to a reservation. */
const REPLY_VALUES = 9;

interface QueuedReservation {
  args: (string | number)[];
  resolve(reply: CalendarReply): void;
  reject(error: unknown): void;
}

export interface RedisScheduleStoreOptions {
  connection: RedisConnection;
  keyPrefix: string;
  idleTtlMs: number;
  /** Tests only: replaces Redis `TIME` so the script can be compared with calendar.ts. */
  pinnedNow?: () => number;
}

/**
 * The status page's read of the shared calendar: slots every replica took whose time came in the
 * last ARGV[1] ms, on Redis's own clock (no clock mapping). Reads only; the request path never runs it.
 */
const RECENT_SLOTS_SCRIPT = defineLuaScript(
  'sg-recent-slots',
  `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
return redis.call('ZCOUNT', KEYS[1], '(' .. string.format('%.17g', now - tonumber(ARGV[1])), string.format('%.17g', now))`,
);

const REASONS: ReadonlySet<string> = new Set<RejectionReason>(['deadline', 'backlog', 'paused']);

/** The shared schedule: one script call (one round trip) per operation. */
export class RedisScheduleStore implements ScheduleStore {
  private readonly sent = noScheduleCommands();
  /** Per schedule with a reservation call out: the reservations waiting for it to return. */
  private readonly lanes = new Map<string, QueuedReservation[]>();
  /** Reservations that went in a `reserve-many` call. */
  private batchedReservations = 0;
  /** Schedules whose lane holds a call not written yet (`reserveInOrder`'s `whileAlone`). */
  private readonly held = new Set<string>();

  constructor(private readonly options: RedisScheduleStoreOptions) {}

  /** Script calls sent, by operation (NOSCRIPT re-sends are in the connection's counts). */
  commandCounts(): Readonly<Record<ScheduleCommandKind, number>> {
    return { ...this.sent };
  }

  /** Reservations sent in `reserve-many` calls (each call counted once in `commandCounts`). */
  batchedReservationCount(): number {
    return this.batchedReservations;
  }

  /** Slots of every replica whose time came within the last `windowMs` (the calendar keeps the last second). */
  async recentSlots(keys: ScheduleKeys, windowMs: number): Promise<number> {
    const reply = await this.options.connection.runScript(RECENT_SLOTS_SCRIPT, [keys.calendar], [windowMs]);
    return Number(reply);
  }

  /**
   * `report`, when given, is applied first in the same script call (see `RateSchedule.observe`).
   *
   * Group commit: while a reservation of this schedule is on its way to Redis, the next ones wait and
   * then go together in one `reserve-many` call (at most `MAX_BATCH`), taken in arrival order exactly as
   * separate calls at that instant would be. One request in flight goes alone, at once; under load the
   * script's fixed work (clock, state read and write, expiries) and the round trip are shared.
   */
  reserve(
    keys: ScheduleKeys,
    input: CalendarReserveInput,
    report?: { counts: UpstreamCounts; tolerance: number },
  ): Promise<CalendarReply> {
    return this.reserveInOrder(keys, [input], report).then(([reply]) => reply!);
  }

  /**
   * Several reservations taken one after the other in one script call (when none of this schedule
   * is out; else they join the next batch, still in this order): a request's slot and the one parked
   * for its caller's next request cost one round trip. `report` is applied before the first.
   * `whileAlone`: when nothing of this schedule is out, the call is held until this turn of the event
   * loop is over or another reservation of the schedule arrives, whichever comes first, and then goes
   * with what joined it (a refill of parked slots: the request that took one is forwarded first; under
   * load the next request releases it at once).
   */
  reserveInOrder(
    keys: ScheduleKeys,
    inputs: readonly CalendarReserveInput[],
    report?: { counts: UpstreamCounts; tolerance: number },
    whileAlone = false,
  ): Promise<CalendarReply[]> {
    const argsList = inputs.map((input, i) => reserveArgs(input, i === 0 ? report : undefined));
    let lane = this.lanes.get(keys.id);
    const hold = lane === undefined && whileAlone;
    if (hold) {
      lane = [];
      this.lanes.set(keys.id, lane);
      this.held.add(keys.id);
      setImmediate(() => this.release(keys));
    }
    if (lane !== undefined) {
      const queued = lane;
      const replies = Promise.all(
        argsList.map((args) => new Promise<CalendarReply>((resolve, reject) => queued.push({ args, resolve, reject }))),
      );
      if (!hold) this.release(keys);
      return replies;
    }
    lane = [];
    this.lanes.set(keys.id, lane);
    if (argsList.length > 1) this.batchedReservations += argsList.length;
    const first =
      argsList.length === 1
        ? this.run('reserve', keys, argsList[0]!).then((reply) => [parseReserveReply(reply)])
        : this.run('reserve-many', keys, groupedReservationArgs(argsList)).then((reply) =>
            replySlices(reply, argsList.length).map(parseReserveReply),
          );
    void first.then(
      () => this.sendQueued(keys),
      () => this.sendQueued(keys),
    );
    return first;
  }

  /** A held call goes now, with what joined it (nothing when none is held). */
  private release(keys: ScheduleKeys): void {
    if (this.held.delete(keys.id)) this.sendQueued(keys);
  }

  /** The reservations that arrived while the last call was out, in one call; then the next ones. */
  private sendQueued(keys: ScheduleKeys): void {
    const lane = this.lanes.get(keys.id);
    if (lane === undefined) return;
    if (lane.length === 0) {
      this.lanes.delete(keys.id);
      return;
    }
    const batch = lane.splice(0, MAX_BATCH);
    this.batchedReservations += batch.length;
    this.run('reserve-many', keys, groupedReservationArgs(batch.map((item) => item.args)))
      .then((reply) => {
        replySlices(reply, batch.length).forEach((slice, i) => {
          const item = batch[i]!;
          try {
            item.resolve(parseReserveReply(slice));
          } catch (error) {
            item.reject(error);
          }
        });
      })
      .catch((error: unknown) => {
        for (const item of batch) item.reject(error);
      })
      .finally(() => this.sendQueued(keys));
  }

  async pause(keys: ScheduleKeys, delayMs: number): Promise<ShiftReply> {
    return parseShift(await this.run('pause', keys, [delayMs]));
  }

  async refused(keys: ScheduleKeys, intervalMs: number, refusal: UpstreamRefusal): Promise<ShiftReply> {
    return parseShift(await this.run('refused', keys, [intervalMs, refusal.resetKey, refusal.resetDelayMs]));
  }

  async report(keys: ScheduleKeys, counts: UpstreamCounts, tolerance: number): Promise<ShiftReply> {
    return parseShift(await this.run('report', keys, [counts.remaining, counts.limit, counts.resetKey, tolerance]));
  }

  async seed(keys: ScheduleKeys, floorOffsetMs: number, guardMs: number): Promise<ShiftReply> {
    return parseShift(await this.run('seed', keys, [floorOffsetMs, guardMs]));
  }

  private async run(op: ScheduleCommandKind, keys: ScheduleKeys, args: (string | number)[]): Promise<string[]> {
    const pinned = this.options.pinnedNow?.();
    this.sent[op] += 1;
    const reply = await this.options.connection.runScript(
      SCHEDULE_SCRIPT,
      [keys.state, keys.calendar, keys.callers],
      [
        op,
        pinned === undefined ? '' : String(pinned),
        this.options.idleTtlMs,
        shiftChannel(this.options.keyPrefix),
        keys.id,
        ...args,
      ],
    );
    if (!Array.isArray(reply) || !reply.every((v) => typeof v === 'string')) {
      throw scriptFailure(`rate schedule script: unexpected reply ${JSON.stringify(reply)}`);
    }
    return reply as string[];
  }
}

/** Where the lost-state hint and the report (four values, '' when none) sit in `reserveArgs`'s list. */
const HINT_AT = 11;
const REPORT_AT = 13;
const REPORT_VALUES = 4;

/**
 * A reservation's script arguments (ARGV[6…25]); the report's four, the anchor's two and the least
 * kept interval are '' when absent.
 */
function reserveArgs(
  input: CalendarReserveInput,
  report: { counts: UpstreamCounts; tolerance: number } | undefined,
): (string | number)[] {
  const f = input.fairness;
  return [
    input.intervalMs,
    input.callerId,
    input.weight,
    input.reservedShare,
    input.maxWaitMs,
    input.maxQueued,
    f.activeWindowMs,
    f.forgetCallerMs,
    f.lookaheadMs,
    f.maxReservedShareTotal,
    input.knownEpoch,
    input.hintOffsetMs ?? '',
    input.lossGuardMs,
    ...(report
      ? [report.counts.remaining, report.counts.limit, report.counts.resetKey, report.tolerance]
      : ['', '', '', '']),
    input.anchorMs ?? '',
    input.anchorSlackMs ?? '',
    input.minKeptIntervalMs ?? '',
    input.anchorWindow?.windowMs ?? '',
    input.anchorWindow?.leadMs ?? '',
  ];
}

/**
 * `reserve-many`'s arguments: the number of groups, then per group a count and one reservation's
 * arguments, taken that many times in a row. A busy caller's reservations differ in nothing but the
 * lost-state hint, and sending each one's 22 values again cost the gateway more than the script call
 * itself (encoding them) and Redis the parsing. A reservation joins the group before it when it
 * carries no report (a group's report applies to its first only) and its arguments are the group's,
 * but for a hint no larger than the group's: the hint (this replica's latest slot, relative to when
 * the reservation was made) falls as reservations wait in the lane, and the floor a lost state gets
 * from a smaller one is already set by the group's first.
 */
export function groupedReservationArgs(argsList: readonly (string | number)[][]): (string | number)[] {
  const groups: { count: number; args: readonly (string | number)[] }[] = [];
  for (const args of argsList) {
    const last = groups[groups.length - 1];
    if (last !== undefined && !carriesReport(args) && joinsGroup(last.args, args)) last.count += 1;
    else groups.push({ count: 1, args });
  }
  return [groups.length, ...groups.flatMap((group) => [group.count, ...group.args])];
}

function carriesReport(args: readonly (string | number)[]): boolean {
  return args.slice(REPORT_AT, REPORT_AT + REPORT_VALUES).some((value) => value !== '');
}

/** The same arguments but the report, and a hint that joins the group's. */
function joinsGroup(group: readonly (string | number)[], args: readonly (string | number)[]): boolean {
  return (
    group.length === args.length &&
    args.every((value, i) =>
      i === HINT_AT
        ? hintJoins(group[i]!, value)
        : (i >= REPORT_AT && i < REPORT_AT + REPORT_VALUES) || group[i] === value,
    )
  );
}

/** No larger than the group's ('' only with ''): the floor it would set on a lost state is set already. */
function hintJoins(groupHint: string | number, hint: string | number): boolean {
  return hint === groupHint || (hint !== '' && groupHint !== '' && Number(hint) <= Number(groupHint));
}

/** A `reserve-many` reply cut into each reservation's values, in order. */
function replySlices(reply: string[], reservations: number): string[][] {
  if (reply.length !== reservations * REPLY_VALUES)
    throw scriptFailure(`rate schedule script: ${reply.length} values for ${reservations} reservations`);
  return Array.from({ length: reservations }, (_, i) => reply.slice(i * REPLY_VALUES, (i + 1) * REPLY_VALUES));
}

function parseReserveReply(reply: string[]): CalendarReply {
  const [kind, a, b, c, ...rest] = reply;
  const info = parseInfo(rest);
  if (kind === 'g')
    return {
      kind: 'granted',
      waitMs: num(a),
      idleCapacity: b === '1',
      ...(c === '' || c === undefined ? {} : { keptGridIntervalMs: num(c) }),
      ...info,
    };
  if (kind === 'r' && a !== undefined && REASONS.has(a))
    return { kind: 'rejected', reason: a as RejectionReason, retryAfterMs: num(b), ...info };
  throw scriptFailure(`rate schedule script: unexpected reply ${JSON.stringify(reply)}`);
}

function num(value: string | undefined): number {
  const n = Number(value);
  if (value === undefined || !Number.isFinite(n))
    throw scriptFailure(`rate schedule script: not a number: ${String(value)}`);
  return n;
}

function parseInfo([tail, shift, epoch, floor, storeNow]: string[]): ScheduleInfo {
  return {
    tailOffsetMs: num(tail),
    shiftTotalMs: num(shift),
    epoch: epoch ?? '',
    floorOffsetMs: num(floor),
    storeNowMs: num(storeNow),
  };
}

function parseShift(reply: string[]): ShiftReply {
  const [kind, delta, ...rest] = reply;
  if (kind !== 'p') throw scriptFailure(`rate schedule script: unexpected reply ${JSON.stringify(reply)}`);
  return { shiftedMs: num(delta), ...parseInfo(rest) };
}

/** A reply our script should never give: a bug or a foreign script under our name, logged loudly. */
function scriptFailure(message: string): StoreUnavailableError {
  return new StoreUnavailableError('script', message);
}
