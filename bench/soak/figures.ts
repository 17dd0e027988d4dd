/**
 * The soak's figures and verdicts, from what the run recorded (pure). Spans, all timed from the
 * start of the load on the gateway (t = 0) and selecting requests by when they were due:
 *
 * - warm-up [0, W): left out of latency and drift figures (kinds count from t = 0, as the referee's
 *   fault counters do);
 * - measured [W, D);
 * - first and last window: the first and the last L = min(60 s, (D − W) ÷ 4) of the measured span.
 *   Drift figures compare them: "last ÷ first" is the baseline measured in the same run.
 *
 * RSS growth = (median RSS in the last window − median in the first) ÷ median in the first.
 */
import { median, percentile } from '../latency-stats';
import {
  EXPECTED_KINDS,
  FAULT_SIGNS,
  KINDS,
  reconcileFaults,
  reconciledKinds,
  zeroKinds,
  type FaultReconciliation,
  type FaultSign,
  type InjectedFaults,
  type ResponseKind,
} from './classify';
import type { FaultEvidence } from './fault-evidence';
import type { OpenLoopRecord } from './load';
import { INTENTS, type Intent } from './mix';
import type { ProbeEld, ProbeExit, ProbeSigterm } from './probe-protocol';
import type { GatewaySample } from './sampler';

export const TARGETS = Object.freeze({
  unexpected5xx: 0,
  maxRssGrowthPct: 10,
  maxEldP99Ms: 20,
  maxExitMs: 5000,
});

/** The drift windows: this long, or a quarter of the measured span when that is shorter. */
export const WINDOW_CAP_SEC = 60;

export interface Spans {
  warmupSec: number;
  durationSec: number;
  windowSec: number;
  first: [number, number];
  last: [number, number];
}

export function spans(durationSec: number, warmupSec: number): Spans {
  const windowSec = Math.min(WINDOW_CAP_SEC, (durationSec - warmupSec) / 4);
  return {
    warmupSec,
    durationSec,
    windowSec,
    first: [warmupSec, warmupSec + windowSec],
    last: [durationSec - windowSec, durationSec],
  };
}

