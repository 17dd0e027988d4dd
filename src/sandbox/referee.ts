/**
 * The referee: what the sandbox saw, for tests and charts. Per key (by label, never the raw key)
 * and class: admitted requests, 429s, and the most admitted in one second both as fixed windows of
 * the configured phase and as a sliding 1000 ms span, computed exactly from the admitted instants.
 * Also duplicate creates per idempotency key, the last request received (overall and per key) and
 * a per-second timeline.
 */
import type { OperationClass } from '../catalog/catalog';
import { envelopeTimestamp } from '../shared/envelope';
import type { RecordedRequest } from './describe-request';
import type { LoopDelay } from '../shared/loop-delay';
import type { AuthenticatedKey } from './keys';
import type { RateBucket, RateProfile } from './rate-profiles';
import type { WindowModel } from './rate-windows';
import { maxInAnySpan, maxInFixedWindows, mergeSorted } from './window-stats';

export type StatsClass = 'read' | 'write' | 'all';
export type FaultKind = 'error' | 'drop' | 'slow';

export interface ClassStats {
  admitted: number;
  rejected: number;
  maxAdmittedInFixedWindow: number;
  maxAdmittedInSlidingWindow: number;
}

export interface KeyStats {
  team: string;
  role: string;
  /** `all` is read and write together (the one counter of the `current` profile). */
  classes: Record<StatsClass, ClassStats>;
  createsPerformed: number;
  lastRequest: RecordedRequest | null;
}

export interface TimelineEntry {
  /** Unix second. */
  second: number;
  key: string;
  class: OperationClass;
  admitted: number;
  rejected: number;
}

export interface SandboxStats {
  generatedAt: string;
  profile: RateProfile;
  window: WindowModel;
  /** The phase `maxAdmittedInFixedWindow` was computed with. */
  windowPhaseMs: number;
  limitsPerSecond: Partial<Record<RateBucket, number>>;
  keys: Record<string, KeyStats>;
  /** Requests refused with 401 (no key or an unknown one). */
  unauthenticated: number;
  /** Creates performed again under an idempotency key already used by the same API key. Should stay 0. */
  duplicateCreates: { total: number; byKey: Record<string, Record<string, number>> };
  faultsInjected: Record<FaultKind, number>;
  lastRequest: RecordedRequest | null;
  timeline: TimelineEntry[];
  /** Runtime switches of the rate profile (`setProfile`), oldest first; `profile` above is the one in force. */
  profileSwitches: ProfileSwitch[];
  /** Only when asked for (`decisionsSinceMs`): every rate decision from then on, in time order. */
  decisions?: RateDecision[];
  /**
   * How late the sandbox's own event loop ran since start or the last reset (control.ts): a request
   * that arrives while it is stalled is counted, and its rate decided, that much later than sent.
   */
  loopDelay?: LoopDelay;
}

/** One request the rate limiter decided on: when (the sandbox's clock), for which key and class, admitted or 429. */
export interface RateDecision {
  atMs: number;
  key: string;
  class: OperationClass;
  admitted: boolean;
}

export interface ProfileSwitch {
  atMs: number;
  profile: RateProfile;
  limitsPerSecond: Partial<Record<RateBucket, number>>;
}

export interface RefereeSettings {
  profile: RateProfile;
  window: WindowModel;
  windowPhaseMs: number;
  limitsPerSecond: Partial<Record<RateBucket, number>>;
}

interface KeyRecord {
  team: string;
  role: string;
  admittedMs: Record<OperationClass, number[]>;
  /** Kept as instants, like the admitted ones, so the decisions since a moment can be listed. */
  rejectedMs: Record<OperationClass, number[]>;
  creates: Map<string, number>;
  lastRequest: RecordedRequest | null;
}

export class Referee {
  private keys = new Map<string, KeyRecord>();
  private timeline = new Map<string, TimelineEntry>();
  private lastRequest: RecordedRequest | null = null;
  private unauthenticated = 0;
  private faults: Record<FaultKind, number> = { error: 0, drop: 0, slow: 0 };
  private switches: ProfileSwitch[] = [];

  constructor(
    private readonly settings: RefereeSettings,
    private readonly now: () => number,
  ) {}

  received(request: RecordedRequest): void {
    this.lastRequest = request;
  }

  receivedFor(key: AuthenticatedKey, request: RecordedRequest): void {
    const recorded = { ...request, key: key.label };
    this.lastRequest = recorded;
    this.record(key).lastRequest = recorded;
  }

  unauthenticatedRequest(): void {
    this.unauthenticated++;
  }

