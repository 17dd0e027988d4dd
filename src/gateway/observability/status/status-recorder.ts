/**
 * What the status page needs beyond the schedule and the policy: per caller, requests and denials
 * (fed from the access record, the same place the request metrics are counted), and the policy's
 * loads and reloads. Bounded: callers are the policy's names (or `anonymous`), reasons a closed set.
 */
import { RecentSecondCounts } from '../../../shared/recent-second-counts';
import type { Policy } from '../../policy/types';
import type { ReloadResult } from '../../reload';
import type { RequestRecord } from '../../request-record';
import { policyVersion } from './policy-version';

/** The metrics' label for a request without an authenticated caller. */
export const ANONYMOUS = 'anonymous';
/** Seconds of per-caller history: "the last minute". */
const CALLER_HISTORY_SECONDS = 60;

export interface CallerCounts {
  /** Every request answered, as `strettch_gateway_requests_total{caller}` counts them. */
  readonly requests: RecentSecondCounts;
  /** Requests that reached the upstream (an upstream status is known). */
  readonly forwarded: RecentSecondCounts;
  /** Requests the gateway answered itself, by the access line's `reason`; made at the first (most have none). */
  denials?: Map<string, number>;
}

export interface PolicyLoad {
  version: string;
  loadedAtMs: number;
}

export interface ReloadOutcome {
  atMs: number;
  ok: boolean;
  /** How many problems a refused policy had (their text is in the logs, with paths). */
  problems: number;
}

export interface StatusRecorder {
  recordRequest(record: Readonly<RequestRecord>): void;
  policyLoaded(policy: Policy): void;
  reloaded(result: ReloadResult): void;
  callers(): ReadonlyMap<string, CallerCounts>;
  policyLoad(): PolicyLoad | undefined;
  lastReload(): ReloadOutcome | undefined;
}

/**
 * The reason's name without its detail: an access line may say `auth-malformed: <what the token
 * library said>`, text that can quote the request. The name is from a closed set; the detail stays in the log.
 */
export function reasonName(reason: string): string {
  const colon = reason.indexOf(':');
  return colon === -1 ? reason : reason.slice(0, colon);
}

export function createStatusRecorder(now: () => number): StatusRecorder {
  const callers = new Map<string, CallerCounts>();
  let load: PolicyLoad | undefined;
  let reload: ReloadOutcome | undefined;
  const countsOf = (caller: string): CallerCounts => {
    let counts = callers.get(caller);
    if (counts === undefined) {
      counts = {
        requests: new RecentSecondCounts(CALLER_HISTORY_SECONDS),
        forwarded: new RecentSecondCounts(CALLER_HISTORY_SECONDS),
      };
      callers.set(caller, counts);
    }
    return counts;
  };
  return {
    recordRequest(record) {
      const atMs = now();
      const counts = countsOf(record.caller ?? ANONYMOUS);
      counts.requests.add(atMs);
      if (record.upstreamStatus !== undefined) counts.forwarded.add(atMs);
      if (record.reason !== undefined) {
        const reason = reasonName(record.reason);
        counts.denials ??= new Map();
        counts.denials.set(reason, (counts.denials.get(reason) ?? 0) + 1);
      }
    },
    policyLoaded(policy) {
      load = { version: policyVersion(policy), loadedAtMs: now() };
    },
    reloaded(result) {
      reload = { atMs: now(), ok: result.ok, problems: result.ok ? 0 : result.errors.length };
    },
    callers: () => callers,
    policyLoad: () => load,
    lastReload: () => reload,
  };
}
