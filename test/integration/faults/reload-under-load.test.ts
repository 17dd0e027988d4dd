/**
 * Policy reloads while traffic flows (reads, keyed creates and power actions from three callers on
 * three upstream keys), through the gateway of the reload harness (a real policy file, reloaded as
 * SIGHUP would), the sandbox holding every request 200 ms:
 *
 * - a scope removed: requests in flight finish under the old policy (200), every request sent after
 *   `reload()` resolved gets 403 naming the scope; the others never notice;
 * - the account's Strettch key rotated: later requests reach the upstream with the new key, only
 *   requests already in flight used the old one;
 * - an invalid policy: refused with its problems, the running one kept, traffic untouched;
 *
 * and no request fails because of a reload: no transport error, no 5xx, no 401 from the upstream,
 * no create performed twice.
 */
import fs from 'node:fs';
import path from 'node:path';
import { DEMO_KEYS, type SandboxKey } from '../../../src/sandbox';
import { waitUntil } from '../../helpers/fleet-harness';
import {
  AUDIENCE,
  ISSUER,
  sample,
  startReloadHarness,
  type ReloadHarness,
  type SigningKey,
} from '../reload/reload-harness';
import {
  callPort,
  envelopeProblem,
  runTraffic,
  setFaults,
  sum,
  tally,
  type Answer,
  type Send,
  type Worker,
} from './fault-traffic';

const LATENCY_MS = 200;
const RUN_MS = 2000;
const RELOAD_AFTER_MS = 800;
const READER_KEY = DEMO_KEYS.find((k) => k.role === 'member')!;
const HELD_KEY = DEMO_KEYS.find((k) => k.role === 'admin')!;
const COMPUTES_LIST = '/api/v1/computes?limit=20';

/** The policy of this file: the operator on `main`, a reader on `readers`, a second reader on `held` (its own key, to
 * count its requests at the upstream). */
function policyYaml(h: ReloadHarness, options: { readerScopes: string[]; broken?: boolean }): string {
  const scopes = `[${options.readerScopes.join(', ')}]`;
  return `listen: { host: 127.0.0.1, port: 0, adminPort: 0 }
upstream: { baseUrl: "${h.sandbox.apiBaseUrl}", timeoutMs: 5000 }
accounts:
  main: { apiKey: { file: secrets/main-key } }
  readers: { apiKey: { file: secrets/readers-key } }
  held: { apiKey: { file: secrets/held-key } }
limits:
  default: { read: 1000, write: 1000 }
auth:
  issuer: ${ISSUER}
  audience: ${AUDIENCE}
  maxTokenLifetimeSec: 3600
  keys:
    - { kid: k1, algorithms: [ES256], publicKeyFile: keys/k1.pub.pem }
callers:
  operator: { account: main, scopes: ["*"] }
  reader: { account: readers, scopes: ${scopes} }
  reader-held: { account: held, scopes: ${scopes} }
${options.broken ? '  stray: { account: nowhere, scopes: ["*"] }\n' : ''}`;
}

/** Closed loop: the operator reads, creates and acts on a compute that does not exist (404); the reader lists computes
 * and reads the catalog. */
const WORKERS: readonly Worker[] = [
  { caller: 'operator', kind: 'read', count: 10_000 },
  { caller: 'operator', kind: 'create', count: 10_000 },
  { caller: 'operator', kind: 'power', count: 10_000 },
  ...Array.from({ length: 3 }, () => ({
    caller: 'reader',
    kind: 'read' as const,
    count: 10_000,
    targets: [COMPUTES_LIST],
  })),
  { caller: 'reader', kind: 'read', count: 10_000, targets: ['/api/v1/regions', '/api/v1/images'] },
];

let h: ReloadHarness;
let send: Send;
let port: number;
let signing: SigningKey;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  const started = await startReloadHarness({ kid: 'k1' });
  h = started;
  signing = started.firstKey;
  port = Number(new URL(h.gateway.url).port);
  const keyFile = (name: string, key: SandboxKey) =>
    fs.writeFileSync(path.join(h.dir, 'secrets', name), `${key.key}\n`);
  keyFile('readers-key', READER_KEY);
  keyFile('held-key', HELD_KEY);
  fs.writeFileSync(h.policyPath, policyYaml(h, { readerScopes: ['catalog:read', 'computes:read'] }));
  await expect(h.gateway.reload()).resolves.toEqual({ ok: true });
  const tokens = new Map<string, string>();
  send = (caller, method, target, o) => {
    if (!tokens.has(caller)) tokens.set(caller, h.mint(signing, caller));
    return callPort(port, method, target, { authorization: `Bearer ${tokens.get(caller)}`, ...o.headers }, o.body);
  };
  await setFaults(h.sandbox.url, { latencyMs: LATENCY_MS });
});
afterAll(() => h.close());

