/**
 * The status document: a pure function from the live state (the policy, the schedule's view of its
 * queues, the per-caller counts) to what `GET /status.json` answers and the page renders. It names
 * accounts, callers and reasons; it never holds a key, a token, a secret or a Redis address.
 */
import type { FleetSlots, ScheduleClass, ScheduleQueueView, ScheduleState } from '../../../schedule';
import { scheduleFor } from '../../../schedule';
import type { Policy } from '../../policy/types';
import { ANONYMOUS, type CallerCounts, type PolicyLoad, type ReloadOutcome } from './status-recorder';

export interface StatusInputs {
  nowMs: number;
  policy: Policy;
  scheduleState: ScheduleState;
  queues: readonly ScheduleQueueView[];
  /** Shared mode: every replica's slots in the last second, from the shared calendar. */
  fleet?: readonly FleetSlots[];
  callers: ReadonlyMap<string, CallerCounts>;
  policyLoad?: PolicyLoad;
  lastReload?: ReloadOutcome;
}

export type ScheduleStateName = 'running' | 'paused' | 'fallback' | 'connecting';

export interface ScheduleRow {
  account: string;
  class: ScheduleClass;
  /** The provider's limit for the key, requests per second, and the fraction of it the schedule uses. */
  limitPerSecond: number;
  safety: number;
  /** The rate this replica schedules at now (limit × safety; the fallback's share while Redis is down). */
  ratePerSecond: number;
  /** This replica's sends: since start, in the last 10 s, and per completed second (oldest first). */
  sentTotal: number;
  sentLast10s: number;
  sendsPerSecond: number[];
  /** Every replica's slots on the key in the last second, from the shared calendar; null without Redis. */
  fleetSlotsLastSecond: number | null;
  /** This replica's requests waiting for their slot now, and the longest wait so far. */
  waiting: number;
  oldestWaitMs: number | null;
  state: ScheduleStateName;
  /** Since when the state holds (fallback, connecting), or until when (paused), Unix ms. */
  stateSinceMs: number | null;
  pausedUntilMs: number | null;
  upstream429: number;
  last429AtMs: number | null;
}

export interface CallerRow {
  caller: string;
  /** Null for `anonymous` (no authenticated caller). */
  account: string | null;
  weight: number | null;
  requestsTotal: number;
  requestsLastMinute: number;
  forwardedLastMinute: number;
  /** Of its account's forwarded requests in the last minute; null when the account forwarded none. */
  shareLastMinute: number | null;
  /** Its weight among its account's callers active in the last minute; null when none was. */
  weightShare: number | null;
  /** Requests the gateway answered itself, by reason, since start. */
  denials: Record<string, number>;
}

export interface StatusDocument {
  generatedAtMs: number;
  replica: { scheduleMode: ScheduleState['mode']; scheduleModeSinceMs: number; scheduleReason: string | null };
  policy: {
    version: string | null;
    loadedAtMs: number | null;
    lastReload: { atMs: number; outcome: 'ok' | 'refused'; problems: number } | null;
  };
  schedules: ScheduleRow[];
  callers: CallerRow[];
}

const MINUTE_SECONDS = 60;
const HISTORY_POINTS = 60;

export function statusDocument(inputs: StatusInputs): StatusDocument {
  const { lastReload } = inputs;
  return {
    generatedAtMs: inputs.nowMs,
    replica: {
      scheduleMode: inputs.scheduleState.mode,
      scheduleModeSinceMs: inputs.scheduleState.sinceMs,
      scheduleReason:
        inputs.scheduleState.reason === undefined ? null : withoutCredentials(inputs.scheduleState.reason),
    },
    policy: {
      version: inputs.policyLoad?.version ?? null,
      loadedAtMs: inputs.policyLoad?.loadedAtMs ?? null,
      lastReload: lastReload
        ? { atMs: lastReload.atMs, outcome: lastReload.ok ? 'ok' : 'refused', problems: lastReload.problems }
        : null,
    },
    schedules: scheduleRows(inputs),
    callers: callerRows(inputs),
  };
}

