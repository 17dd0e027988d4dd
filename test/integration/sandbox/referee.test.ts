import { createHash } from 'node:crypto';
import {
  ADMIN,
  MEMBER,
  OWNER,
  T0,
  VALID_CREATE,
  createCompute,
  idempotencyKey,
  launch,
  type Harness,
} from './support/harness';
import { pause, stallLoop } from '../../helpers/stall-loop';

const label = (key: string, team: string, role: string) =>
  `${team}:${role}:${createHash('sha256').update(key).digest('hex').slice(0, 8)}`;
const OWNER_LABEL = label(OWNER, 'team-a', 'owner');

let h: Harness;
beforeEach(async () => {
  h = await launch();
});
afterEach(() => h.close());

const read = (key = OWNER) => h.call('GET', '/api/v1/regions', { key });

describe('GET /_sandbox/stats', () => {
  it('counts per key and class: admitted, 429s and the most admitted in one second (fixed and sliding)', async () => {
    h.clock.set(T0 + 800);
    for (let i = 0; i < 20; i++) await read();
    h.clock.set(T0 + 1100);
    for (let i = 0; i < 32; i++) await read();
    await h.call('POST', '/api/v1/computes/1/stop', { key: OWNER });
    const stats = await h.stats();
    expect(Object.keys(stats.keys)).toEqual([OWNER_LABEL]);
    expect(stats.keys[OWNER_LABEL]!.classes).toEqual({
      read: { admitted: 50, rejected: 2, maxAdmittedInFixedWindow: 30, maxAdmittedInSlidingWindow: 50 },
      write: { admitted: 1, rejected: 0, maxAdmittedInFixedWindow: 1, maxAdmittedInSlidingWindow: 1 },
      all: { admitted: 51, rejected: 2, maxAdmittedInFixedWindow: 31, maxAdmittedInSlidingWindow: 51 },
    });
    expect(stats).toMatchObject({
      profile: 'launch',
      window: 'fixed',
      windowPhaseMs: 0,
      limitsPerSecond: { read: 30, write: 5 },
    });
  });

  it('?phaseMs= recomputes the fixed-window maxima for another phase', async () => {
    h.clock.set(T0 + 800);
    for (let i = 0; i < 20; i++) await read();
    h.clock.set(T0 + 1100);
    for (let i = 0; i < 20; i++) await read();
    expect((await h.stats()).keys[OWNER_LABEL]!.classes.read.maxAdmittedInFixedWindow).toBe(20);
    const shifted = await h.stats('?phaseMs=500');
    expect([shifted.windowPhaseMs, shifted.keys[OWNER_LABEL]!.classes.read.maxAdmittedInFixedWindow]).toEqual([
      500, 40,
    ]);
    expect((await fetch(`${h.sandbox.url}/_sandbox/stats?phaseMs=1000`)).status).toBe(400);
  });

  it('?decisionsSinceMs= lists every rate decision from then on, admitted and 429', async () => {
    h.clock.set(T0);
    await read();
    h.clock.set(T0 + 500);
    for (let i = 0; i < 31; i++) await read();
    const stats = await h.stats(`?decisionsSinceMs=${T0 + 500}`);
    expect(stats.decisions).toHaveLength(31);
    expect(stats.decisions!.filter((d) => !d.admitted)).toEqual([
      { atMs: T0 + 500, key: OWNER_LABEL, class: 'read', admitted: false },
      { atMs: T0 + 500, key: OWNER_LABEL, class: 'read', admitted: false },
    ]);
    expect((await h.stats()).decisions).toBeUndefined();
    expect((await fetch(`${h.sandbox.url}/_sandbox/stats?decisionsSinceMs=-1`)).status).toBe(400);
  });

  it('keeps a per-second timeline per key and class', async () => {
    await read();
    await read(ADMIN);
    h.clock.advance(1000);
    await read();
    await h.call('POST', '/api/v1/computes/9/start', { key: OWNER });
    const second = T0 / 1000;
    expect((await h.stats()).timeline).toEqual([
      { second, key: label(ADMIN, 'team-a', 'admin'), class: 'read', admitted: 1, rejected: 0 },
      { second, key: OWNER_LABEL, class: 'read', admitted: 1, rejected: 0 },
      { second: second + 1, key: OWNER_LABEL, class: 'read', admitted: 1, rejected: 0 },
      { second: second + 1, key: OWNER_LABEL, class: 'write', admitted: 1, rejected: 0 },
    ]);
  });

  it('counts creates performed and duplicate creates (0: replays perform nothing)', async () => {
    const key = idempotencyKey();
    for (let i = 0; i < 3; i++)
      await h.call('POST', '/api/v1/computes', { key: OWNER, json: VALID_CREATE, headers: { 'idempotency-key': key } });
    await createCompute(h);
    const stats = await h.stats();
    expect(stats.keys[OWNER_LABEL]!.createsPerformed).toBe(2);
    expect(stats.duplicateCreates).toEqual({ total: 0, byKey: {} });
  });

  it('records the last request, overall and per key, with credentials described and never the raw key', async () => {
    await h.call('GET', '/api/v1/computes?page=1&api_key=sandbox-owner-key', {
      key: OWNER,
      headers: { 'x-forwarded-for': '10.1.2.3', 'x-api-key': `${OWNER}`, 'idempotency-key': 'abc' },
    });
    await h.call('GET', '/api/v1/regions', { headers: { authorization: 'Bearer some.jwt.token' } });
    await h.call('GET', '/api/v1/regions', { key: MEMBER });
    const stats = await h.stats();
    const text = JSON.stringify(stats);
    for (const raw of [OWNER, MEMBER]) expect(text).not.toContain(raw);

    const owner = stats.keys[OWNER_LABEL]!.lastRequest!;
    expect(owner).toMatchObject({
      method: 'GET',
      target: `/api/v1/computes?page=1&api_key=key(${OWNER_LABEL})`,
      key: OWNER_LABEL,
      headers: {
        authorization: `Bearer key(${OWNER_LABEL})`,
        'x-forwarded-for': '10.1.2.3',
        'x-api-key': `key(${OWNER_LABEL})`,
        'idempotency-key': 'abc',
      },
    });
    expect(owner.rawHeaders).toContainEqual(['authorization', `Bearer key(${OWNER_LABEL})`]);

    expect(stats.lastRequest).toMatchObject({ key: label(MEMBER, 'team-a', 'member'), target: '/api/v1/regions' });
    expect(stats.unauthenticated).toBe(1);
  });

  it('describes an unknown credential by the first 8 hex of its sha256', async () => {
    await h.call('GET', '/api/v1/regions', { headers: { authorization: 'Bearer some.jwt.token' } });
    const hash = createHash('sha256').update('some.jwt.token').digest('hex').slice(0, 8);
    const stats = await h.stats();
    expect(stats.lastRequest).toMatchObject({ key: null, headers: { authorization: `unrecognised(sha256=${hash})` } });
    expect(stats.keys).toEqual({});
  });
});