const admitted = (key: SandboxKey): number => {
  const k = h.sandbox.referee.stats().keys[h.labelOf(key)];
  return k === undefined ? 0 : k.classes.read.admitted + k.classes.write.admitted;
};

/** Answers nobody's reload may change: the operator's and the reader's catalog reads. */
function expectUnaffected(answers: readonly Answer[]): void {
  expect(answers.map(envelopeProblem).filter((p) => p !== undefined)).toEqual([]);
  const expected = (a: Answer): number => (a.kind === 'create' ? 202 : a.kind === 'power' ? 404 : 200);
  const odd = answers
    .filter((a) => a.target !== COMPUTES_LIST || a.caller === 'operator')
    .filter((a) => a.status !== expected(a));
  expect(odd.map((a) => `${a.caller} ${a.method} ${a.target} → ${a.status} ${JSON.stringify(a.body)}`)).toEqual([]);
}

const createsPerformed: number[] = [];
const createsAccepted: number[] = [];
const figures: string[] = [];

function recordCreates(answers: readonly Answer[]): void {
  createsAccepted.push(answers.filter((a) => a.kind === 'create' && a.status === 202).length);
  createsPerformed.push(sum(Object.values(h.sandbox.referee.stats().keys).map((k) => k.createsPerformed)));
  expect(h.sandbox.referee.stats().duplicateCreates.total).toBe(0);
}

it('a scope removed under load: in-flight requests finish under the old policy, every later one gets 403, the rest never notice', async () => {
  const startedMs = Date.now();
  const traffic = runTraffic(send, WORKERS, {
    tag: 'scope',
    untilMs: startedMs + RUN_MS,
    computeIds: ['999'],
    backoffMs: 20,
  });
  await sleep(RELOAD_AFTER_MS);
  // Six requests of a reader with a key of its own, inside the upstream when the reload comes.
  const heldBefore = admitted(HELD_KEY);
  const held = Array.from({ length: 6 }, () =>
    runTraffic(send, [{ caller: 'reader-held', kind: 'read', count: 1, targets: [COMPUTES_LIST] }], { tag: 'held' }),
  );
  await waitUntil(() => admitted(HELD_KEY) - heldBefore === 6, 2000, 2);

  fs.writeFileSync(h.policyPath, policyYaml(h, { readerScopes: ['catalog:read'] }));
  const reloadCalledMs = Date.now();
  await expect(h.gateway.reload()).resolves.toEqual({ ok: true });
  const reloadedMs = Date.now();
  const heldAnswers = (await Promise.all(held)).flat();
  const later = (
    await runTraffic(send, [{ caller: 'reader-held', kind: 'read', count: 1, targets: [COMPUTES_LIST] }], {
      tag: 'later',
    })
  )[0]!;
  const answers = await traffic;

  const list = answers.filter((a) => a.caller === 'reader' && a.target === COMPUTES_LIST);
  const sentAfter = list.filter((a) => a.startMs > reloadedMs);
  const doneBefore = list.filter((a) => a.endMs < reloadCalledMs);
  figures.push(
    `scope removed: reload took ${reloadedMs - reloadCalledMs} ms mid-run (${answers.length} requests in the run); reader's computes list: ${doneBefore.length} answered before (200), ` +
      `${sentAfter.length} sent after (403), ${list.length - doneBefore.length - sentAfter.length} across the reload; 6 held in the upstream finished 200; ${JSON.stringify(tally(answers))}`,
  );

  // In flight through the reload (they ended after it), answered under the old policy.
  for (const a of heldAnswers) {
    expect([a.status, a.body.success, Array.isArray(a.body.data)]).toEqual([200, true, true]);
    expect(a.endMs).toBeGreaterThan(reloadedMs);
  }
  for (const a of [later, ...sentAfter]) {
    expect([a.status, a.body.code]).toEqual([403, 'FORBIDDEN']);
    expect(a.body.message).toContain('"computes:read"');
  }
  for (const a of doneBefore) expect(a.status).toBe(200);
  // Across the reload either answer, and never back to 200 once a request sent later got 403.
  expect(list.filter((a) => ![200, 403].includes(a.status))).toEqual([]);
  const first403AnsweredAtMs = Math.min(...list.filter((a) => a.status === 403).map((a) => a.endMs));
  expect(list.filter((a) => a.status === 200 && a.startMs > first403AnsweredAtMs)).toEqual([]);
  expect([doneBefore.length, sentAfter.length].every((n) => n > 0)).toBe(true);
  expectUnaffected(answers);
  recordCreates(answers);
});

