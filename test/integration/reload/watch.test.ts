/**
 * The optional file watch (`--watch`, `CONFIG_WATCH=1`): a change to the policy or to a key file it
 * references triggers one reload per burst; files the policy starts referencing are followed.
 */
import fs from 'node:fs';
import path from 'node:path';
import { watchConfigFiles, type ConfigWatch } from '../../../src/gateway/config-watch';
import { startReloadHarness, type ReloadHarness, type SigningKey } from './reload-harness';

const INTERVAL_MS = 20;
const DEBOUNCE_MS = 60;

let h: ReloadHarness;
let firstKey: SigningKey;
let watch: ConfigWatch;
let reloads = 0;

beforeAll(async () => {
  const started = await startReloadHarness({ kid: 'k1' });
  h = started;
  firstKey = started.firstKey;
  watch = watchConfigFiles({
    files: h.source.files,
    onChange: () => {
      reloads++;
      return h.gateway.reload();
    },
    intervalMs: INTERVAL_MS,
    debounceMs: DEBOUNCE_MS,
  });
});
afterAll(async () => {
  watch.close();
  await h.close();
});

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

it('watches the policy and every file it references', () => {
  expect([...h.source.files()].sort()).toEqual(
    [h.policyPath, path.join(h.dir, 'keys', 'k1.pub.pem'), path.join(h.dir, 'secrets', 'main-key')].sort(),
  );
});

it('a burst of writes to the policy makes one reload, which follows the newly referenced key file', async () => {
  const newKey = h.writeJwtKey('k2');
  h.writePolicy({ kids: ['k1'] });
  h.writePolicy({ kids: ['k1', 'k2'] });
  await until(() => h.gateway.policy().auth.keys.length === 2, 'the reload');
  expect(reloads).toBe(1);
  expect((await h.request('GET', '/api/v1/regions', h.mint(newKey))).status).toBe(200);
  await until(
    () => h.source.files().includes(path.join(h.dir, 'keys', 'k2.pub.pem')),
    'the new key file to be followed',
  );
});

it('replacing a referenced key file alone triggers a reload (a rotated Secret)', async () => {
  const before = reloads;
  const keyFile = path.join(h.dir, 'keys', 'k1.pub.pem');
  // As Kubernetes does: new content, renamed over the old name.
  const replacement = h.writeJwtKey('k1-next');
  fs.renameSync(path.join(h.dir, 'keys', 'k1-next.pub.pem'), keyFile);
  await until(() => reloads > before && h.logged('config reloaded').length >= 2, 'the reload');
  expect(
    (await h.request('GET', '/api/v1/regions', h.mint({ kid: 'k1', privateKey: replacement.privateKey }))).status,
  ).toBe(200);
  expect((await h.request('GET', '/api/v1/regions', h.mint(firstKey))).status).toBe(401);
});

it('after close(), changes are ignored', async () => {
  watch.close();
  const before = reloads;
  h.writePolicy({ kids: ['k1'] });
  await new Promise((resolve) => setTimeout(resolve, INTERVAL_MS * 3 + DEBOUNCE_MS));
  expect(reloads).toBe(before);
});