describe("the sandbox's own event-loop delay (loopDelay)", () => {
  it('reports how late its loop ran, and a reset starts it again', async () => {
    // The sandbox runs in this process: a stall here is its stall.
    await stallLoop(300);
    const stalled = (await h.stats()).loopDelay!;
    expect(stalled.maxMs).toBeGreaterThanOrEqual(250);
    expect(stalled.p99Ms).toBeLessThanOrEqual(stalled.maxMs);

    await fetch(`${h.sandbox.url}/_sandbox/reset`, { method: 'POST' });
    await pause(60);
    // Well below the stall even on a busy machine: the reset dropped it.
    expect((await h.stats()).loopDelay!.maxMs).toBeLessThan(250);
  });
});

describe('POST /_sandbox/reset', () => {
  it('clears computes (ids restart at 1), idempotency, rate windows, stats and faults; keeps configuration', async () => {
    const key = idempotencyKey();
    await h.call('POST', '/api/v1/computes', { key: OWNER, json: VALID_CREATE, headers: { 'idempotency-key': key } });
    for (let i = 0; i < 30; i++) await read();
    expect((await read()).status).toBe(429);
    await fetch(`${h.sandbox.url}/_sandbox/faults`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: '{"latencyMs":5}',
    });

    const reset = await fetch(`${h.sandbox.url}/_sandbox/reset`, { method: 'POST' });
    expect(await reset.json()).toEqual({ reset: true, at: new Date(T0).toISOString().replace('.000', '') });

    const stats = await h.stats();
    expect([stats.keys, stats.timeline, stats.lastRequest, stats.unauthenticated]).toEqual([{}, [], null, 0]);
    expect(
      ((await fetch(`${h.sandbox.url}/_sandbox/faults`).then((r) => r.json())) as { latencyMs: number }).latencyMs,
    ).toBe(0);
    expect((await read()).status).toBe(200); // same second, fresh window
    expect((await h.call('GET', '/api/v1/computes', { key: OWNER })).body.meta.total).toBe(0);
    const again = await h.call('POST', '/api/v1/computes', {
      key: OWNER,
      json: VALID_CREATE,
      headers: { 'idempotency-key': key },
    });
    expect([again.body.data.id, again.headers.get('idempotent-replayed')]).toEqual(['1', null]);
    expect((await h.stats()).limitsPerSecond).toEqual({ read: 30, write: 5 });
  });
});

describe('referee routes', () => {
  it('unknown referee path → 404, wrong method → 405, both as error envelopes', async () => {
    const missing = await fetch(`${h.sandbox.url}/_sandbox/nope`);
    expect([missing.status, ((await missing.json()) as { code: string }).code]).toEqual([404, 'NOT_FOUND']);
    const wrong = await fetch(`${h.sandbox.url}/_sandbox/reset`);
    expect([wrong.status, wrong.headers.get('allow')]).toEqual([405, 'POST']);
  });

  it('the referee is not rate limited and not recorded', async () => {
    for (let i = 0; i < 40; i++) expect((await fetch(`${h.sandbox.url}/_sandbox/stats`)).status).toBe(200);
    expect((await h.stats()).lastRequest).toBeNull();
  });
});