  rateDecision(key: AuthenticatedKey, operationClass: OperationClass, admitted: boolean, atMs: number): void {
    const record = this.record(key);
    insertSorted((admitted ? record.admittedMs : record.rejectedMs)[operationClass], atMs);
    const second = Math.floor(atMs / 1000);
    const id = `${second} ${key.label} ${operationClass}`;
    let entry = this.timeline.get(id);
    if (!entry) {
      entry = { second, key: key.label, class: operationClass, admitted: 0, rejected: 0 };
      this.timeline.set(id, entry);
    }
    if (admitted) entry.admitted++;
    else entry.rejected++;
  }

  createPerformed(key: AuthenticatedKey, idempotencyKey: string): void {
    const creates = this.record(key).creates;
    const normalised = idempotencyKey.toLowerCase();
    creates.set(normalised, (creates.get(normalised) ?? 0) + 1);
  }

  faultInjected(kind: FaultKind): void {
    this.faults[kind]++;
  }

  /**
   * `phaseMs` recomputes the fixed-window figure for another phase (default: the configured one);
   * `decisionsSinceMs` adds every rate decision from that instant on (how a fleet adapted to a change).
   */
  stats(phaseMs: number = this.settings.windowPhaseMs, decisionsSinceMs?: number): SandboxStats {
    const keys: Record<string, KeyStats> = {};
    const byKey: Record<string, Record<string, number>> = {};
    let duplicates = 0;
    for (const [label, record] of [...this.keys.entries()].sort(([a], [b]) => a.localeCompare(b))) {
      const all = mergeSorted(record.admittedMs.read, record.admittedMs.write);
      keys[label] = {
        team: record.team,
        role: record.role,
        classes: {
          read: classStats(record.admittedMs.read, record.rejectedMs.read.length, phaseMs),
          write: classStats(record.admittedMs.write, record.rejectedMs.write.length, phaseMs),
          all: classStats(all, record.rejectedMs.read.length + record.rejectedMs.write.length, phaseMs),
        },
        createsPerformed: [...record.creates.values()].reduce((sum, n) => sum + n, 0),
        lastRequest: record.lastRequest,
      };
      for (const [idempotencyKey, count] of record.creates) {
        if (count < 2) continue;
        (byKey[label] ??= {})[idempotencyKey] = count - 1;
        duplicates += count - 1;
      }
    }
    return {
      generatedAt: envelopeTimestamp(new Date(this.now())),
      profile: this.switches.at(-1)?.profile ?? this.settings.profile,
      window: this.settings.window,
      windowPhaseMs: phaseMs,
      limitsPerSecond: { ...(this.switches.at(-1)?.limitsPerSecond ?? this.settings.limitsPerSecond) },
      keys,
      unauthenticated: this.unauthenticated,
      duplicateCreates: { total: duplicates, byKey },
      faultsInjected: { ...this.faults },
      lastRequest: this.lastRequest,
      timeline: [...this.timeline.values()]
        .map((entry) => ({ ...entry }))
        .sort((a, b) => a.second - b.second || a.key.localeCompare(b.key) || a.class.localeCompare(b.class)),
      profileSwitches: this.switches.map((s) => ({ ...s, limitsPerSecond: { ...s.limitsPerSecond } })),
      ...(decisionsSinceMs === undefined ? {} : { decisions: this.decisionsSince(decisionsSinceMs) }),
    };
  }

  private decisionsSince(sinceMs: number): RateDecision[] {
    const decisions: RateDecision[] = [];
    for (const [key, record] of this.keys)
      for (const operationClass of ['read', 'write'] as const)
        for (const [instants, admitted] of [
          [record.admittedMs[operationClass], true],
          [record.rejectedMs[operationClass], false],
        ] as const)
          for (const atMs of instants)
            if (atMs >= sinceMs) decisions.push({ atMs, key, class: operationClass, admitted });
    return decisions.sort((a, b) => a.atMs - b.atMs);
  }

  reset(): void {
    this.keys = new Map();
    this.timeline = new Map();
    this.lastRequest = null;
    this.unauthenticated = 0;
    this.faults = { error: 0, drop: 0, slow: 0 };
    this.switches = [];
  }

  profileSwitched(change: ProfileSwitch): void {
    this.switches.push(change);
  }

  private record(key: AuthenticatedKey): KeyRecord {
    let record = this.keys.get(key.label);
    if (!record) {
      record = {
        team: key.team,
        role: key.role,
        admittedMs: { read: [], write: [] },
        rejectedMs: { read: [], write: [] },
        creates: new Map(),
        lastRequest: null,
      };
      this.keys.set(key.label, record);
    }
    return record;
  }
}

function classStats(admittedMs: readonly number[], rejected: number, phaseMs: number): ClassStats {
  return {
    admitted: admittedMs.length,
    rejected,
    maxAdmittedInFixedWindow: maxInFixedWindows(admittedMs, phaseMs),
    maxAdmittedInSlidingWindow: maxInAnySpan(admittedMs),
  };
}

function insertSorted(values: number[], value: number): void {
  let i = values.length;
  while (i > 0 && values[i - 1]! > value) i--;
  values.splice(i, 0, value);
}
