/**
 * Redis faults under mixed load (reads and power actions), through two real gateways sharing one
 * schedule in a real `redis-server`, in front of the sandbox as judge (its limits the policy's,
 * sliding windows):
 *
 * - Redis down when the gateways start: they start, serve on the fallback schedule (rate ÷ 2 each)
 *   and say so on `/readyz` and in `strettch_gateway_schedule_mode`, then move to the shared
 *   schedule once Redis appears;
 * - Redis killed under load while the sandbox also drops connections, then restarted empty: no
 *   caller request fails because of Redis (every answer is the upstream's, or the schedule's own
 *   429), every attempt — retries included, in either mode — takes a slot, so the sandbox never
 *   answers 429 nor admits more than the limit in any 1 s span; no create is performed twice.
 *
 * pause-and-outage.test.ts covers the same outage with reads alone; here writes, retries and a
 * cold start without Redis are part of it, and keyed creates go through the outage too (a caller
 * without ownership or quotas does not depend on the compute ledger).
 */
import { startGateway } from '../../../src/gateway/compose';
import { createLogger } from '../../../src/gateway/observability/logger';
import { fleetsForFile, TEST_SAFETY, waitUntil, type Fleet, type FleetOptions } from '../../helpers/fleet-harness';
import {
  AccessLog,
  envelopeProblem,
  runTraffic,
  setFaults,
  sum,
  tally,
  type Answer,
  type Kind,
  type Send,
  type Worker,
} from './fault-traffic';

const LIMITS = { read: 10, write: 3 };
const GATEWAYS = [0, 1];
/** Per gateway, closed loop: two readers and a power action on a compute that does not exist (the sandbox counts it,
 * then answers 404). */
const WORKERS: readonly Worker[] = [
  { caller: 'worker', kind: 'read', count: 10_000 },
  { caller: 'worker', kind: 'read', count: 10_000 },
  { caller: 'worker', kind: 'power', count: 10_000 },
];
const NO_COMPUTE = ['999'];
/**
 * Both gateways on their fallback schedules, per class min(rate × safety ÷ 2, ⌊rate ÷ 2⌋ × safety):
 * reads 4.25/s and writes 0.85/s each, 10.2/s in all (within the provider's 10 + 3).
 */
const FALLBACK_RATE =
  GATEWAYS.length *
  (Math.min((LIMITS.read * TEST_SAFETY) / 2, Math.floor(LIMITS.read / 2) * TEST_SAFETY) +
    Math.min((LIMITS.write * TEST_SAFETY) / 2, Math.floor(LIMITS.write / 2) * TEST_SAFETY));
/** The upstream's own answer to each kind when nothing failed. */
const UPSTREAM_ANSWER: Record<Kind, number> = { read: 200, power: 404, create: 202 };

const started = fleetsForFile();
const redisServer = started.redis;

async function fleetOn(redisUrl: string, maxWaitMs = 1500): Promise<Fleet> {
  const options: FleetOptions = {
    gateways: GATEWAYS.length,
    redisUrl,
    expectedReplicas: GATEWAYS.length,
    limits: { ...LIMITS, safety: TEST_SAFETY },
    sandbox: { limits: { readPerSecond: LIMITS.read, writePerSecond: LIMITS.write }, window: 'sliding' },
    callers: { worker: { maxWaitMs } },
  };
  return started.fleet(options);
}

const sendVia =
  (fleet: Fleet, gateway: number): Send =>
  (caller, method, target, o) =>
    fleet.request(gateway, method, target, {
      caller,
      ...(o.headers ? { headers: o.headers } : {}),
      ...(o.body !== undefined ? { body: o.body } : {}),
    });

