import { phaseFigures, type PhaseInput } from '../../../bench/fleet/figures';
import { gatewayCounters } from '../../../bench/fleet/gateway-probes';
import { parseExposition } from '../../../bench/prometheus-text';
import type { LoadResult, LoadSample } from '../../../bench/fleet/load';
import type { SandboxStats } from '../../../src/sandbox';

const GATEWAY_A = `# HELP strettch_gateway_redis_commands_total Redis commands sent
# TYPE strettch_gateway_redis_commands_total counter
strettch_gateway_redis_commands_total{component="schedule",op="reserve"} 400
strettch_gateway_redis_commands_total{component="schedule",op="calibrate"} 3
strettch_gateway_redis_commands_total{component="ledger",op="reserve"} 20
strettch_gateway_redis_commands_total{component="ledger",op="commit"} 10
strettch_gateway_schedule_late_sends_total{class="read"} 2
strettch_gateway_schedule_dispatch_late_seconds_bucket{le="0.01",class="read"} 90
strettch_gateway_schedule_dispatch_late_seconds_bucket{le="0.02",class="read"} 95
strettch_gateway_schedule_dispatch_late_seconds_sum{class="read"} 0.5
strettch_gateway_schedule_dispatch_late_seconds_count{class="read"} 100
strettch_gateway_schedule_rejections_total{class="write",reason="deadline"} 7
`;
const GATEWAY_B = `strettch_gateway_redis_commands_total{component="schedule",op="reserve"} 500
strettch_gateway_redis_commands_total{component="ledger",op="reserve"} 30
strettch_gateway_schedule_late_sends_total{class="read"} 1
strettch_gateway_schedule_late_sends_total{class="write"} 4
`;
const OLD_GATEWAY = `strettch_gateway_schedule_dispatch_late_seconds_count{class="read"} 10
strettch_gateway_schedule_dispatch_late_seconds_bucket{le="0.02",class="read"} 10
`;

describe('gateway metrics', () => {
  it('parses names, labels and values (one parser for every bench: bench/prometheus-text.ts)', () => {
    expect(parseExposition('# HELP x\nx_total{a="1",b="two \\"words\\""} 3\ny 1.5e3\nz{le="+Inf"} +Inf\n')).toEqual([
      { name: 'x_total', labels: { a: '1', b: 'two "words"' }, value: 3 },
      { name: 'y', labels: {}, value: 1500 },
      { name: 'z', labels: { le: '+Inf' }, value: Infinity },
    ]);
    expect(() => parseExposition('not a sample')).toThrow('cannot read the metrics line "not a sample"');
  });

  it('adds up the commands every gateway process sent, by component and op', () => {
    const counters = gatewayCounters([GATEWAY_A, GATEWAY_B]);
    expect(counters.redisCommands).toEqual({
      total: 963,
      byComponent: { schedule: 903, ledger: 60 },
      byOp: { 'schedule:reserve': 900, 'schedule:calibrate': 3, 'ledger:reserve': 50, 'ledger:commit': 10 },
    });
    expect(counters.lateSends).toEqual({ read: 3, write: 4 });
    expect(counters).toMatchObject({
      scrapes: 2,
      missedScrapes: 0,
      dispatchCount: 100,
      dispatchLateOver20Ms: 5,
      dispatchLateMeanMs: 5,
      scheduleRejections: { 'write:deadline': 7 },
    });
  });

  it('reports the counts as unknown when no gateway exports them, and counts missed scrapes', () => {
    const counters = gatewayCounters([OLD_GATEWAY, null]);
    expect(counters.redisCommands).toBeNull();
    expect(counters.lateSends).toBeNull();
    expect(counters).toMatchObject({ scrapes: 1, missedScrapes: 1, dispatchCount: 10, dispatchLateOver20Ms: 0 });
  });
});

describe('round trips per decision', () => {
  const LABEL = 'owner-key';
  // 100 reads and 20 writes reached the upstream (2 writes answered 429); the gateways refused 30
  // reads and 8 writes themselves; 2 writes were cut at the end while queued.
  const stats = {
    keys: {
      [LABEL]: {
        classes: {
          read: { admitted: 100, rejected: 0, maxAdmittedInFixedWindow: 30, maxAdmittedInSlidingWindow: 30 },
          write: { admitted: 18, rejected: 2, maxAdmittedInFixedWindow: 5, maxAdmittedInSlidingWindow: 5 },
        },
      },
    },
    timeline: [],
    duplicateCreates: { total: 0, byKey: {} },
  } as unknown as SandboxStats;
  const refused = (kind: 'read' | 'write', n: number): LoadSample[] =>
    Array.from({ length: n }, () => ({ atMs: 5000, callerId: 'c1', kind, status: 429, forwarded: false }));
  const load: LoadResult = {
    startedAtMs: 1_000_000,
    endedAtMs: 1_010_000,
    samples: [...refused('read', 30), ...refused('write', 8)],
    cutAtEnd: 2,
    cutAtEndByKind: { read: 0, write: 2 },
  };
  const input = (roundTrips: PhaseInput['roundTrips'], commandDelta: Record<string, number> = {}): PhaseInput => ({
    stats,
    keyLabel: LABEL,
    load,
    warmupMs: 0,
    limits: { read: 30, write: 5 },
    callers: [{ id: 'c1', weight: 1, readWorkers: 1, writeWorkers: 1 }],
    commandDelta,
    roundTrips,
  });

  it('divides the gateways’ own counts: schedule per decision, ledger per create, all per decision', () => {
    const redis = phaseFigures(
      input(
        { source: 'gateway metric', counts: gatewayCounters([GATEWAY_A]).redisCommands },
        { evalsha: 433, zadd: 2000, info: 3 },
      ),
    ).redis;
    // decisions: 120 upstream + 38 refused + 2 cut = 160; creates: 20 + 8 + 2 = 30
    expect(redis).toMatchObject({
      source: 'gateway metric',
      decisions: 160,
      creates: 30,
      admitted: 120,
      roundTrips: 433,
      scheduleRoundTrips: 403,
      ledgerRoundTrips: 30,
      executed: 2433,
    });
    expect(redis.scheduleRoundTripsPerDecision).toBeCloseTo(403 / 160);
    expect(redis.ledgerRoundTripsPerCreate).toBeCloseTo(1);
    expect(redis.roundTripsPerDecision).toBeCloseTo(433 / 160);
    expect(redis.roundTripsPerAdmitted).toBeCloseTo(433 / 120);
  });

  it('is unknown, not zero, when the gateways do not export their counts', () => {
    const redis = phaseFigures(input({ source: 'gateway metric', counts: null })).redis;
    expect(redis).toMatchObject({
      roundTrips: null,
      scheduleRoundTrips: null,
      ledgerRoundTrips: null,
      scheduleRoundTripsPerDecision: null,
      ledgerRoundTripsPerCreate: null,
      roundTripsPerDecision: null,
    });
  });

  it('counts the baseline from INFO commandstats, less the commands its script runs inside Redis', () => {
    const redis = phaseFigures(
      input(
        { source: 'INFO commandstats', scriptCommands: new Set(['incrby', 'pttl']) },
        { evalsha: 160, incrby: 160, pttl: 160, info: 5 },
      ),
    ).redis;
    expect(redis).toMatchObject({
      source: 'INFO commandstats',
      roundTrips: 160,
      scheduleRoundTrips: 160,
      ledgerRoundTrips: null,
      sentByOp: { evalsha: 160 },
      executed: 480,
    });
    expect(redis.scheduleRoundTripsPerDecision).toBe(1);
    expect(redis.ledgerRoundTripsPerCreate).toBeNull();
  });
});
