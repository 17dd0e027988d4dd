/**
 * The figures of one phase (ours or the baseline, in one scenario), pure: from the referee's
 * stats, the callers' samples, the Redis command counts and the gateways' own counters. Every figure is defined in
 * docs/benchmarks-fleet.md.
 */
import type { SandboxStats, TimelineEntry } from '../../src/sandbox';
import type { CallerSpec, RequestKind } from './callers';
import type { RedisCommandCounts } from './gateway-probes';
import type { LoadResult } from './load';

export const CLASSES: readonly RequestKind[] = ['read', 'write'];

export interface Percentiles {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

export interface CallerShare {
  callerId: string;
  weight: number;
  /** Requests of this caller that reached the upstream in the measured period. */
  sent: number;
  /** Achieved share ÷ weighted fair share (1 = exactly its weight's share). */
  ratio: number;
}

export interface TimelinePoint {
  /** Seconds since the phase started (whole seconds of the referee's clock). */
  second: number;
  admitted: number;
  rejected: number;
}

export interface ClassFigures {
  limitPerSecond: number;
  admitted: number;
  /** The judge: 429s the sandbox answered for this class. */
  upstream429: number;
  /** Most admitted in one fixed window of the sandbox's phase. */
  maxInFixedWindow: number;
  /** Most admitted in any 1000 ms span (every phase). */
  maxInSlidingWindow: number;
  /** Admitted per second over the whole seconds of the measured period (outside an outage window). */
  admittedPerSecond: number;
  utilization: number;
  /** Admitted per second while Redis was down (outage scenario only). */
  outageAdmittedPerSecond?: number;
  queueWaitMs: Percentiles | null;
  shares: CallerShare[];
  /** Jain's index over the callers of the most common weight. */
  jain: number;
  timeline: TimelinePoint[];
}

export interface RedisFigures {
  /** Where the round trips come from: the gateways' own count of commands sent, or (the baseline) `INFO commandstats`.
   * */
  source: RoundTripSource['source'];
  /** Commands the clients sent (round trips); null: unknown (the gateways do not export their count). */
  roundTrips: number | null;
  /** The limiter's share: the schedule's for the gateways; for the baseline every command (RateLimiterRedis is all it
   * sends). */
  scheduleRoundTrips: number | null;
  /** The compute ledger's (gateways only; the baseline has none). */
  ledgerRoundTrips: number | null;
  /** Sent, by `component:op` (gateways) or by command (baseline). */
  sentByOp: Record<string, number>;
  /** Every command Redis executed during the phase, script-internal ones included (`INFO commandstats`). */
  executed: number;
  byCommand: Record<string, number>;
  /** Requests sent upstream (the referee's admitted + rejected). */
  admitted: number;
  /** Requests that asked the limiter: admitted + refused by it + cut at the end while queued. */
  decisions: number;
  /** Of the decisions, creates (writes): each is one ledger reservation and its settlement. */
  creates: number;
  roundTripsPerAdmitted: number | null;
  roundTripsPerDecision: number | null;
  scheduleRoundTripsPerDecision: number | null;
  ledgerRoundTripsPerCreate: number | null;
}

/**
 * How a phase's round trips are counted. The gateways count the commands they send themselves
 * (null: the metric is absent); Redis's own `INFO commandstats` counts commands executed, scripts'
 * inner calls included, so for the baseline those are taken off by name.
 */
export type RoundTripSource =
  | { source: 'gateway metric'; counts: RedisCommandCounts | null }
  | { source: 'INFO commandstats'; scriptCommands: ReadonlySet<string> };

export interface ClientFigures {
  responses: number;
  /** Answered from the upstream (forwarded). */
  forwarded: number;
  /** 429s answered by the gateway (or baseline replica) itself. */
  gateway429: number;
  gateway429ByKind: Record<RequestKind, number>;
  /** Upstream 429s the callers saw (the referee's count is the judge). */
  upstream429Seen: number;
  /** 5xx answered by the gateway itself, not forwarded from the upstream. */
  gateway5xx: number;
  /** No HTTP answer (connection error or timeout). */
  transportErrors: number;
  /** Any other status (should be none). */
  unexpected: Record<string, number>;
  /** In flight at the end of the phase and cut by the bench (not counted above). */
  cutAtEnd: number;
}

export interface PhaseFigures {
  /** Whole seconds measured: after the warm-up, outside the outage window. */
  measuredSeconds: number;
  read: ClassFigures;
  write: ClassFigures;
  upstream429: number;
  duplicateCreates: number;
  redis: RedisFigures;
  client: ClientFigures;
}

export interface PhaseInput {
  stats: SandboxStats;
  keyLabel: string;
  load: LoadResult;
  warmupMs: number;
  limits: Readonly<Record<RequestKind, number>>;
  callers: readonly CallerSpec[];
  /** `INFO commandstats` after minus before: what Redis executed. */
  commandDelta: Record<string, number>;
  roundTrips: RoundTripSource;
  /**
   * Outage scenario: [kill, restart + recovery) in ms since the phase started. Utilization,
   * shares and Jain are measured outside it (the fallback runs at rate ÷ replicas by design,
   * with short local queues); its own admitted rate is reported apart.
   */
  outageWindowMs?: readonly [number, number];
}

/** Nearest-rank percentile of an ascending array; NaN when empty. */
export function percentile(sortedAscending: readonly number[], fraction: number): number {
  const count = sortedAscending.length;
  if (count === 0) return Number.NaN;
  const rank = Math.min(count, Math.max(1, Math.ceil(fraction * count)));
  return sortedAscending[rank - 1]!;
}

/** Jain's fairness index: (Σx)² ÷ (n·Σx²); 1 when all equal. NaN for no values or all zero. */
export function jainIndex(values: readonly number[]): number {
  const sum = values.reduce((a, b) => a + b, 0);
  const squares = values.reduce((a, b) => a + b * b, 0);
  return values.length === 0 || squares === 0 ? Number.NaN : (sum * sum) / (values.length * squares);
}

/** Each caller's achieved share ÷ its weighted fair share (all callers saturate, so fair = w ÷ Σw). */
export function weightedShares(
  callers: readonly CallerSpec[],
  sentByCaller: ReadonlyMap<string, number>,
): CallerShare[] {
  const totalWeight = callers.reduce((a, c) => a + c.weight, 0);
  const totalSent = callers.reduce((a, c) => a + (sentByCaller.get(c.id) ?? 0), 0);
  return callers.map((c) => {
    const sent = sentByCaller.get(c.id) ?? 0;
    const ratio = totalSent === 0 ? Number.NaN : sent / totalSent / (c.weight / totalWeight);
    return { callerId: c.id, weight: c.weight, sent, ratio };
  });
}

/** The weight most callers have (ties: the smaller weight). */
export function commonWeight(callers: readonly CallerSpec[]): number {
  const counts = new Map<number, number>();
  for (const c of callers) counts.set(c.weight, (counts.get(c.weight) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0]?.[0] ?? 1;
}

/** Whole referee seconds inside [fromMs, toMs). */
export function wholeSeconds(fromMs: number, toMs: number): number[] {
  const seconds: number[] = [];
  for (let s = Math.ceil(fromMs / 1000); (s + 1) * 1000 <= toMs; s++) seconds.push(s);
  return seconds;
}

export function phaseFigures(input: PhaseInput): PhaseFigures {
  const { stats, load, warmupMs } = input;
  const key = stats.keys[input.keyLabel];
  const timeline = stats.timeline.filter((e) => e.key === input.keyLabel);
  const outage = input.outageWindowMs;
  const inOutage = (atMs: number) => outage !== undefined && atMs >= outage[0] && atMs < outage[1];
  const outageSeconds =
    outage === undefined ? [] : wholeSeconds(load.startedAtMs + outage[0], load.startedAtMs + outage[1]);
  // A second that overlaps the outage window at all is left out.
  const touchesOutage = (second: number) =>
    outage !== undefined &&
    second * 1000 + 1000 > load.startedAtMs + outage[0] &&
    second * 1000 < load.startedAtMs + outage[1];
  const measured = wholeSeconds(load.startedAtMs + warmupMs, load.endedAtMs).filter((second) => !touchesOutage(second));
  const firstSecond = Math.floor(load.startedAtMs / 1000);
  const commonW = commonWeight(input.callers);

  const classFigures = (kind: RequestKind): ClassFigures => {
    const limit = input.limits[kind];
    const entries = timeline.filter((e) => e.class === kind);
    const bySecond = new Map<number, TimelineEntry>(entries.map((e) => [e.second, e]));
    const admittedMeasured = measured.reduce((a, s) => a + (bySecond.get(s)?.admitted ?? 0), 0);
    const admittedPerSecond = measured.length === 0 ? Number.NaN : admittedMeasured / measured.length;
    const inMeasured = load.samples.filter(
      (s) => s.kind === kind && s.forwarded && s.atMs >= warmupMs && !inOutage(s.atMs),
    );
    // Queue waits over the whole measured period, outage included.
    const waits = load.samples
      .filter((s) => s.kind === kind && s.forwarded && s.atMs >= warmupMs && s.queueWaitMs !== undefined)
      .map((s) => s.queueWaitMs!)
      .sort((a, b) => a - b);
    const sentByCaller = new Map<string, number>();
    for (const s of inMeasured) sentByCaller.set(s.callerId, (sentByCaller.get(s.callerId) ?? 0) + 1);
    const shares = weightedShares(input.callers, sentByCaller);
    const classStats = key?.classes[kind];
    return {
      limitPerSecond: limit,
      admitted: classStats?.admitted ?? 0,
      upstream429: classStats?.rejected ?? 0,
      maxInFixedWindow: classStats?.maxAdmittedInFixedWindow ?? 0,
      maxInSlidingWindow: classStats?.maxAdmittedInSlidingWindow ?? 0,
      admittedPerSecond,
      utilization: admittedPerSecond / limit,
      ...(outage === undefined
        ? {}
        : {
            outageAdmittedPerSecond:
              outageSeconds.reduce((a, sec) => a + (bySecond.get(sec)?.admitted ?? 0), 0) /
              Math.max(1, outageSeconds.length),
          }),
      queueWaitMs:
        waits.length === 0
          ? null
          : {
              count: waits.length,
              p50: percentile(waits, 0.5),
              p99: percentile(waits, 0.99),
              max: waits[waits.length - 1]!,
            },
      shares,
      jain: jainIndex(shares.filter((s) => s.weight === commonW).map((s) => s.sent)),
      timeline: entries.map((e) => ({ second: e.second - firstSecond, admitted: e.admitted, rejected: e.rejected })),
    };
  };

  const read = classFigures('read');
  const write = classFigures('write');
  const client = clientFigures(load);
  return {
    measuredSeconds: measured.length,
    read,
    write,
    upstream429: read.upstream429 + write.upstream429,
    duplicateCreates: stats.duplicateCreates.total,
    redis: redisFigures(input, { read, write }, client, load),
    client,
  };
}

const perUnit = (count: number | null, units: number): number | null =>
  count === null || units === 0 ? null : count / units;

function redisFigures(
  input: PhaseInput,
  classes: Record<RequestKind, ClassFigures>,
  client: ClientFigures,
  load: LoadResult,
): RedisFigures {
  const byCommand = Object.fromEntries(
    Object.entries(input.commandDelta).filter(([name, n]) => name !== 'info' && n > 0),
  );
  const executed = Object.values(byCommand).reduce((a, b) => a + b, 0);
  const decisionsOf = (kind: RequestKind) =>
    classes[kind].admitted + classes[kind].upstream429 + client.gateway429ByKind[kind] + load.cutAtEndByKind[kind];
  const admitted = CLASSES.reduce((a, kind) => a + classes[kind].admitted + classes[kind].upstream429, 0);
  const decisions = decisionsOf('read') + decisionsOf('write');
  const creates = decisionsOf('write');
  let sent: Pick<RedisFigures, 'source' | 'roundTrips' | 'scheduleRoundTrips' | 'ledgerRoundTrips' | 'sentByOp'>;
  if (input.roundTrips.source === 'gateway metric') {
    const counts = input.roundTrips.counts;
    sent = {
      source: 'gateway metric',
      roundTrips: counts?.total ?? null,
      scheduleRoundTrips: counts ? (counts.byComponent.schedule ?? 0) : null,
      ledgerRoundTrips: counts ? (counts.byComponent.ledger ?? 0) : null,
      sentByOp: counts?.byOp ?? {},
    };
  } else {
    const { scriptCommands } = input.roundTrips;
    const sentByOp = Object.fromEntries(Object.entries(byCommand).filter(([name]) => !scriptCommands.has(name)));
    const roundTrips = Object.values(sentByOp).reduce((a, b) => a + b, 0);
    sent = {
      source: 'INFO commandstats',
      roundTrips,
      scheduleRoundTrips: roundTrips,
      ledgerRoundTrips: null,
      sentByOp,
    };
  }
  return {
    ...sent,
    executed,
    byCommand,
    admitted,
    decisions,
    creates,
    roundTripsPerAdmitted: perUnit(sent.roundTrips, admitted),
    roundTripsPerDecision: perUnit(sent.roundTrips, decisions),
    scheduleRoundTripsPerDecision: perUnit(sent.scheduleRoundTrips, decisions),
    ledgerRoundTripsPerCreate: perUnit(sent.ledgerRoundTrips, creates),
  };
}

function clientFigures(load: LoadResult): ClientFigures {
  const figures: ClientFigures = {
    responses: 0,
    forwarded: 0,
    gateway429: 0,
    gateway429ByKind: { read: 0, write: 0 },
    upstream429Seen: 0,
    gateway5xx: 0,
    transportErrors: 0,
    unexpected: {},
    cutAtEnd: load.cutAtEnd,
  };
  for (const s of load.samples) {
    figures.responses += 1;
    if (s.status === 0) figures.transportErrors += 1;
    else if (s.forwarded) {
      figures.forwarded += 1;
      if (s.status === 429) figures.upstream429Seen += 1;
      else if (s.status !== 200 && s.status !== 202)
        figures.unexpected[`upstream ${s.status}`] = (figures.unexpected[`upstream ${s.status}`] ?? 0) + 1;
    } else if (s.status === 429) {
      figures.gateway429 += 1;
      figures.gateway429ByKind[s.kind] += 1;
    } else if (s.status >= 500) figures.gateway5xx += 1;
    else figures.unexpected[String(s.status)] = (figures.unexpected[String(s.status)] ?? 0) + 1;
  }
  return figures;
}

/** Counts after minus counts before; a restarted Redis starts from zero, so add the segments. */
export function commandDelta(
  segments: ReadonlyArray<readonly [Record<string, number>, Record<string, number>]>,
): Record<string, number> {
  const delta: Record<string, number> = {};
  for (const [before, after] of segments) {
    for (const [name, calls] of Object.entries(after)) delta[name] = (delta[name] ?? 0) + calls - (before[name] ?? 0);
  }
  return delta;
}