export interface LatencySummary {
  count: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface TrafficFigures {
  offeredRps: number;
  /** Requests that left the generator, per second of the measured span. */
  sentRps: number;
  /** HTTP responses (any status) to requests due in the measured span, per second of it. */
  achievedRps: number;
  requests: number;
  /** Every request of the run by kind, fault-shaped 5xx beyond the injected faults moved to unexpected. */
  kinds: Record<ResponseKind, number>;
  /** The same as fractions of all requests. */
  kindRates: Record<ResponseKind, number>;
  /** Unreconciled, by what each request intended. */
  kindsByIntent: Record<Intent, Partial<Record<ResponseKind, number>>>;
  /** Responses of a kind their intent should not get (a 429 on an allowed read, a 200 on a bad token…). */
  intentMismatches: number;
  clientErrors: Record<string, number>;
  /** Every response by HTTP status (0: none), the whole run. */
  statuses: Record<string, number>;
  /** Unexpected or mismatched responses, by `intent → kind status code (reason)`, before reconciliation. */
  unexpectedResponses: Record<string, number>;
  /** Measured span, answered requests, from when each was due. */
  latency: { allowedOk: LatencySummary; allAnswered: LatencySummary; byIntent: Record<Intent, LatencySummary> };
  /** How late requests left after they were due: the generator's own health. */
  sendLag: { p99Ms: number; maxMs: number };
  maxInFlight: number;
}

export interface WindowFigures {
  fromSec: number;
  toSec: number;
  rssMedianMiB: number;
  heapUsedMedianMiB: number;
  /** Median over the window's 1 s scrapes of each scrape's p99. */
  eldP99MedianMs: number;
  allowedOkP99Ms: number;
  achievedRps: number;
  cpuMsPerRequest: number;
  /** Time in garbage collection, ms per second of the window. */
  gcMsPerSec: number;
  openFdsMedian: number;
  activeResourcesMedian: number;
}

export type DriftKey = Exclude<keyof WindowFigures, 'fromSec' | 'toSec'>;

export interface HandleFigures {
  /** Active resources by type, idle, after start-up and before the load; again after the load. */
  idleBefore: Record<string, number>;
  idleAfter: Record<string, number>;
  /** As SIGTERM arrived (the probe), by type. */
  atSigterm: Record<string, number> | null;
  /** At exit: what would have kept the process alive without the CLI's process.exit(). */
  lingeringAtExit: string[] | null;
  exitCode: number | null;
  /** SIGTERM to the process being gone, as the bench saw it. */
  exitAfterSigtermMs: number;
  /** Not gone within the grace period: SIGKILLed. */
  killed: boolean;
}

export interface EventLoopFigures {
  /** The gateway's own histogram over the measured span (the probe), sampling interval taken off. */
  measured: { p50Ms: number; p99Ms: number; maxMs: number; meanMs: number; samples: number } | null;
  warmupP99Ms: number | null;
  /** From the 1 s scrapes after the warm-up: the worst second's p99. */
  worstSecondP99Ms: number;
  /** Garbage collection over the measured span, to tell a collector's pauses from a starved CPU. */
  gc: { msPerSec: number; majorCount: number; worstSecondMajorMs: number };
}

export interface Verdict {
  target: string;
  value: string;
  pass: boolean | null;
}

export interface BaselineComparison {
  /** Straight to the sandbox, same generator, same rate and mix (the sandbox's keys playing the parts). */
  direct: { achievedRps: number; allowedOk: LatencySummary; kinds: Record<ResponseKind, number>; measuredSec: number };
  /** Gateway ÷ direct. */
  ratios: { achievedRps: number; allowedOkP50: number; allowedOkP99: number };
}

export interface TimelinePoint {
  tSec: number;
  rssMiB: number;
  heapUsedMiB: number;
  eldP99Ms: number;
  eldMaxMs: number;
  activeResources: number;
  openFds: number;
  /** CPU of the gateway since the previous point, % of one core; of which garbage collection, ms per second. */
  cpuPercent: number;
  gcMsPerSec: number;
  /** Major collections since the previous point, and their total time (a bound on the longest pause). */
  majorGcs: number;
  majorGcMs: number;
  sandboxRssMiB?: number;
}

export interface SecondPoint {
  tSec: number;
  /** Requests due in this second, and how they ended. */
  due: number;
  kinds: Partial<Record<ResponseKind, number>>;
  allowedOkP99Ms: number;
}

export interface SoakFigures {
  spans: Spans;
  traffic: TrafficFigures;
  faults: FaultReconciliation;
  windows: { first: WindowFigures; last: WindowFigures; lastOverFirst: Record<DriftKey, number> };
  memory: {
    idleBeforeMiB: number;
    firstWindowMiB: number;
    lastWindowMiB: number;
    idleAfterMiB: number;
    maxMiB: number;
    growthPct: number;
    sandboxGrowthPct: number | null;
  };
  eventLoop: EventLoopFigures;
  handles: HandleFigures;
  baseline: BaselineComparison | null;
  verdicts: Verdict[];
  timeline: TimelinePoint[];
  perSecond: SecondPoint[];
}

export interface SoakRunData {
  durationSec: number;
  warmupSec: number;
  soak: OpenLoopRecord;
  /** With the seconds of its start left out (warm-up of the generator and the sandbox). */
  baseline?: { record: OpenLoopRecord; warmupSec: number };
  samples: readonly GatewaySample[];
  idleBefore: GatewaySample;
  idleAfter: GatewaySample;
  probe: {
    warmupEld?: ProbeEld;
    measuredEld?: ProbeEld;
    sigterm?: ProbeSigterm;
    exit?: ProbeExit;
    resolutionMs: number;
  };
  exit: { afterSigtermMs: number; killed: boolean };
  injected: InjectedFaults;
  /** The requests the sandbox's log shows faulted; absent: only the referee's totals decide. */
  evidence?: FaultEvidence;
}

const MIB = 2 ** 20;
const round = (x: number, digits = 2) =>
  Number.isFinite(x) ? Math.round(x * 10 ** digits) / 10 ** digits : Number.NaN;

/** Request indexes due in [fromSec, toSec). */
function dueRange(record: OpenLoopRecord, fromSec: number, toSec: number): [number, number] {
  const perMs = record.ratePerSec / 1000;
  const from = Math.min(record.count, Math.max(0, Math.ceil(fromSec * 1000 * perMs - 1e-9)));
  const to = Math.min(record.count, Math.max(from, Math.ceil(toSec * 1000 * perMs - 1e-9)));
  return [from, to];
}

export function summarize(values: number[]): LatencySummary {
  const sorted = values.sort((a, b) => a - b);
  return {
    count: sorted.length,
    p50Ms: round(percentile(sorted, 0.5), 1),
    p90Ms: round(percentile(sorted, 0.9), 1),
    p99Ms: round(percentile(sorted, 0.99), 1),
    maxMs: round(sorted.length > 0 ? sorted[sorted.length - 1]! : Number.NaN, 1),
  };
}

const EXPECTED_FOR = Object.fromEntries(INTENTS.map((i) => [i, new Set(EXPECTED_KINDS[i])])) as Record<
  Intent,
  Set<ResponseKind>
>;
const OK = KINDS.indexOf('ok');
const READ = INTENTS.indexOf('read');
const WRITE = INTENTS.indexOf('write');

function latencies(record: OpenLoopRecord, [from, to]: [number, number], keep: (n: number) => boolean): number[] {
  const out: number[] = [];
  for (let n = from; n < to; n++) {
    const ms = record.latencyMs[n]!;
    if (!Number.isNaN(ms) && keep(n)) out.push(ms);
  }
  return out;
}

const allowedOk = (record: OpenLoopRecord) => (n: number) =>
  record.kind[n] === OK && (record.intent[n] === READ || record.intent[n] === WRITE);

function answeredIn(record: OpenLoopRecord, [from, to]: [number, number]): number {
  let answered = 0;
  for (let n = from; n < to; n++) if (record.status[n]! > 0) answered++;
  return answered;
}

function kindCounts(record: OpenLoopRecord): Record<ResponseKind, number> {
  const kinds = zeroKinds();
  for (let n = 0; n < record.count; n++) kinds[KINDS[record.kind[n]!]!]++;
  return kinds;
}

export function trafficFigures(
  record: OpenLoopRecord,
  injected: InjectedFaults,
  measured: [number, number],
  evidence?: FaultEvidence,
): { traffic: TrafficFigures; faults: FaultReconciliation } {
  const faultShaped: Array<[number, FaultSign]> = [];
  const byIntent = Object.fromEntries(INTENTS.map((i) => [i, {}])) as Record<
    Intent,
    Partial<Record<ResponseKind, number>>
  >;
  const statuses: Record<string, number> = {};
  let mismatches = 0;
  for (let n = 0; n < record.count; n++) {
    const status = String(record.status[n]!);
    statuses[status] = (statuses[status] ?? 0) + 1;
    const sign = record.faultSign[n]!;
    if (sign > 0) faultShaped.push([n, FAULT_SIGNS[sign - 1]!]);
    const intent = INTENTS[record.intent[n]!]!;
    const kind = KINDS[record.kind[n]!]!;
    byIntent[intent][kind] = (byIntent[intent][kind] ?? 0) + 1;
  }
  for (const intent of INTENTS) {
    for (const [kind, count] of Object.entries(byIntent[intent]) as Array<[ResponseKind, number]>) {
      if (!EXPECTED_FOR[intent].has(kind)) mismatches += count;
    }
  }
  const faults = reconcileFaults(faultShaped, injected, evidence);
  const kinds = reconciledKinds(kindCounts(record), faults);
  const range = dueRange(record, measured[0], measured[1]);
  const spanSec = measured[1] - measured[0];
  let sent = 0;
  const lags: number[] = [];
  for (let n = range[0]; n < range[1]; n++) {
    const lag = record.sendLagMs[n]!;
    if (!Number.isNaN(lag)) {
      sent++;
      lags.push(lag);
    }
  }
  lags.sort((a, b) => a - b);
  const byIntentLatency = Object.fromEntries(
    INTENTS.map((intent, i) => [intent, summarize(latencies(record, range, (n) => record.intent[n] === i))]),
  ) as Record<Intent, LatencySummary>;
  return {
    faults,
    traffic: {
      offeredRps: record.ratePerSec,
      sentRps: round(sent / spanSec, 1),
      achievedRps: round(answeredIn(record, range) / spanSec, 1),
      requests: record.count,
      kinds,
      kindRates: Object.fromEntries(KINDS.map((k) => [k, round(kinds[k] / record.count, 5)])) as Record<
        ResponseKind,
        number
      >,
      kindsByIntent: byIntent,
      intentMismatches: mismatches,
      clientErrors: { ...record.clientErrors },
      statuses,
      unexpectedResponses: { ...record.unexpectedResponses },
      latency: {
        allowedOk: summarize(latencies(record, range, allowedOk(record))),
        allAnswered: summarize(latencies(record, range, () => true)),
        byIntent: byIntentLatency,
      },
      sendLag: {
        p99Ms: round(percentile(lags, 0.99), 1),
        maxMs: round(lags.length > 0 ? lags[lags.length - 1]! : Number.NaN, 1),
      },
      maxInFlight: record.maxInFlightSeen,
    },
  };
}

function samplesIn(samples: readonly GatewaySample[], [fromSec, toSec]: [number, number]): GatewaySample[] {
  return samples.filter((s) => s.atMs >= fromSec * 1000 && s.atMs < toSec * 1000);
}

function finiteMedian(values: number[]): number {
  return median(values.filter(Number.isFinite));
}

export function windowFigures(
  record: OpenLoopRecord,
  samples: readonly GatewaySample[],
  window: [number, number],
): WindowFigures {
  const inWindow = samplesIn(samples, window);
  const range = dueRange(record, window[0], window[1]);
  const answered = answeredIn(record, range);
  // CPU between the first and the last scrape of the window, per response in that time.
  let cpuMsPerRequest = Number.NaN;
  let gcMsPerSec = Number.NaN;
  if (inWindow.length >= 2) {
    const a = inWindow[0]!;
    const b = inWindow[inWindow.length - 1]!;
    gcMsPerSec = ((b.gcSeconds - a.gcSeconds) * 1e6) / (b.atMs - a.atMs);
    let between = 0;
    for (let n = 0; n < record.count; n++) {
      const done = record.doneAtMs[n]!;
      if (done >= a.atMs && done < b.atMs) between++;
    }
    cpuMsPerRequest = between > 0 ? ((b.cpuSeconds - a.cpuSeconds) * 1000) / between : Number.NaN;
  }
  return {
    fromSec: round(window[0], 1),
    toSec: round(window[1], 1),
    rssMedianMiB: round(finiteMedian(inWindow.map((s) => s.rssBytes)) / MIB, 1),
    heapUsedMedianMiB: round(finiteMedian(inWindow.map((s) => s.heapUsedBytes)) / MIB, 1),
    eldP99MedianMs: round(finiteMedian(inWindow.map((s) => s.eldP99Ms)), 1),
    allowedOkP99Ms: summarize(latencies(record, range, allowedOk(record))).p99Ms,
    achievedRps: round(answered / (window[1] - window[0]), 1),
    cpuMsPerRequest: round(cpuMsPerRequest, 3),
    gcMsPerSec: round(gcMsPerSec, 1),
    openFdsMedian: finiteMedian(inWindow.map((s) => s.openFds)),
    activeResourcesMedian: finiteMedian(inWindow.map((s) => s.activeResourcesTotal)),
  };
}

const DRIFT_KEYS: readonly DriftKey[] = [
  'rssMedianMiB',
  'heapUsedMedianMiB',
  'eldP99MedianMs',
  'allowedOkP99Ms',
  'achievedRps',
  'cpuMsPerRequest',
  'gcMsPerSec',
  'openFdsMedian',
  'activeResourcesMedian',
];

function countTypes(types: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const t of types) counts[t] = (counts[t] ?? 0) + 1;
  return counts;
}

