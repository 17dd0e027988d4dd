import { parsePolicy, type Policy } from '../../../../src/gateway/policy';
import {
  createStatusRecorder,
  policyVersion,
  statusDocument,
  type StatusInputs,
} from '../../../../src/gateway/observability/status';
import { reasonName } from '../../../../src/gateway/observability/status/status-recorder';
import { withoutCredentials } from '../../../../src/gateway/observability/status/status-document';
import type { ScheduleQueueView } from '../../../../src/schedule';

const T0 = 1_800_000_000_000;
const HS_SECRET = 'hs-secret-0123456789abcdef0123456789abcdef';
const API_KEY = 'sk-prod-key-7f3a9c';

function policy(extraCaller = ''): Policy {
  const text = `
accounts:
  prod: { apiKey: { env: KEY } }
  batch: { apiKey: { env: KEY } }
limits:
  prod: { read: 30, write: 5, safety: 0.9 }
  batch: { all: 2 }
auth:
  issuer: https://auth.internal
  audience: strettch-gateway
  keys: [{ kid: hs, algorithms: [HS256], secret: { env: HS } }]
callers:
  billing: { account: prod, scopes: [computes:read], weight: 3 }
  reports: { account: prod, scopes: [computes:read] }
  nightly: { account: batch, scopes: [computes:read] }${extraCaller}
`;
  const result = parsePolicy(text, '/p/gateway.yaml', {
    readEnv: (name) => ({ KEY: API_KEY, HS: HS_SECRET })[name],
    readFile: () => {
      throw new Error('no files');
    },
  });
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.policy;
}

function view(overrides: Partial<ScheduleQueueView>): ScheduleQueueView {
  return {
    accountId: 'prod',
    scheduleClass: 'read',
    ratePerSecond: 27,
    safety: 0.9,
    sentTotal: 0,
    sendsPerSecond: [],
    sentLast10s: 0,
    waiting: 0,
    upstreamRefusals: 0,
    ...overrides,
  };
}

function inputs(overrides: Partial<StatusInputs> = {}): StatusInputs {
  return {
    nowMs: T0,
    policy: policy(),
    scheduleState: { mode: 'shared', sinceMs: T0 - 60_000 },
    queues: [],
    callers: new Map(),
    ...overrides,
  };
}

describe('statusDocument: schedules', () => {
  it('lists every account and class of the policy, zeros before first use', () => {
    const doc = statusDocument(inputs());
    expect(doc.schedules.map((s) => [s.account, s.class, s.limitPerSecond, s.safety, s.ratePerSecond])).toEqual([
      ['prod', 'read', 30, 0.9, 27],
      ['prod', 'write', 5, 0.9, 4.5],
      ['batch', 'all', 2, 0.95, 1.9],
    ]);
    expect(doc.schedules[0]).toMatchObject({
      sentTotal: 0,
      waiting: 0,
      oldestWaitMs: null,
      state: 'running',
      fleetSlotsLastSecond: null,
      upstream429: 0,
      last429AtMs: null,
    });
    expect(doc.schedules[0]!.sendsPerSecond).toEqual(new Array(60).fill(0));
  });

  it("carries the schedule's view: sends, the chart's last 60 seconds, waits, 429s", () => {
    const perSecond = Array.from({ length: 60 }, (_, i) => i % 30);
    const doc = statusDocument(
      inputs({
        queues: [
          view({
            sentTotal: 900,
            sentLast10s: 250,
            sendsPerSecond: [99, ...perSecond],
            waiting: 3,
            oldestWaitMs: 420,
            upstreamRefusals: 2,
            lastRefusalAtMs: T0 - 5000,
          }),
        ],
        fleet: [{ accountId: 'prod', scheduleClass: 'read', slotsLastSecond: 26 }],
      }),
    );
    expect(doc.schedules[0]).toMatchObject({
      sentTotal: 900,
      sentLast10s: 250,
      sendsPerSecond: perSecond,
      waiting: 3,
      oldestWaitMs: 420,
      upstream429: 2,
      last429AtMs: T0 - 5000,
      fleetSlotsLastSecond: 26,
    });
    // A schedule the fleet read has no entry for has taken no slot in the last second.
    expect(doc.schedules[1]!.fleetSlotsLastSecond).toBe(0);
  });

  it('names the state: paused until, fallback since, connecting', () => {
    const paused = statusDocument(inputs({ queues: [view({ pausedUntilMs: T0 + 1500 })] }));
    expect(paused.schedules[0]).toMatchObject({ state: 'paused', pausedUntilMs: T0 + 1500, stateSinceMs: null });
    expect(paused.schedules[1]!.state).toBe('running');
    const over = statusDocument(inputs({ queues: [view({ pausedUntilMs: T0 - 1 })] }));
    expect(over.schedules[0]).toMatchObject({ state: 'running', pausedUntilMs: null });

    const fallback = statusDocument(
      inputs({ scheduleState: { mode: 'fallback', sinceMs: T0 - 7000, reason: 'timeout: command timed out' } }),
    );
    expect(fallback.schedules.map((s) => [s.state, s.stateSinceMs])).toEqual([
      ['fallback', T0 - 7000],
      ['fallback', T0 - 7000],
      ['fallback', T0 - 7000],
    ]);
    expect(fallback.replica).toEqual({
      scheduleMode: 'fallback',
      scheduleModeSinceMs: T0 - 7000,
      scheduleReason: 'timeout: command timed out',
    });
    const connecting = statusDocument(
      inputs({ scheduleState: { mode: 'shared', sinceMs: T0 - 100, reason: 'connecting' } }),
    );
    expect(connecting.schedules[0]!.state).toBe('connecting');
  });

  it('cuts credentials out of a store failure it quotes', () => {
    expect(withoutCredentials('connection lost to rediss://user:s3cret@redis.internal:6380')).toBe(
      'connection lost to rediss://***@redis.internal:6380',
    );
    expect(withoutCredentials('redis://:pw@h:1 and redis://h:2')).toBe('redis://***@h:1 and redis://h:2');
    const doc = statusDocument(
      inputs({ scheduleState: { mode: 'fallback', sinceMs: T0, reason: 'down: redis://:hunter2@10.0.0.5:6379' } }),
    );
    expect(JSON.stringify(doc)).not.toContain('hunter2');
  });
});