/** The mixed load through every gateway until `untilMs`; each answer with its access line's attempts. */
async function load(
  fleet: Fleet,
  untilMs: number,
  tag: string,
  workers: readonly Worker[] = WORKERS,
): Promise<Array<Answer & { attempts: number }>> {
  const perGateway = await Promise.all(
    GATEWAYS.map(async (g) => {
      const answers = await runTraffic(sendVia(fleet, g), workers, {
        tag: `${tag}${g}`,
        untilMs,
        backoffMs: 20,
        computeIds: NO_COMPUTE,
      });
      const lines = await new AccessLog(fleet.gateways[g]!.logLines).lines(answers.map((a) => a.requestId));
      return answers.map((a, i) => ({ ...a, attempts: Number(lines[i]!.attempts ?? 0) }));
    }),
  );
  return perGateway.flat();
}

const modes = (fleet: Fleet): Promise<string[]> =>
  Promise.all(
    GATEWAYS.map(async (g) => {
      const reply = await fleet.readyz(g);
      return `${reply.status} ${String(reply.body?.checks?.schedule)}`;
    }),
  );

const grantedBy = (fleet: Fleet, mode: 'shared' | 'fallback'): number[] =>
  fleet.gateways.map((g) => g.gateway.schedule.stats().granted[mode]);

/** Answered by the gateway itself with 429: the schedule's deadline, not the upstream. */
const scheduleRejected = (a: Answer & { attempts: number }): boolean => a.status === 429 && a.attempts === 0;

/** The invariants every Redis fault keeps: the judge's view and the callers' view. */
function expectWithinLimits(fleet: Fleet, answers: ReadonlyArray<Answer & { attempts: number }>): void {
  expect(answers.map(envelopeProblem).filter((p) => p !== undefined)).toEqual([]);
  // The upstream never said 429, nor saw more than the limit in any 1 s span (dropped attempts included).
  const reads = fleet.upstream('read');
  const writes = fleet.upstream('write');
  expect([reads.rejected, writes.rejected]).toEqual([0, 0]);
  expect(reads.maxAdmittedInSlidingWindow).toBeLessThanOrEqual(LIMITS.read);
  expect(writes.maxAdmittedInSlidingWindow).toBeLessThanOrEqual(LIMITS.write);
  // Whatever the gateway answered itself is the schedule's 429 (deadline): nothing failed because of Redis.
  expect(
    answers
      .filter((a) => a.attempts === 0 && !scheduleRejected(a))
      .map((a) => `${a.kind} ${a.status} ${JSON.stringify(a.body)}`),
  ).toEqual([]);
  for (const a of answers.filter(scheduleRejected)) {
    expect(a.body.code).toBe('TOO_MANY_REQUESTS');
    expect(a.forwarded).toBe(false);
  }
  // Each attempt reached the upstream once; no create was performed twice.
  const stats = fleet.sandbox.referee.stats();
  expect(stats.duplicateCreates.total).toBe(0);
  expect(reads.admitted + writes.admitted).toBe(sum(answers.map((a) => a.attempts)) + warmUpRequests);
}

/** `warmUp()` sends one read per gateway and one write (a power action on no compute). */
const warmUpRequests = GATEWAYS.length + 1;

