/**
 * `limits: auto` (issue #15): the provider's limits as it advertises them, per account, adopted by
 * the rules of `schedule/limit-adoption.ts` and shared by every replica.
 *
 * Sharing: one small hash per account in Redis (`<prefix>:limits:<account>`: the adopted limits as
 * JSON, a version, who adopted them and when), written by the replica that adopts and announced on a
 * channel with the limits and the version (`limits-announcement.ts`): every replica switches on the
 * message, without reading the hash first — so the fleet switches together, one hop after the
 * adopter, not one replica per answer. Every replica also reads the hash every `refreshMs` (a lost
 * message), and a replica that starts reads it first: what the fleet learnt survives restarts.
 *
 * On a lowering the adopting replica also retires the old schedules (their queued requests take new
 * slots, and a shared pause holds the other replicas' until they switch) and pauses the new one for
 * a provider window: what was sent under the old classes in the last second counts against it.
 *
 * Per request: one map lookup in `limitsFor`, and in `observe` a comparison of the answer's limit.
 */
import type { OperationClass } from '../catalog/catalog';
import { defineLuaScript, type RedisConnection } from '../redis';
import {
  clampRates,
  decideAdoption,
  describeRates,
  observationFrom,
  sameRates,
  type AdoptionReason,
  type LimitBounds,
  type PendingRaise,
  type ProviderRates,
} from '../schedule/limit-adoption';
import type { RateSchedule } from '../schedule';
import type { RateLimitReport, ScheduleClass } from '../schedule/types';
import type { GatewayMetrics } from './observability/metrics';
import { ANNOUNCEMENT_SEPARATOR, parseAnnouncement, parseRates } from './limits-announcement';
import type { AccountLimits } from './policy/types';

/** One provider window: what the provider may still count from before a change. */
const PROVIDER_WINDOW_MS = 1000;
export const PROVIDER_LIMITS_REFRESH_MS = 250;

/** Structural, so a pino logger fits. */
interface FollowerLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface ProviderLimitsOptions {
  /** The policy's limits in force (initial rates, safety, bounds); undefined for an unknown account. */
  configured: (accountId: string) => AccountLimits | undefined;
  /** The auto accounts of the policy in force: the ones read from Redis. */
  autoAccounts: () => readonly string[];
  schedule: Pick<RateSchedule, 'retire' | 'pause'>;
  redis?: RedisConnection;
  keyPrefix?: string;
  /** Names this replica in the log line of a change it adopted. */
  replica: string;
  now: () => number;
  logger: FollowerLogger;
  metrics: Pick<GatewayMetrics, 'limitsAdopted' | 'limitPerSecond'>;
  refreshMs?: number;
}

export interface ProviderLimits {
  /** The limits the schedule runs under: the adopted ones for an auto account, else the configured ones. */
  limitsFor(accountId: string): AccountLimits | undefined;
  /** An upstream answer's rate-limit headers. */
  observe(accountId: string, operationClass: OperationClass, report: RateLimitReport, status: number): void;
  /** Reads every auto account's shared limits now (also run every `refreshMs`). */
  refresh(): Promise<void>;
  close(): void;
}

interface Adopted {
  rates: ProviderRates;
  /** The shared hash's version these came from (0: adopted here, not yet written, or no Redis). */
  version: number;
  pending?: PendingRaise;
}

/**
 * Writes the limits unless they are already the stored ones; answers [version, changed]. Announces a
 * change with its version and limits (`announcementText`, built here: the version is known only here).
 */
const ADOPT_SCRIPT = defineLuaScript(
  'provider-limits-adopt',
  `local current = redis.call('HGET', KEYS[1], 'rates')
if current == ARGV[1] then
  return {tonumber(redis.call('HGET', KEYS[1], 'version') or '0'), 0}
end
local version = redis.call('HINCRBY', KEYS[1], 'version', 1)
redis.call('HSET', KEYS[1], 'rates', ARGV[1], 'atMs', ARGV[2], 'by', ARGV[3])
redis.call('PUBLISH', ARGV[4], ARGV[5] .. ARGV[6] .. version .. ARGV[6] .. ARGV[1])
return {version, 1}`,
);

