/**
 * Rotating the callers' JWT verification key without downtime, as docs/operations.md (Key rotation without
 * downtime) describes:
 * (a) add the new key next to the old, reload: tokens of either verify; (b) issuers switch to the
 * new key; (c) remove the old key, reload: old-kid tokens get 401 at once, even one the previous
 * verifier had cached a moment before.
 */
import fs from 'node:fs';
import path from 'node:path';
import { startReloadHarness, type ReloadHarness, type SigningKey } from './reload-harness';

let h: ReloadHarness;
let oldKey: SigningKey;
let newKey: SigningKey;
let oldToken: string;
let newToken: string;

beforeAll(async () => {
  const started = await startReloadHarness({ kid: 'k-2024' });
  h = started;
  oldKey = started.firstKey;
  // The new pair exists (its private half with the issuer) but the gateway does not know it yet.
  newKey = h.writeJwtKey('k-2025');
  oldToken = h.mint(oldKey);
  newToken = h.mint(newKey);
});
afterAll(() => h.close());

const regions = (token: string) => h.request('GET', '/api/v1/regions', token);

it('before: the old key verifies, the new one is unknown', async () => {
  expect((await regions(oldToken)).status).toBe(200);
  expect((await regions(newToken)).status).toBe(401);
});

it('(a) add the new key next to the old, reload: tokens signed by either verify', async () => {
  h.writePolicy({ kids: ['k-2024', 'k-2025'] });
  await expect(h.gateway.reload()).resolves.toEqual({ ok: true });
  expect(h.gateway.policy().auth.keys.map((k) => k.kid)).toEqual(['k-2024', 'k-2025']);
  expect((await regions(oldToken)).status).toBe(200);
  expect((await regions(newToken)).status).toBe(200);
});

it('(b) issuers switch to the new key: fresh new-kid tokens verify', async () => {
  expect((await regions(h.mint(newKey))).status).toBe(200);
  // The old token is still in use somewhere, and still good: nothing broke for its holder.
  expect((await regions(oldToken)).status).toBe(200);
});

it('(c) remove the old key, reload: old-kid tokens get 401 at once (no cached verification survives)', async () => {
  // The old token was verified (and cached by the running verifier) just before.
  expect((await regions(oldToken)).status).toBe(200);
  h.writePolicy({ kids: ['k-2025'] });
  fs.rmSync(path.join(h.dir, 'keys', 'k-2024.pub.pem'));
  await expect(h.gateway.reload()).resolves.toEqual({ ok: true });

  const refused = await regions(oldToken);
  expect(refused.status).toBe(401);
  expect(refused.headers['www-authenticate']).toContain('invalid_token');
  expect((await regions(newToken)).status).toBe(200);
  const access = h.logged('request').find((line) => line.requestId === refused.requestId);
  expect(access).toMatchObject({ status: 401, reason: 'auth-unknown-kid' });
});

it('each reload is counted and logged with the kids in force', async () => {
  const metrics = await h.metricsText();
  expect(metrics).toContain('strettch_gateway_config_reloads_total{result="ok"} 2');
  expect(metrics).toContain('strettch_gateway_config_reloads_total{result="error"} 0');
  expect(h.logged('config reloaded').map((line) => line.kids)).toEqual([['k-2024', 'k-2025'], ['k-2025']]);
});