function eldOff(value: number | null | undefined, resolutionMs: number): number | null {
  return value === null || value === undefined ? null : round(Math.max(0, value - resolutionMs), 1);
}

export function soakFigures(data: SoakRunData): SoakFigures {
  const s = spans(data.durationSec, data.warmupSec);
  const measured: [number, number] = [s.warmupSec, s.durationSec];
  const { traffic, faults } = trafficFigures(data.soak, data.injected, measured, data.evidence);
  const first = windowFigures(data.soak, data.samples, s.first);
  const last = windowFigures(data.soak, data.samples, s.last);
  const lastOverFirst = Object.fromEntries(DRIFT_KEYS.map((k) => [k, round(last[k] / first[k], 3)])) as Record<
    DriftKey,
    number
  >;
  const growthPct = round(((last.rssMedianMiB - first.rssMedianMiB) / first.rssMedianMiB) * 100, 2);
  const sandboxMedian = (w: [number, number]) =>
    finiteMedian(samplesIn(data.samples, w).map((x) => x.sandboxRssBytes ?? Number.NaN));
  const sandboxFirst = sandboxMedian(s.first);
  const sandboxGrowth = Number.isFinite(sandboxFirst)
    ? round(((sandboxMedian(s.last) - sandboxFirst) / sandboxFirst) * 100, 1)
    : null;
  const afterWarmup = samplesIn(data.samples, measured);

  const { resolutionMs, measuredEld, warmupEld, sigterm, exit } = data.probe;
  const eventLoop: EventLoopFigures = {
    measured:
      measuredEld && measuredEld.count > 0
        ? {
            p50Ms: eldOff(measuredEld.p50Ms, resolutionMs)!,
            p99Ms: eldOff(measuredEld.p99Ms, resolutionMs)!,
            maxMs: eldOff(measuredEld.maxMs, resolutionMs)!,
            meanMs: eldOff(measuredEld.meanMs, resolutionMs)!,
            samples: measuredEld.count,
          }
        : null,
    warmupP99Ms: eldOff(warmupEld?.p99Ms, resolutionMs),
    worstSecondP99Ms: round(Math.max(...afterWarmup.map((x) => x.eldP99Ms).filter(Number.isFinite)), 1),
    gc: gcFigures(afterWarmup),
  };

  const handles: HandleFigures = {
    idleBefore: { ...data.idleBefore.activeResources },
    idleAfter: { ...data.idleAfter.activeResources },
    atSigterm: sigterm ? countTypes(sigterm.resources) : null,
    lingeringAtExit: exit ? exit.lingering : null,
    exitCode: exit ? exit.code : null,
    exitAfterSigtermMs: Math.round(data.exit.afterSigtermMs),
    killed: data.exit.killed,
  };

  let baseline: BaselineComparison | null = null;
  if (data.baseline) {
    const b = data.baseline.record;
    const spanSec = b.count / b.ratePerSec;
    const bMeasured: [number, number] = [data.baseline.warmupSec, spanSec];
    const bRange = dueRange(b, bMeasured[0], bMeasured[1]);
    const direct = {
      achievedRps: round(answeredIn(b, bRange) / (bMeasured[1] - bMeasured[0]), 1),
      allowedOk: summarize(latencies(b, bRange, allowedOk(b))),
      kinds: kindCounts(b),
      measuredSec: round(bMeasured[1] - bMeasured[0], 1),
    };
    baseline = {
      direct,
      ratios: {
        achievedRps: round(traffic.achievedRps / direct.achievedRps, 3),
        allowedOkP50: round(traffic.latency.allowedOk.p50Ms / direct.allowedOk.p50Ms, 2),
        allowedOkP99: round(traffic.latency.allowedOk.p99Ms / direct.allowedOk.p99Ms, 2),
      },
    };
  }

  const memory = {
    idleBeforeMiB: round(data.idleBefore.rssBytes / MIB, 1),
    firstWindowMiB: first.rssMedianMiB,
    lastWindowMiB: last.rssMedianMiB,
    idleAfterMiB: round(data.idleAfter.rssBytes / MIB, 1),
    maxMiB: round(Math.max(...data.samples.map((x) => x.rssBytes).filter(Number.isFinite)) / MIB, 1),
    growthPct,
    sandboxGrowthPct: sandboxGrowth,
  };

  return {
    spans: s,
    traffic,
    faults,
    windows: { first, last, lastOverFirst },
    memory,
    eventLoop,
    handles,
    baseline,
    verdicts: verdicts(traffic, faults, memory, eventLoop, handles, s),
    timeline: timeline(data.samples),
    perSecond: perSecond(data.soak),
  };
}

