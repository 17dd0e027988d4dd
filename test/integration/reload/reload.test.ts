/**
 * `reload()` itself: an invalid configuration is refused with every problem logged (with its path)
 * and the running one kept; settings that need a restart are named in a warning; the schedule
 * follows the new limits; metrics count reloads and stamp the loaded configuration.
 */
import childProcess from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { CHILD_PARSE_FROM_CHARS } from '../../../src/gateway/policy/parse-policy';
import { sample, startReloadHarness, type ReloadHarness } from './reload-harness';

describe('an invalid configuration is refused, the running one kept', () => {
  let h: ReloadHarness;
  let token: string;
  beforeAll(async () => {
    const started = await startReloadHarness({ kid: 'k1' });
    h = started;
    token = h.mint(started.firstKey);
  });
  afterAll(() => h.close());

  it('a caller of an unknown account and a missing key file: both problems, each with its path', async () => {
    h.writePolicy({ kids: ['k1', 'k-missing'], brokenCaller: true });
    const result = await h.gateway.reload();
    expect(result.ok).toBe(false);
    const errors = result.ok ? [] : result.errors;
    expect(errors.map((e) => e.path).sort()).toEqual(['auth.keys[1].publicKeyFile', 'callers.stray.account'].sort());

    const logged = h.logged('config reload: ');
    expect(logged.map((line) => line.path).sort()).toEqual(
      ['auth.keys[1].publicKeyFile', 'callers.stray.account'].sort(),
    );
    for (const line of logged) {
      expect(line.level).toBe(50);
      expect(String(line.msg)).toContain(`${h.policyPath}:`);
    }
    expect(h.logged('config reload refused')).toHaveLength(1);
  });

  it('the running configuration still serves', async () => {
    expect(h.gateway.policy().auth.keys.map((k) => k.kid)).toEqual(['k1']);
    expect((await h.request('GET', '/api/v1/regions', token)).status).toBe(200);
  });

  it('a YAML syntax error and an unreadable policy file are refused too', async () => {
    fs.writeFileSync(h.policyPath, 'listen: [unclosed\n');
    expect(await h.gateway.reload()).toMatchObject({
      ok: false,
      errors: [expect.objectContaining({ message: expect.stringContaining('YAML') })],
    });
    fs.rmSync(h.policyPath);
    expect(await h.gateway.reload()).toMatchObject({
      ok: false,
      errors: [{ path: '(file)', message: expect.stringContaining('ENOENT') }],
    });
    expect((await h.request('GET', '/api/v1/regions', token)).status).toBe(200);
  });

  it('a private key where the public one belongs is refused, and never echoed', async () => {
    h.writePolicy({ kids: ['k1'] });
    const keyFile = path.join(h.dir, 'keys', 'k1.pub.pem');
    const publicPem = fs.readFileSync(keyFile, 'utf8');
    const privatePem = h.writeJwtKey('scratch').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    fs.writeFileSync(keyFile, privatePem);
    try {
      expect(await h.gateway.reload()).toMatchObject({
        ok: false,
        errors: [{ path: 'auth.keys[0].publicKeyFile', message: expect.stringContaining('PRIVATE') }],
      });
      expect(h.logLines.join('\n')).not.toContain(privatePem.split('\n')[1]);
    } finally {
      fs.writeFileSync(keyFile, publicPem);
    }
  });

  it('metrics: errors counted, the loaded timestamp unchanged; then a good reload moves it', async () => {
    let metrics = await h.metricsText();
    expect(sample(metrics, 'strettch_gateway_config_reloads_total{result="error"}')).toBe(4);
    expect(sample(metrics, 'strettch_gateway_config_reloads_total{result="ok"}')).toBe(0);
    const loadedAtSec = sample(metrics, 'strettch_gateway_config_loaded_timestamp_seconds')!;
    expect(Math.abs(loadedAtSec - Date.now() / 1000)).toBeLessThan(30);

    await new Promise((resolve) => setTimeout(resolve, 5));
    await expect(h.gateway.reload()).resolves.toEqual({ ok: true });
    metrics = await h.metricsText();
    expect(sample(metrics, 'strettch_gateway_config_reloads_total{result="ok"}')).toBe(1);
    expect(sample(metrics, 'strettch_gateway_config_loaded_timestamp_seconds')!).toBeGreaterThan(loadedAtSec);
  });
});