test('Redis down when the gateways start: they serve on the fallback schedule, report it, and take the shared one when Redis appears', async () => {
  const redis = await redisServer();
  await redis.kill();
  const startedMs = Date.now();
  const fleet = await fleetOn(redis.url);
  const upMs = Date.now() - startedMs;
  expect(await modes(fleet)).toEqual(['200 fallback', '200 fallback']);
  for (const g of GATEWAYS)
    expect(await fleet.metric(g, 'strettch_gateway_schedule_mode', { mode: 'fallback' })).toBe(1);
  await fleet.warmUp();

  const runStartedMs = Date.now();
  const sending = load(fleet, runStartedMs + 4000, 'cold');
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const fallbackGrants = grantedBy(fleet, 'fallback');
  await redis.restart();
  const restartedMs = Date.now();
  const sharedAfterMs = await waitUntil(async () => (await modes(fleet)).every((m) => m === '200 shared'), 3000);
  const sharedAtReturn = grantedBy(fleet, 'shared');
  for (const g of GATEWAYS) expect(await fleet.metric(g, 'strettch_gateway_schedule_mode', { mode: 'shared' })).toBe(1);
  const answers = await sending;

  const forwardedIn = (from: number, to: number): number =>
    answers.filter((a) => a.attempts > 0 && a.endMs >= from && a.endMs < to).length;
  const fallbackRate = forwardedIn(runStartedMs + 300, restartedMs) / ((restartedMs - runStartedMs - 300) / 1000);
  console.log(
    `Redis down at start: gateways up in ${upMs} ms, on the fallback schedule; forwarded ${fallbackRate.toFixed(2)}/s in fallback ` +
      `(at most ${FALLBACK_RATE.toFixed(2)}/s); shared ${sharedAfterMs} ms after Redis appeared; ` +
      `grants by mode ${JSON.stringify(fleet.gateways.map((g) => g.gateway.schedule.stats().granted))}; upstream reads ${JSON.stringify(fleet.upstream('read'))}, ` +
      `writes ${JSON.stringify(fleet.upstream('write'))}; answers ${JSON.stringify(tally(answers))}`,
  );

  expect(upMs).toBeLessThan(3000);
  expectWithinLimits(fleet, answers);
  expect(answers.filter((a) => a.attempts > 0 && a.status !== UPSTREAM_ANSWER[a.kind])).toEqual([]);
  // Served while Redis was away (both gateways), and on the shared schedule once it was back.
  expect(fallbackGrants.every((n) => n > 0)).toBe(true);
  expect(fallbackRate).toBeGreaterThan(FALLBACK_RATE * 0.5);
  const sharedAtEnd = grantedBy(fleet, 'shared');
  expect(sum(sharedAtEnd) - sum(sharedAtReturn)).toBeGreaterThan(3);
  expect(
    fleet.gateways.every(
      (g) => g.gateway.schedule.stats().modeChanges === 2 && g.gateway.schedule.state().mode === 'shared',
    ),
  ).toBe(true);
}, 20_000);

test('Redis killed under load while the sandbox drops connections, then restarted: no request fails because of Redis, every attempt on a slot', async () => {
  const redis = await redisServer();
  // A retry takes a new slot within the caller's first deadline: with 1.5 s, a dropped read that had
  // queued long (the fallback schedule runs at half the rate) sometimes found none, and no retry ran.
  const fleet = await fleetOn(redis.url, 3000);
  expect(await modes(fleet)).toEqual(['200 shared', '200 shared']);
  await fleet.warmUp();
  await setFaults(fleet.sandbox.url, { dropRate: 0.2 });

  const runStartedMs = Date.now();
  const sending = load(fleet, runStartedMs + 4500, 'kill');
  await new Promise((resolve) => setTimeout(resolve, 1000));
  await redis.kill();
  const noticedMs = await waitUntil(async () => (await modes(fleet)).every((m) => m === '200 fallback'), 2000);
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, runStartedMs + 2700 - Date.now())));
  await redis.restart();
  const returnedMs = await waitUntil(async () => (await modes(fleet)).every((m) => m === '200 shared'), 3000);
  const answers = await sending;
  await setFaults(fleet.sandbox.url, { dropRate: 0 });

  const stats = fleet.sandbox.referee.stats();
  const attempts = sum(answers.map((a) => a.attempts));
  const failed = answers.filter((a) => a.status === 502);
  const forwarded = answers.filter((a) => a.attempts > 0);
  console.log(
    `Redis killed under load (sandbox dropping 20%): fallback on both /readyz within ${noticedMs} ms, shared again ${returnedMs} ms after the restart; ` +
      `${answers.length} answers ${JSON.stringify(tally(answers))}; ${attempts} attempts for ${forwarded.length} forwarded requests, ${stats.faultsInjected.drop} dropped; ` +
      `grants by mode ${JSON.stringify(fleet.gateways.map((g) => g.gateway.schedule.stats().granted))}; upstream reads ${JSON.stringify(fleet.upstream('read'))}, writes ${JSON.stringify(fleet.upstream('write'))}`,
  );

  expectWithinLimits(fleet, answers);
  // Only the upstream's answers, or a 502 when every attempt of a request was dropped (power actions: one).
  expect(forwarded.filter((a) => a.status !== UPSTREAM_ANSWER[a.kind] && a.status !== 502)).toEqual([]);
  for (const a of failed) expect(a.body.code).toBe('UPSTREAM_UNAVAILABLE');
  for (const a of forwarded) expect(a.attempts).toBeLessThanOrEqual(a.kind === 'power' ? 1 : 3);
  expect(stats.faultsInjected.drop).toBe(attempts - (forwarded.length - failed.length));
  expect(forwarded.some((a) => a.attempts > 1 && a.status < 300)).toBe(true);
  expect(grantedBy(fleet, 'fallback').every((n) => n > 0)).toBe(true);
  expect(
    fleet.gateways.every(
      (g) => g.gateway.schedule.stats().modeChanges === 2 && g.gateway.schedule.state().mode === 'shared',
    ),
  ).toBe(true);
}, 20_000);