function verdicts(
  traffic: TrafficFigures,
  faults: FaultReconciliation,
  memory: SoakFigures['memory'],
  eventLoop: EventLoopFigures,
  handles: HandleFigures,
  s: Spans,
): Verdict[] {
  const lingering = handles.lingeringAtExit;
  const exitValue =
    `${handles.killed ? 'not gone, SIGKILLed after' : 'exited'} ${handles.exitAfterSigtermMs} ms after SIGTERM` +
    `${handles.exitCode === null ? ', no exit record' : `, code ${handles.exitCode}`}` +
    `${lingering === null ? '' : lingering.length === 0 ? ', nothing left open' : `, left open: ${lingering.join(', ')}`}`;
  return [
    {
      target: 'no unexpected 5xx',
      value: `${traffic.kinds['unexpected-5xx']} unexpected of ${traffic.kinds['unexpected-5xx'] + traffic.kinds['upstream-fault-5xx']} 5xx (the rest matched to a fault injected into the same request${faults.method === 'count' ? ', by totals only' : ''})`,
      pass: traffic.kinds['unexpected-5xx'] === TARGETS.unexpected5xx,
    },
    {
      target: `RSS growth after warm-up < ${TARGETS.maxRssGrowthPct} %`,
      value: `${memory.growthPct} % (median ${memory.firstWindowMiB} MiB in [${s.first.map((x) => round(x, 0)).join(', ')}) s → ${memory.lastWindowMiB} MiB in [${s.last.map((x) => round(x, 0)).join(', ')}) s)`,
      pass: Number.isFinite(memory.growthPct) ? memory.growthPct < TARGETS.maxRssGrowthPct : null,
    },
    {
      target: `event-loop delay p99 < ${TARGETS.maxEldP99Ms} ms`,
      value: eventLoop.measured
        ? `${eventLoop.measured.p99Ms} ms over the measured span (max ${eventLoop.measured.maxMs} ms; worst 1 s p99 ${eventLoop.worstSecondP99Ms} ms)`
        : 'no probe record',
      pass: eventLoop.measured ? eventLoop.measured.p99Ms < TARGETS.maxEldP99Ms : null,
    },
    {
      target: `no handle left open; exit within ${TARGETS.maxExitMs / 1000} s of SIGTERM`,
      value: exitValue,
      pass:
        !handles.killed &&
        handles.exitAfterSigtermMs <= TARGETS.maxExitMs &&
        handles.exitCode === 0 &&
        lingering !== null &&
        lingering.length === 0,
    },
  ];
}

