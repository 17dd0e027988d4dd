import { ADMIN, OTHER_TEAM, OWNER, VALID_CREATE, idempotencyKey, launch, type Harness } from './support/harness';

let h: Harness;
beforeEach(async () => {
  h = await launch({ limits: { readPerSecond: 10_000, writePerSecond: 10_000 }, createDelayMs: 1000 });
});
afterEach(() => h.close());

const create = (key: string, body: unknown, apiKey = OWNER, raw?: string) =>
  h.call('POST', '/api/v1/computes', {
    key: apiKey,
    ...(raw === undefined ? { json: body } : { rawBody: raw, headers: { 'content-type': 'application/json' } }),
    headers: { 'idempotency-key': key, ...(raw === undefined ? {} : { 'content-type': 'application/json' }) },
  });
const total = async (apiKey = OWNER) =>
  (await h.call('GET', '/api/v1/computes', { key: apiKey })).body.meta.total as number;

describe('idempotent create', () => {
  it('a retry with the same key and body replays the original response with 202 and creates nothing', async () => {
    const key = idempotencyKey();
    const first = await create(key, VALID_CREATE);
    h.clock.advance(5000); // the compute is RUNNING by now; the replay still shows the original
    const again = await create(key, VALID_CREATE);
    expect(again.status).toBe(202);
    expect(again.text).toBe(first.text);
    expect(again.body.data.state).toBe('CREATING');
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(await total()).toBe(1);
    const stats = await h.stats();
    expect(Object.values(stats.keys).map((k) => k.createsPerformed)).toEqual([1]);
    expect(stats.duplicateCreates).toEqual({ total: 0, byKey: {} });
  });

  it('the same body re-serialised (other key order, whitespace) is the same request', async () => {
    const key = idempotencyKey();
    await create(key, VALID_CREATE);
    const reordered = JSON.stringify(Object.fromEntries(Object.entries(VALID_CREATE).reverse()), null, 2);
    const again = await create(key, undefined, OWNER, reordered);
    expect(again.status).toBe(202);
    expect(await total()).toBe(1);
  });

  it('UUIDs compare case-insensitively', async () => {
    const key = idempotencyKey();
    await create(key, VALID_CREATE);
    expect((await create(key.toUpperCase(), VALID_CREATE)).headers.get('idempotent-replayed')).toBe('true');
    expect(await total()).toBe(1);
  });

  it('the same key with a different body is 422 UNPROCESSABLE_ENTITY and creates nothing', async () => {
    const key = idempotencyKey();
    await create(key, VALID_CREATE);
    const r = await create(key, { ...VALID_CREATE, hostName: 'web-02' });
    expect([r.status, r.body.code]).toEqual([422, 'UNPROCESSABLE_ENTITY']);
    expect(await total()).toBe(1);
  });

  it('keys are scoped per API key: another key (same team) with the same idempotency key creates its own', async () => {
    const key = idempotencyKey();
    const mine = await create(key, VALID_CREATE, OWNER);
    const theirs = await create(key, VALID_CREATE, ADMIN);
    expect(theirs.headers.get('idempotent-replayed')).toBeNull();
    expect(theirs.body.data.id).not.toBe(mine.body.data.id);
    expect(await total()).toBe(2);
    expect((await create(key, VALID_CREATE, OTHER_TEAM)).body.data.id).toBe('3');
    expect((await h.stats()).duplicateCreates.total).toBe(0);
  });

  it('a refused create leaves no record: the corrected body may reuse the key', async () => {
    const key = idempotencyKey();
    expect((await create(key, { ...VALID_CREATE, image: 'NOPE' })).body.code).toBe('VALIDATION_ERROR');
    const fixed = await create(key, VALID_CREATE);
    expect([fixed.status, fixed.headers.get('idempotent-replayed')]).toEqual([202, null]);
    expect(await total()).toBe(1);
  });

  it('a replay is still a request: it takes a write slot', async () => {
    const limited = await launch({ limits: { writePerSecond: 2 } });
    try {
      const key = idempotencyKey();
      const send = () =>
        limited.call('POST', '/api/v1/computes', {
          key: OWNER,
          json: VALID_CREATE,
          headers: { 'idempotency-key': key },
        });
      expect([(await send()).status, (await send()).status, (await send()).status]).toEqual([202, 202, 429]);
    } finally {
      await limited.close();
    }
  });
});