export function createProviderLimits(options: ProviderLimitsOptions): ProviderLimits {
  const keyPrefix = options.keyPrefix ?? 'sg';
  const channel = `${keyPrefix}:limits`;
  const hashKey = (accountId: string) => `${keyPrefix}:limits:${accountId}`;
  const adopted = new Map<string, Adopted>();
  const { logger, metrics, redis } = options;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;

  const initialRates = (limits: AccountLimits): ProviderRates =>
    'all' in limits ? { all: limits.all } : { read: limits.read, write: limits.write };

  /** The last answer per account, kept while neither the policy's limits nor the adopted ones change: no allocation
   * per reservation. */
  const answered = new Map<string, { configured: AccountLimits; rates: ProviderRates; limits: AccountLimits }>();

  const limitsFor = (accountId: string): AccountLimits | undefined => {
    const configured = options.configured(accountId);
    if (configured?.auto === undefined) return configured;
    const rates = adopted.get(accountId)?.rates;
    if (rates === undefined) return configured;
    const last = answered.get(accountId);
    if (last !== undefined && last.configured === configured && last.rates === rates) return last.limits;
    // Bounds as configured now: a reload that narrows them applies at once.
    const bounded = clampRates(rates, configured.auto.bounds);
    const limits = {
      ...bounded,
      safety: configured.safety,
      ...(configured.adaptiveSafety ? { adaptiveSafety: configured.adaptiveSafety } : {}),
      auto: configured.auto,
    };
    answered.set(accountId, { configured, rates, limits });
    return limits;
  };

  const showLimits = (accountId: string, rates: ProviderRates): void => {
    for (const scheduleClass of ['read', 'write', 'all'] as const) {
      const value =
        'all' in rates ? (scheduleClass === 'all' ? rates.all : 0) : scheduleClass === 'all' ? 0 : rates[scheduleClass];
      metrics.limitPerSecond.set({ account: accountId, class: scheduleClass }, value);
    }
  };

  const scheduleClasses = (rates: ProviderRates): ScheduleClass[] => ('all' in rates ? ['all'] : ['read', 'write']);

  /** Switches this replica to `next`: new reservations go to its schedules; the old ones' waiters re-reserve. */
  const switchTo = (accountId: string, from: ProviderRates, next: ProviderRates, version: number): void => {
    adopted.set(accountId, { rates: next, version });
    showLimits(accountId, next);
    for (const old of scheduleClasses(from))
      options.schedule.retire(accountId, old, 0).catch((error: unknown) => warn(accountId, error));
  };

  const warn = (accountId: string, error: unknown): void =>
    logger.warn({ err: error, account: accountId }, 'limits: auto could not share or apply a change');

  const adopt = async (
    accountId: string,
    from: ProviderRates,
    next: ProviderRates,
    reason: AdoptionReason,
    family: string,
  ): Promise<void> => {
    switchTo(accountId, from, next, 0);
    if (reason !== 'confirmed') {
      // Every replica's queued requests under the old limits wait until they have switched too (≤ refreshMs);
      // the new schedule waits out the provider's window, which may still count what the old classes sent.
      const holdMs = PROVIDER_WINDOW_MS + (options.refreshMs ?? PROVIDER_LIMITS_REFRESH_MS);
      const holds = scheduleClasses(from).map((old) => options.schedule.retire(accountId, old, holdMs));
      holds.push(options.schedule.pause(accountId, 'read', options.now() + PROVIDER_WINDOW_MS));
      // Held before the announcement: a replica switches on it and reserves on the new schedule at
      // once, and must find it paused (announced first, a slot granted ahead of the pause drew a 429).
      for (const hold of await Promise.allSettled(holds)) if (hold.status === 'rejected') warn(accountId, hold.reason);
    }
    const shared = await share(accountId, next).catch((error: unknown) => {
      // Adopted here all the same; the others learn it from their own answers.
      warn(accountId, error);
      return true;
    });
    // Another replica adopted the same change first: it logged and counted it.
    if (!shared) return;
    metrics.limitsAdopted.inc({ account: accountId });
    logger.info(
      {
        account: accountId,
        from: describeRates(from),
        to: describeRates(next),
        reason,
        headers: family,
        replica: options.replica,
      },
      'limits: adopted the provider limits it advertises',
    );
  };

  /** Writes and announces the change; false when the shared hash already held it (another replica adopted it). */
  const share = async (accountId: string, next: ProviderRates): Promise<boolean> => {
    if (redis === undefined) return true;
    const [version, changed] = (await redis.runScript(
      ADOPT_SCRIPT,
      [hashKey(accountId)],
      [JSON.stringify(next), options.now(), options.replica, channel, accountId, ANNOUNCEMENT_SEPARATOR],
    )) as [number, number];
    const state = adopted.get(accountId);
    if (state !== undefined && sameRates(state.rates, next)) state.version = Math.max(state.version, Number(version));
    return Number(changed) === 1;
  };

  const observe = (
    accountId: string,
    operationClass: OperationClass,
    report: RateLimitReport,
    status: number,
  ): void => {
    const configured = options.configured(accountId);
    if (configured?.auto === undefined) return;
    const observation = observationFrom(operationClass, report, status);
    if (observation === undefined) return;
    const state = adopted.get(accountId);
    const current = state?.rates ?? initialRates(configured);
    const decision = decideAdoption({
      current,
      initial: initialRates(configured),
      pending: state?.pending,
      observation,
      bounds: configured.auto.bounds,
      nowMs: options.now(),
    });
    if (decision.kind === 'keep') {
      if (state?.pending !== undefined) state.pending = undefined;
      return;
    }
    if (decision.kind === 'await-confirmation') {
      adopted.set(accountId, { rates: current, version: state?.version ?? 0, pending: decision.pending });
      return;
    }
    const family = observation.family === 'shared' ? 'x-ratelimit-limit' : 'x-ratelimit-limit-second';
    adopt(accountId, current, decision.rates, decision.reason, family).catch((error: unknown) =>
      warn(accountId, error),
    );
  };

  /** The fleet's limits (from the hash or an announcement): switches to them unless this replica has them already. */
  const follow = (accountId: string, shared: number, next: ProviderRates): void => {
    const configured = options.configured(accountId);
    if (configured?.auto === undefined) return;
    const state = adopted.get(accountId);
    if (!(shared > (state?.version ?? 0))) return;
    const current = state?.rates ?? initialRates(configured);
    if (sameRates(current, next)) {
      adopted.set(accountId, { rates: current, version: shared });
      return;
    }
    switchTo(accountId, current, next, shared);
  };

  const refreshAccount = async (connection: RedisConnection, accountId: string): Promise<void> => {
    if (options.configured(accountId)?.auto === undefined) return;
    const [version, rates] = (await connection.command('hmget', hashKey(accountId), 'version', 'rates')) as [
      string | null,
      string | null,
    ];
    const next = rates === null ? undefined : parseRates(rates);
    if (next !== undefined) follow(accountId, Number(version ?? 0), next);
  };

  const onAnnouncement = (connection: RedisConnection, message: string): void => {
    const announced = parseAnnouncement(message);
    if (announced === undefined || !options.autoAccounts().includes(announced.accountId)) return;
    if ('rates' in announced) follow(announced.accountId, announced.version, announced.rates);
    else refreshAccount(connection, announced.accountId).catch((error: unknown) => warn(announced.accountId, error));
  };

  const refresh = async (): Promise<void> => {
    if (redis === undefined || closed || redis.status() !== 'ready') return;
    await Promise.all(
      options
        .autoAccounts()
        .map((accountId) => refreshAccount(redis, accountId).catch((error: unknown) => warn(accountId, error))),
    );
  };

  for (const accountId of options.autoAccounts()) {
    const configured = options.configured(accountId);
    if (configured) showLimits(accountId, initialRates(configured));
  }
  if (redis !== undefined) {
    redis.subscribe(channel, (message) => onAnnouncement(redis, message)).catch((error: unknown) => warn('*', error));
    const tick = (): void => {
      void refresh().finally(() => {
        if (!closed) timer = setTimeout(tick, options.refreshMs ?? PROVIDER_LIMITS_REFRESH_MS).unref();
      });
    };
    tick();
  }

  return {
    limitsFor,
    observe,
    refresh,
    close: () => {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
    },
  };
}

export type { LimitBounds };