function gcFigures(samples: readonly GatewaySample[]): EventLoopFigures['gc'] {
  const a = samples[0];
  const b = samples[samples.length - 1];
  if (!a || !b || b.atMs <= a.atMs) return { msPerSec: Number.NaN, majorCount: 0, worstSecondMajorMs: Number.NaN };
  let worst = 0;
  for (let i = 1; i < samples.length; i++)
    worst = Math.max(worst, (samples[i]!.gcMajorSeconds - samples[i - 1]!.gcMajorSeconds) * 1000);
  return {
    msPerSec: round(((b.gcSeconds - a.gcSeconds) * 1e6) / (b.atMs - a.atMs), 1),
    majorCount: b.gcMajorCount - a.gcMajorCount,
    worstSecondMajorMs: round(worst, 1),
  };
}

function timeline(samples: readonly GatewaySample[]): TimelinePoint[] {
  return samples.map((x, i) => {
    const prev = samples[i - 1];
    const cpuPercent = prev ? ((x.cpuSeconds - prev.cpuSeconds) * 1e5) / (x.atMs - prev.atMs) : Number.NaN;
    const gcMsPerSec = prev ? ((x.gcSeconds - prev.gcSeconds) * 1e6) / (x.atMs - prev.atMs) : Number.NaN;
    return {
      tSec: round(x.atMs / 1000, 1),
      rssMiB: round(x.rssBytes / MIB, 1),
      heapUsedMiB: round(x.heapUsedBytes / MIB, 1),
      eldP99Ms: round(x.eldP99Ms, 1),
      eldMaxMs: round(x.eldMaxMs, 1),
      activeResources: x.activeResourcesTotal,
      openFds: x.openFds,
      cpuPercent: round(cpuPercent, 1),
      gcMsPerSec: round(gcMsPerSec, 1),
      majorGcs: prev ? x.gcMajorCount - prev.gcMajorCount : 0,
      majorGcMs: prev ? round((x.gcMajorSeconds - prev.gcMajorSeconds) * 1000, 1) : 0,
      ...(x.sandboxRssBytes === undefined ? {} : { sandboxRssMiB: round(x.sandboxRssBytes / MIB, 1) }),
    };
  });
}

function perSecond(record: OpenLoopRecord): SecondPoint[] {
  const seconds = Math.ceil(record.count / record.ratePerSec);
  const points: SecondPoint[] = [];
  for (let t = 0; t < seconds; t++) {
    const range = dueRange(record, t, t + 1);
    const kinds: Partial<Record<ResponseKind, number>> = {};
    for (let n = range[0]; n < range[1]; n++) {
      const kind = KINDS[record.kind[n]!]!;
      kinds[kind] = (kinds[kind] ?? 0) + 1;
    }
    points.push({
      tSec: t,
      due: range[1] - range[0],
      kinds,
      allowedOkP99Ms: summarize(latencies(record, range, allowedOk(record))).p99Ms,
    });
  }
  return points;
}