describe('settings that need a restart', () => {
  let h: ReloadHarness;
  beforeAll(async () => {
    h = await startReloadHarness({ kid: 'k1' });
  });
  afterAll(() => h.close());

  it('a changed listen port is named in a warning; the rest applies, the listener stays', async () => {
    const url = h.gateway.url;
    h.writeJwtKey('k2');
    h.writePolicy({ kids: ['k1', 'k2'], port: 18_080 });
    await expect(h.gateway.reload()).resolves.toEqual({ ok: true });
    const warnings = h.logged('applies only after a restart');
    expect(warnings).toEqual([expect.objectContaining({ level: 40, changed: ['listen.port'] })]);
    expect(String(warnings[0]!.msg)).toContain('listen.port');
    expect(h.gateway.url).toBe(url);
    expect(h.gateway.policy().auth.keys).toHaveLength(2);
  });

  it('no warning when nothing of the kind changed', async () => {
    await expect(h.gateway.reload()).resolves.toEqual({ ok: true });
    expect(h.logged('applies only after a restart')).toHaveLength(1);
  });
});

describe('the rate schedule follows the new limits', () => {
  let h: ReloadHarness;
  let token: string;
  beforeAll(async () => {
    const started = await startReloadHarness({ kid: 'k1', writePerSecond: 4 });
    h = started;
    token = h.mint(started.firstKey);
  });
  afterAll(() => h.close());

  /** Two writes at once: how long the second waited for its slot. */
  async function secondWaitMs(): Promise<number> {
    const replies = await Promise.all([
      h.request('POST', '/api/v1/computes/999/stop', token),
      h.request('POST', '/api/v1/computes/999/stop', token),
    ]);
    return Math.max(...replies.map((r) => Number(r.headers['x-queue-wait-ms'])));
  }

  it('4 writes/s spaces writes ~260 ms apart; after a reload to 1000/s they go at once', async () => {
    expect(await secondWaitMs()).toBeGreaterThan(150);
    h.writePolicy({ kids: ['k1'], writePerSecond: 1000 });
    await expect(h.gateway.reload()).resolves.toEqual({ ok: true });
    // The tail the slow schedule left (≤ one old interval) may still be ahead; let it pass.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await secondWaitMs()).toBeLessThan(50);
  });
});

describe('concurrent reloads', () => {
  let h: ReloadHarness;
  beforeAll(async () => {
    h = await startReloadHarness({ kid: 'k1' });
  });
  afterAll(() => h.close());

  it('run one after the other, each with its own result', async () => {
    const results = await Promise.all([h.gateway.reload(), h.gateway.reload(), h.gateway.reload()]);
    expect(results).toEqual([{ ok: true }, { ok: true }, { ok: true }]);
    expect(h.logged('config reloaded')).toHaveLength(3);
  });
});

describe('a large policy (its YAML read in a child process)', () => {
  let h: ReloadHarness;
  let signing: Parameters<ReloadHarness['mint']>[0];
  const CALLERS = 3000;
  // Watched, not replaced: tells that the reload read the YAML in a child.
  let spawnSync: jest.SpiedFunction<typeof childProcess.spawnSync>;
  const childrenStarted = () => spawnSync.mock.calls.filter(([command]) => command === process.execPath).length;
  beforeAll(async () => {
    const started = await startReloadHarness({ kid: 'k1' });
    h = started;
    signing = started.firstKey;
  });
  beforeEach(() => {
    spawnSync = jest.spyOn(childProcess, 'spawnSync');
  });
  afterEach(() => spawnSync.mockRestore());
  afterAll(() => h.close());

  it('reloads: its callers are served', async () => {
    h.writePolicy({ kids: ['k1'], moreCallers: CALLERS });
    expect(fs.statSync(h.policyPath).size).toBeGreaterThan(CHILD_PARSE_FROM_CHARS);
    expect((await h.request('GET', '/api/v1/regions', h.mint(signing, `caller-${CALLERS}`))).status).toBe(403);
    await expect(h.gateway.reload()).resolves.toEqual({ ok: true });
    expect(childrenStarted()).toBe(1);
    expect(Object.keys(h.gateway.policy().callers)).toHaveLength(CALLERS + 1);
    expect((await h.request('GET', '/api/v1/regions', h.mint(signing, `caller-${CALLERS}`))).status).toBe(200);
  }, 60_000);

  it('a broken one is refused with the line of its problem; the running one kept', async () => {
    h.writePolicy({ kids: ['k1'], moreCallers: CALLERS, brokenCaller: true });
    const strayLine =
      fs
        .readFileSync(h.policyPath, 'utf8')
        .split('\n')
        .findIndex((l) => l.includes('stray:')) + 1;
    await expect(h.gateway.reload()).resolves.toEqual({
      ok: false,
      errors: [{ path: 'callers.stray.account', message: expect.stringContaining('unknown account'), line: strayLine }],
    });
    // One to read it, one to find the problem's line.
    expect(childrenStarted()).toBe(2);
    expect((await h.request('GET', '/api/v1/regions', h.mint(signing, `caller-${CALLERS}`))).status).toBe(200);
  }, 60_000);
});
