/** Both profiles and both window models, with the injected clock (frozen unless advanced). */
import { MEMBER, OWNER, T0, launch, type CallResult, type Harness } from './support/harness';

const T0_SECONDS = T0 / 1000;
let h: Harness;
afterEach(() => h.close());

const read = (key = OWNER) => h.call('GET', '/api/v1/regions', { key });
const write = (key = OWNER) => h.call('POST', '/api/v1/computes/1/start', { key });
async function burst(n: number, send: () => Promise<CallResult>): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < n; i++) statuses.push((await send()).status);
  return statuses;
}
const count = (statuses: number[], status: number) => statuses.filter((s) => s === status).length;

describe('launch profile (30 reads/s + 5 writes/s, x-ratelimit-*-second)', () => {
  beforeEach(async () => {
    h = await launch();
  });

  it('31 quick reads: exactly one 429, the last, with the headers', async () => {
    const results: CallResult[] = [];
    for (let i = 0; i < 31; i++) results.push(await read());
    expect(results.map((r) => r.status).filter((s) => s === 429)).toHaveLength(1);
    expect(results[30]!.status).toBe(429);
    expect(results[30]!.body.code).toBe('TOO_MANY_REQUESTS');
    expect(results.map((r) => r.headers.get('x-ratelimit-remaining-second'))).toEqual([
      ...Array.from({ length: 30 }, (_, i) => String(29 - i)),
      '0',
    ]);
    const limited = results[30]!.headers;
    expect({
      limit: limited.get('x-ratelimit-limit-second'),
      remaining: limited.get('x-ratelimit-remaining-second'),
      reset: limited.get('x-ratelimit-reset-second'),
      retryAfter: limited.get('retry-after'),
      plainFamily: limited.get('x-ratelimit-limit'),
    }).toEqual({ limit: '30', remaining: '0', reset: String(T0_SECONDS + 1), retryAfter: '1', plainFamily: null });
    expect(results[0]!.headers.get('retry-after')).toBeNull();
  });

  it('reads and writes are counted apart: 5 writes then a 429, reads untouched', async () => {
    const writes = await burst(6, write);
    expect(writes.slice(0, 5).every((s) => s !== 429)).toBe(true);
    expect(writes[5]).toBe(429);
    const r = await read();
    expect([r.status, r.headers.get('x-ratelimit-remaining-second')]).toEqual([200, '29']);
  });

  it('rejected requests consume nothing: the next window admits a full 30', async () => {
    await burst(30, read);
    expect(count(await burst(10, read), 429)).toBe(10);
    h.clock.advance(1000);
    expect(count(await burst(31, read), 200)).toBe(30);
  });

  it('keys are limited separately', async () => {
    await burst(30, read);
    expect((await read()).status).toBe(429);
    expect((await read(MEMBER)).status).toBe(200);
  });

  it('every response after admission carries the headers (403, 404, 409); 401, 404 routes and health do not', async () => {
    const forbidden = await write(MEMBER);
    expect([forbidden.status, forbidden.headers.get('x-ratelimit-limit-second')]).toEqual([403, '5']);
    const missing = await h.call('GET', '/api/v1/computes/42', { key: OWNER });
    expect([missing.status, missing.headers.get('x-ratelimit-remaining-second')]).toEqual([404, '29']);
    expect((await h.call('GET', '/api/v1/computes')).headers.get('x-ratelimit-limit-second')).toBeNull();
    expect((await h.call('GET', '/api/v1/nothing', { key: OWNER })).headers.get('x-ratelimit-limit-second')).toBeNull();
    expect((await h.call('GET', '/api/v1/health', { key: OWNER })).headers.get('x-ratelimit-limit-second')).toBeNull();
  });
});

describe('current profile (2 requests/s for everything, x-ratelimit-*)', () => {
  beforeEach(async () => {
    h = await launch({ profile: 'current' });
  });

  it('reads and writes share the 2/s, with the plain header family', async () => {
    const first = await read();
    const second = await write();
    const third = await read();
    expect([first.status, second.status, third.status]).toEqual([200, 404, 429]);
    expect({
      limit: third.headers.get('x-ratelimit-limit'),
      remaining: third.headers.get('x-ratelimit-remaining'),
      reset: third.headers.get('x-ratelimit-reset'),
      retryAfter: third.headers.get('retry-after'),
      secondFamily: third.headers.get('x-ratelimit-limit-second'),
    }).toEqual({ limit: '2', remaining: '0', reset: String(T0_SECONDS + 1), retryAfter: '1', secondFamily: null });
    expect(first.headers.get('x-ratelimit-remaining')).toBe('1');
  });
});