it('the account’s key rotated under load: later requests reach the upstream with the new key, only requests in flight used the old one', async () => {
  const [oldKey, newKey] = [h.upstreamKeys.current, h.upstreamKeys.next];
  const base = { old: admitted(oldKey), next: admitted(newKey), reader: admitted(READER_KEY) };
  const startedMs = Date.now();
  let inFlight = 0;
  const counting: Send = async (caller, method, target, o) => {
    if (caller !== 'operator') return send(caller, method, target, o);
    inFlight += 1;
    try {
      return await send(caller, method, target, o);
    } finally {
      inFlight -= 1;
    }
  };
  const traffic = runTraffic(counting, WORKERS, {
    tag: 'key',
    untilMs: startedMs + RUN_MS,
    computeIds: ['999'],
    backoffMs: 20,
  });
  await sleep(RELOAD_AFTER_MS);

  h.writeUpstreamKey(newKey);
  const reloadCalledMs = Date.now();
  const inFlightAtReload = inFlight;
  await expect(h.gateway.reload()).resolves.toEqual({ ok: true });
  const reloadedMs = Date.now();
  const oldAtReload = admitted(oldKey) - base.old;
  const answers = await traffic;

  const operator = answers.filter((a) => a.caller === 'operator');
  const usedOld = admitted(oldKey) - base.old;
  const usedNew = admitted(newKey) - base.next;
  figures.push(
    `key rotated: reload took ${reloadedMs - reloadCalledMs} ms with ${inFlightAtReload} operator requests in flight; upstream saw ${usedOld} with the old key ` +
      `(${usedOld - oldAtReload} of them after the reload), ${usedNew} with the new one; ${JSON.stringify(tally(answers))}`,
  );

  expectUnaffected(answers);
  // Each operator request reached the upstream once, with one key or the other, never refused (no 401).
  expect(usedOld + usedNew).toBe(operator.length);
  // After the reload only requests already in flight could still use the old key...
  expect(usedOld - oldAtReload).toBeLessThanOrEqual(inFlightAtReload);
  // ...and every request sent after it used the new one.
  expect(usedNew).toBeGreaterThanOrEqual(operator.filter((a) => a.startMs > reloadedMs).length);
  expect([usedOld, usedNew].every((n) => n > 0)).toBe(true);
  const stats = h.sandbox.referee.stats();
  expect(stats.keys[h.labelOf(newKey)]!.lastRequest!.headers.authorization).toBe(`Bearer key(${h.labelOf(newKey)})`);
  // The reader's account kept its own key throughout.
  expect(admitted(READER_KEY) - base.reader).toBe(
    answers.filter((a) => a.caller === 'reader' && a.status !== 403).length,
  );
  recordCreates(answers);
});

it('an invalid policy under load: refused with its problems, the running one kept, the traffic untouched', async () => {
  const [oldKey, newKey] = [h.upstreamKeys.current, h.upstreamKeys.next];
  const base = { old: admitted(oldKey), next: admitted(newKey) };
  const errorsBefore = sample(await h.metricsText(), 'strettch_gateway_config_reloads_total{result="error"}') ?? 0;
  const startedMs = Date.now();
  const traffic = runTraffic(send, WORKERS, {
    tag: 'bad',
    untilMs: startedMs + RUN_MS,
    computeIds: ['999'],
    backoffMs: 20,
  });
  await sleep(RELOAD_AFTER_MS);

  // Would restore the reader's scope, but also names an account that does not exist.
  fs.writeFileSync(h.policyPath, policyYaml(h, { readerScopes: ['catalog:read', 'computes:read'], broken: true }));
  const result = await h.gateway.reload();
  expect(result.ok).toBe(false);
  expect(result.ok ? [] : result.errors.map((e) => e.path)).toEqual(['callers.stray.account']);
  const answers = await traffic;
  fs.writeFileSync(h.policyPath, policyYaml(h, { readerScopes: ['catalog:read'] }));

  figures.push(`invalid policy: refused; ${JSON.stringify(tally(answers))}`);
  expectUnaffected(answers);
  // Still the running policy: the scope stays removed, the new key stays in use.
  const list = answers.filter((a) => a.caller === 'reader' && a.target === COMPUTES_LIST);
  expect(list.length).toBeGreaterThan(0);
  expect(list.filter((a) => a.status !== 403)).toEqual([]);
  expect(admitted(oldKey) - base.old).toBe(0);
  expect(admitted(newKey) - base.next).toBe(answers.filter((a) => a.caller === 'operator').length);
  expect(h.gateway.policy().callers.stray).toBeUndefined();
  expect(sample(await h.metricsText(), 'strettch_gateway_config_reloads_total{result="error"}')).toBe(errorsBefore + 1);
  recordCreates(answers);
});

it('over all three reloads: no create performed twice, each accepted create performed once', () => {
  expect(h.sandbox.referee.stats().duplicateCreates.total).toBe(0);
  expect(createsPerformed[createsPerformed.length - 1]).toBe(sum(createsAccepted));
  console.log(`reloads under load (upstream latency ${LATENCY_MS} ms):\n  ${figures.join('\n  ')}`);
});