describe('statusDocument: callers', () => {
  const NOW = T0 + 120_500;

  function recorded() {
    let now = T0;
    const recorder = createStatusRecorder(() => now);
    const at = (ms: number, record: Parameters<typeof recorder.recordRequest>[0]) => {
      now = ms;
      recorder.recordRequest(record);
    };
    // Two minutes ago: outside the last minute, inside the totals.
    at(T0, { requestId: 'a', method: 'GET', caller: 'billing', upstreamStatus: 200 });
    for (let i = 0; i < 6; i += 1)
      at(NOW - 30_000, { requestId: `b${i}`, method: 'GET', caller: 'billing', upstreamStatus: 200 });
    for (let i = 0; i < 2; i += 1)
      at(NOW - 10_000, { requestId: `r${i}`, method: 'GET', caller: 'reports', upstreamStatus: 200 });
    at(NOW - 9000, { requestId: 'q', method: 'GET', caller: 'reports', reason: 'schedule-deadline' });
    at(NOW - 8000, { requestId: 'x', method: 'GET', reason: 'auth-malformed: jwt audience invalid. expected: x' });
    at(NOW - 7000, { requestId: 'y', method: 'GET', reason: 'route-not-found' });
    return recorder;
  }

  it('gives requests and forwarded of the last minute, totals, and shares against weights', () => {
    const recorder = recorded();
    const doc = statusDocument(inputs({ nowMs: NOW, callers: recorder.callers() }));
    const rows = Object.fromEntries(doc.callers.map((c) => [c.caller, c]));
    expect(rows.billing).toMatchObject({
      account: 'prod',
      weight: 3,
      requestsTotal: 7,
      requestsLastMinute: 6,
      forwardedLastMinute: 6,
      shareLastMinute: 0.75,
      weightShare: 0.75,
      denials: {},
    });
    expect(rows.reports).toMatchObject({
      requestsTotal: 3,
      requestsLastMinute: 3,
      forwardedLastMinute: 2,
      shareLastMinute: 0.25,
      weightShare: 0.25,
      denials: { 'schedule-deadline': 1 },
    });
    // Its account forwarded nothing in the last minute: no share to speak of.
    expect(rows.nightly).toMatchObject({ requestsTotal: 0, shareLastMinute: null, weightShare: null });
    expect(rows.anonymous).toEqual({
      caller: 'anonymous',
      account: null,
      weight: null,
      requestsTotal: 2,
      requestsLastMinute: 2,
      forwardedLastMinute: 0,
      shareLastMinute: null,
      weightShare: null,
      denials: { 'auth-malformed': 1, 'route-not-found': 1 },
    });
    expect(doc.callers.map((c) => c.caller)).toEqual(['billing', 'reports', 'nightly', 'anonymous']);
  });

  it("keeps a reason's name and drops its detail, which may quote the request", () => {
    expect(reasonName('auth-malformed: jwt audience invalid. expected: x')).toBe('auth-malformed');
    expect(reasonName('missing-scope')).toBe('missing-scope');
    expect(JSON.stringify(statusDocument(inputs({ callers: recorded().callers() })))).not.toContain('expected');
  });
});

describe('statusDocument: policy', () => {
  it('shows the version and load time, then the last reload, refused or applied', () => {
    let now = T0;
    const recorder = createStatusRecorder(() => now);
    recorder.policyLoaded(policy());
    const first = statusDocument(inputs({ policyLoad: recorder.policyLoad() }));
    expect(first.policy).toEqual({ version: policyVersion(policy()), loadedAtMs: T0, lastReload: null });

    now = T0 + 5000;
    recorder.reloaded({
      ok: false,
      errors: [
        { path: 'callers.x', message: 'bad' },
        { path: 'y', message: 'z' },
      ],
    });
    const refused = statusDocument(inputs({ policyLoad: recorder.policyLoad(), lastReload: recorder.lastReload() }));
    expect(refused.policy).toEqual({
      version: policyVersion(policy()),
      loadedAtMs: T0,
      lastReload: { atMs: T0 + 5000, outcome: 'refused', problems: 2 },
    });
  });

  it('names a policy by a stable hash that changes with it and holds no secret', () => {
    const version = policyVersion(policy());
    expect(version).toMatch(/^[0-9a-f]{12}$/);
    expect(policyVersion(policy())).toBe(version);
    expect(policyVersion(policy('\n  extra: { account: prod, scopes: [computes:read] }'))).not.toBe(version);
    const doc = JSON.stringify(statusDocument(inputs({ policyLoad: { version, loadedAtMs: T0 } })));
    expect(doc).not.toContain(HS_SECRET);
    expect(doc).not.toContain(API_KEY);
  });
});
