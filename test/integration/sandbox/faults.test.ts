import { seededRandom } from '../../../src/sandbox';
import { OWNER, VALID_CREATE, idempotencyKey, launch, type Harness } from './support/harness';

const FAST = { limits: { readPerSecond: 10_000, writePerSecond: 10_000 } };
let h: Harness;
afterEach(() => h?.close());

const putFaults = (body: unknown) =>
  fetch(`${h.sandbox.url}/_sandbox/faults`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

describe('fault injection', () => {
  it('errorRate 1: every admitted request is 500 INTERNAL_SERVER_ERROR and nothing is performed', async () => {
    h = await launch({ ...FAST, faults: { errorRate: 1 } });
    const r = await h.call('POST', '/api/v1/computes', {
      key: OWNER,
      json: VALID_CREATE,
      headers: { 'idempotency-key': idempotencyKey() },
    });
    expect([r.status, r.body.code]).toEqual([500, 'INTERNAL_SERVER_ERROR']);
    expect(r.headers.get('x-ratelimit-limit-second')).toBe('10000');
    await putFaults({ errorRate: 0 });
    expect((await h.call('GET', '/api/v1/computes', { key: OWNER })).body.meta.total).toBe(0);
    expect((await h.stats()).faultsInjected.error).toBe(1);
  });

  it('faults never hit requests refused before admission (401)', async () => {
    h = await launch({ ...FAST, faults: { errorRate: 1 } });
    expect((await h.call('GET', '/api/v1/regions')).status).toBe(401);
  });

  it('dropRate 1: the create IS performed, the connection is cut; a retry with the same key replays', async () => {
    h = await launch({ ...FAST, faults: { dropRate: 1 } });
    const key = idempotencyKey();
    await expect(
      fetch(`${h.sandbox.apiBaseUrl}/computes`, {
        method: 'POST',
        headers: { authorization: `Bearer ${OWNER}`, 'content-type': 'application/json', 'idempotency-key': key },
        body: JSON.stringify(VALID_CREATE),
      }),
    ).rejects.toThrow();
    await putFaults({ dropRate: 0 });
    const retry = await h.call('POST', '/api/v1/computes', {
      key: OWNER,
      json: VALID_CREATE,
      headers: { 'idempotency-key': key },
    });
    expect([retry.status, retry.headers.get('idempotent-replayed')]).toEqual([202, 'true']);
    const stats = await h.stats();
    expect([stats.faultsInjected.drop, stats.duplicateCreates.total]).toEqual([1, 0]);
    expect((await h.call('GET', '/api/v1/computes', { key: OWNER })).body.meta.total).toBe(1);
  });

  it('latency and slow responses delay the answer', async () => {
    h = await launch({ ...FAST, latencyMs: 40, faults: { slowRate: 1, slowMs: 60 } });
    const started = performance.now();
    expect((await h.call('GET', '/api/v1/regions', { key: OWNER })).status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(95);
    await putFaults({ slowRate: 0, latencyMs: 0 });
    const quick = performance.now();
    await h.call('GET', '/api/v1/regions', { key: OWNER });
    expect(performance.now() - quick).toBeLessThan(90);
  });

  it('close() cancels responses still waiting', async () => {
    h = await launch({ ...FAST, latencyMs: 10_000 });
    const pending = fetch(`${h.sandbox.apiBaseUrl}/health`).catch((error: unknown) => error);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await h.close();
    // fetch rejects (TypeError: fetch failed) instead of waiting ten seconds for an answer.
    expect((await pending) as { name?: string }).toMatchObject({ name: 'TypeError' });
  });

  it('a seeded random source replays the same faults', async () => {
    const run = async (seed: number): Promise<number[]> => {
      h = await launch({ ...FAST, faults: { errorRate: 0.5 }, random: seededRandom(seed) });
      const statuses: number[] = [];
      for (let i = 0; i < 20; i++) statuses.push((await h.call('GET', '/api/v1/regions', { key: OWNER })).status);
      await h.close();
      return statuses;
    };
    const first = await run(42);
    expect(await run(42)).toEqual(first);
    expect(first).toContain(500);
    expect(first).toContain(200);
    expect(await run(7)).not.toEqual(first);
  });
});

describe('PUT /_sandbox/faults', () => {
  beforeEach(async () => {
    h = await launch(FAST);
  });

  it('updates part of the settings and answers all of them; GET reads them', async () => {
    const r = await putFaults({ errorRate: 0.25, latencyMs: 5 });
    expect(await r.json()).toEqual({ errorRate: 0.25, dropRate: 0, slowRate: 0, slowMs: 0, latencyMs: 5, jitterMs: 0 });
    expect(await (await fetch(`${h.sandbox.url}/_sandbox/faults`)).json()).toMatchObject({ errorRate: 0.25 });
  });

  it.each([
    [{ errorRate: 2 }, 'VALIDATION_ERROR'],
    [{ dropRate: -0.1 }, 'VALIDATION_ERROR'],
    [{ slowMs: 1.5 }, 'VALIDATION_ERROR'],
    [{ chaos: true }, 'VALIDATION_ERROR'],
  ])('refuses %j with 400 %s and changes nothing', async (body, code) => {
    const r = await putFaults(body);
    expect([r.status, ((await r.json()) as { code: string }).code]).toEqual([400, code]);
    expect(await (await fetch(`${h.sandbox.url}/_sandbox/faults`)).json()).toMatchObject({ errorRate: 0, dropRate: 0 });
  });

  it('refuses unparseable JSON and a wrong content type', async () => {
    const bad = await fetch(`${h.sandbox.url}/_sandbox/faults`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: '{',
    });
    expect(((await bad.json()) as { code: string }).code).toBe('MALFORMED_JSON');
    const text = await fetch(`${h.sandbox.url}/_sandbox/faults`, {
      method: 'PUT',
      headers: { 'content-type': 'text/plain' },
      body: '{}',
    });
    expect(((await text.json()) as { code: string }).code).toBe('BAD_REQUEST');
  });
});