// A caller without ownership or quotas does not depend on the compute ledger: Redis down is no reason to refuse its
// creates.
test('keyed creates through a Redis outage, with drops: served on the fallback schedule, retried, none performed twice', async () => {
  const redis = await redisServer();
  const fleet = await fleetOn(redis.url);
  await fleet.warmUp();
  await setFaults(fleet.sandbox.url, { dropRate: 0.2 });
  const runStartedMs = Date.now();
  const sending = load(fleet, runStartedMs + 4000, 'create', [
    { caller: 'worker', kind: 'create', count: 10_000 },
    { caller: 'worker', kind: 'read', count: 10_000 },
  ]);
  await new Promise((resolve) => setTimeout(resolve, 1000));
  await redis.kill();
  await new Promise((resolve) => setTimeout(resolve, 1500));
  await redis.restart();
  await waitUntil(async () => (await modes(fleet)).every((m) => m === '200 shared'), 3000);
  const answers = await sending;
  await setFaults(fleet.sandbox.url, { dropRate: 0 });
  console.log(`keyed creates through a Redis outage: ${JSON.stringify(tally(answers))}`);

  expectWithinLimits(fleet, answers);
  const creates = answers.filter((a) => a.kind === 'create' && a.attempts > 0);
  expect(creates.filter((a) => a.status !== 202 && a.status !== 502)).toEqual([]);
  // Only a few creates fit the write rate in this window; retries show across the whole run.
  expect(answers.some((a) => a.attempts > 1)).toBe(true);
  // Every forwarded create was performed exactly once, through drops, retries and both mode changes.
  expect(sum(Object.values(fleet.sandbox.referee.stats().keys).map((k) => k.createsPerformed))).toBe(creates.length);
}, 20_000);

// Until Redis has answered (or the connect timeout passed) the schedule is reported as connecting.
test('Redis down at start: /readyz never claims the shared schedule before Redis has answered', async () => {
  const redis = await redisServer();
  await redis.kill();
  const fleet = await fleetOn(redis.url);
  const gateway = await startGateway({
    policy: fleet.policy,
    logger: createLogger({ level: 'silent' }),
    host: '127.0.0.1',
    port: 0,
    adminPort: 0,
    schedule: { redisUrl: redis.url, expectedReplicas: 2 },
  });
  try {
    const ready = await fetch(`${gateway.adminUrl}/readyz`);
    expect(((await ready.json()) as { checks: { schedule: string } }).checks.schedule).not.toBe('shared');
  } finally {
    await gateway.close();
  }
});