/** Every (account, class) of the policy, with what this replica's schedule knows of it (zeros before its first use). */
function scheduleRows(inputs: StatusInputs): ScheduleRow[] {
  const { policy, nowMs, scheduleState } = inputs;
  const rows: ScheduleRow[] = [];
  for (const account of Object.values(policy.accounts)) {
    const classes: ScheduleClass[] = 'all' in account.limits ? ['all'] : ['read', 'write'];
    for (const scheduleClass of classes) {
      const limitPerSecond = scheduleFor(
        account.limits,
        scheduleClass === 'all' ? 'read' : scheduleClass,
      ).ratePerSecond;
      const same = (q: { accountId: string; scheduleClass: ScheduleClass }) =>
        q.accountId === account.id && q.scheduleClass === scheduleClass;
      const view = inputs.queues.find(same);
      const fleet = inputs.fleet === undefined ? undefined : (inputs.fleet.find(same)?.slotsLastSecond ?? 0);
      const pausedUntilMs = view?.pausedUntilMs !== undefined && view.pausedUntilMs > nowMs ? view.pausedUntilMs : null;
      const state = stateOf(scheduleState, pausedUntilMs);
      rows.push({
        account: account.id,
        class: scheduleClass,
        limitPerSecond,
        // An adaptive safety moves: the schedule's own, once this replica has used it.
        safety: view?.safety ?? account.limits.safety,
        ratePerSecond: roundTo3(view?.ratePerSecond ?? limitPerSecond * account.limits.safety),
        sentTotal: view?.sentTotal ?? 0,
        sentLast10s: view?.sentLast10s ?? 0,
        sendsPerSecond: lastPoints(view?.sendsPerSecond ?? [], HISTORY_POINTS),
        fleetSlotsLastSecond: fleet ?? null,
        waiting: view?.waiting ?? 0,
        oldestWaitMs: view?.oldestWaitMs ?? null,
        state,
        stateSinceMs: state === 'fallback' || state === 'connecting' ? scheduleState.sinceMs : null,
        pausedUntilMs,
        upstream429: view?.upstreamRefusals ?? 0,
        last429AtMs: view?.lastRefusalAtMs ?? null,
      });
    }
  }
  return rows;
}

function stateOf(scheduleState: ScheduleState, pausedUntilMs: number | null): ScheduleStateName {
  if (scheduleState.reason === 'connecting') return 'connecting';
  if (scheduleState.mode === 'fallback') return 'fallback';
  return pausedUntilMs === null ? 'running' : 'paused';
}

/** The policy's callers, then `anonymous` when it has requests. */
function callerRows(inputs: StatusInputs): CallerRow[] {
  const { policy, nowMs } = inputs;
  const recent = (caller: string) => {
    const counts = inputs.callers.get(caller);
    return {
      requests: counts?.requests.lastSeconds(nowMs, MINUTE_SECONDS) ?? 0,
      forwarded: counts?.forwarded.lastSeconds(nowMs, MINUTE_SECONDS) ?? 0,
    };
  };
  const byAccount = new Map<string, { forwarded: number; activeWeight: number }>();
  for (const caller of Object.values(policy.callers)) {
    const sums = byAccount.get(caller.accountId) ?? { forwarded: 0, activeWeight: 0 };
    const last = recent(caller.id);
    sums.forwarded += last.forwarded;
    if (last.requests > 0) sums.activeWeight += caller.weight;
    byAccount.set(caller.accountId, sums);
  }
  const rows: CallerRow[] = Object.values(policy.callers).map((caller) => {
    const last = recent(caller.id);
    const sums = byAccount.get(caller.accountId)!;
    return {
      caller: caller.id,
      account: caller.accountId,
      weight: caller.weight,
      requestsTotal: inputs.callers.get(caller.id)?.requests.total() ?? 0,
      requestsLastMinute: last.requests,
      forwardedLastMinute: last.forwarded,
      shareLastMinute: sums.forwarded > 0 ? last.forwarded / sums.forwarded : null,
      weightShare: last.requests > 0 && sums.activeWeight > 0 ? caller.weight / sums.activeWeight : null,
      denials: denialsOf(inputs.callers.get(caller.id)),
    };
  });
  const anonymous = inputs.callers.get(ANONYMOUS);
  if (anonymous !== undefined && !Object.hasOwn(policy.callers, ANONYMOUS)) {
    const last = recent(ANONYMOUS);
    rows.push({
      caller: ANONYMOUS,
      account: null,
      weight: null,
      requestsTotal: anonymous.requests.total(),
      requestsLastMinute: last.requests,
      forwardedLastMinute: last.forwarded,
      shareLastMinute: null,
      weightShare: null,
      denials: denialsOf(anonymous),
    });
  }
  return rows;
}

function denialsOf(counts: CallerCounts | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [reason, count] of [...(counts?.denials ?? new Map<string, number>())].sort(([a], [b]) =>
    a.localeCompare(b),
  ))
    out[reason] = count;
  return out;
}

/** 28.499999999999996 is 28.5 on the page and in the JSON. */
function roundTo3(value: number): number {
  return Math.round(value * 1000) / 1000;
}

function lastPoints(values: readonly number[], n: number): number[] {
  const points = values.slice(-n);
  return [...new Array<number>(n - points.length).fill(0), ...points];
}

/** A store failure's text may quote an address; user information in a URL is cut, whatever the scheme. */
export function withoutCredentials(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^@\s/]*@/gi, '$1***@');
}