describe('fixed versus sliding windows', () => {
  /** 30 reads at 900 ms, 30 more at 1000 ms: a boundary between them for fixed windows (phase 0). */
  async function straddle(): Promise<number[]> {
    h.clock.set(T0 + 900);
    const before = await burst(30, read);
    h.clock.set(T0 + 1000);
    return [...before, ...(await burst(30, read))];
  }

  it('fixed: the boundary resets the count, so 60 pass within 100 ms (the referee sees 60 in a sliding second)', async () => {
    h = await launch({ window: 'fixed' });
    expect(count(await straddle(), 200)).toBe(60);
    const stats = (await h.stats()).keys[Object.keys((await h.stats()).keys)[0]!]!.classes.read;
    expect([stats.maxAdmittedInFixedWindow, stats.maxAdmittedInSlidingWindow]).toEqual([30, 60]);
  });

  it('sliding: the second 30 wait until the first leave, exactly 1000 ms later', async () => {
    h = await launch({ window: 'sliding' });
    const statuses = await straddle();
    expect(count(statuses, 200)).toBe(30);
    const refused = await read();
    expect([refused.headers.get('x-ratelimit-reset-second'), refused.headers.get('retry-after')]).toEqual([
      String(T0_SECONDS + 2),
      '1',
    ]);
    h.clock.set(T0 + 1899);
    expect((await read()).status).toBe(429);
    h.clock.set(T0 + 1900);
    expect(count(await burst(31, read), 200)).toBe(30);
    const stats = Object.values((await h.stats()).keys)[0]!.classes.read;
    expect(stats.maxAdmittedInSlidingWindow).toBe(30);
  });

  it('sliding: refusals do not push the window back', async () => {
    h = await launch({ window: 'sliding' });
    await burst(30, read);
    h.clock.advance(500);
    expect(count(await burst(5, read), 429)).toBe(5);
    h.clock.advance(500);
    expect(count(await burst(30, read), 200)).toBe(30);
  });

  it('fixed windows honour the phase offset', async () => {
    h = await launch({ window: 'fixed', windowPhaseMs: 500 });
    h.clock.set(T0 + 400);
    expect(count(await burst(30, read), 200)).toBe(30);
    h.clock.set(T0 + 600);
    expect(count(await burst(30, read), 200)).toBe(30);
    h.clock.set(T0 + 1499);
    const refused = await read();
    expect([refused.status, refused.headers.get('x-ratelimit-reset-second')]).toEqual([429, String(T0_SECONDS + 2)]);
  });
});

describe('overridden limits', () => {
  it('limits override the profile numbers', async () => {
    h = await launch({ limits: { readPerSecond: 3, writePerSecond: 1 } });
    expect(await burst(4, read)).toEqual([200, 200, 200, 429]);
    expect((await read()).headers.get('x-ratelimit-limit-second')).toBe('3');
    expect((await burst(2, write))[1]).toBe(429);
  });
});

describe('switching the profile at runtime (the provider changes its limits, issue #15)', () => {
  beforeEach(async () => {
    h = await launch({ profile: 'launch' });
  });

  it('in process: from the next request on, one counter of 2/s and the x-ratelimit-* family', async () => {
    expect((await read()).headers.get('x-ratelimit-limit-second')).toBe('30');
    const change = h.sandbox.referee.setProfile('current');
    expect(change).toEqual({ atMs: T0, profile: 'current', limitsPerSecond: { all: 2 } });
    const after = [await read(), await write(), await read()];
    // The write is counted (then 404: there is no compute 1), so the third request is the one over 2/s.
    expect(after.map((r) => r.status)).toEqual([200, 404, 429]);
    expect(after[0]!.headers.get('x-ratelimit-limit')).toBe('2');
    expect(after[0]!.headers.get('x-ratelimit-limit-second')).toBeNull();
    const stats = await h.stats();
    expect(stats.profile).toBe('current');
    expect(stats.limitsPerSecond).toEqual({ all: 2 });
    expect(stats.profileSwitches).toEqual([change]);
  });

  it('over HTTP: PUT /_sandbox/profile, with overrides; bad input is a 400 in the envelope; reset restores launch', async () => {
    const put = (body: unknown) =>
      fetch(`${h.sandbox.url}/_sandbox/profile`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const ok = await put({ profile: 'current', limits: { allPerSecond: 3 } });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ profile: 'current', limitsPerSecond: { all: 3 } });
    expect((await read()).headers.get('x-ratelimit-limit')).toBe('3');
    for (const [body, message] of [
      [{ profile: 'later' }, 'profile: must be one of launch, current'],
      [{ profile: 'current', limits: { readPerSecond: 3 } }, 'the current profile has no read limit'],
      [{ profile: 'current', limits: { allPerSecond: 0 } }, 'limits.allPerSecond: must be a whole number above 0'],
      [{ profile: 'current', extra: 1 }, 'extra: unknown field'],
    ] as const) {
      const refused = await put(body);
      expect(refused.status).toBe(400);
      const envelope = (await refused.json()) as { success: boolean; code: string; message: string };
      expect(envelope).toMatchObject({ success: false, code: 'VALIDATION_ERROR' });
      expect(envelope.message).toContain(message);
    }
    await fetch(`${h.sandbox.url}/_sandbox/reset`, { method: 'POST' });
    expect((await read()).headers.get('x-ratelimit-limit-second')).toBe('30');
    expect((await h.stats()).profileSwitches).toEqual([]);
  });
});
