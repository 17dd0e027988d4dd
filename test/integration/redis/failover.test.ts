/**
 * Three real gateways sharing one schedule through a highly available Redis, in front of the sandbox
 * as judge (its limits the policy's, sliding windows), under closed-loop load; mid-run the master
 * holding the schedule is killed (SIGKILL) and the topology promotes its replica:
 *
 * - Sentinel: 1 master, 1 replica, 3 Sentinels (down-after 1 s);
 * - Cluster: 3 masters with one replica each (node timeout 1 s); the master of the schedule's slot.
 *
 * Judged by what the referee received: never an upstream 429, never more than the limit in any 1 s
 * span (the schedule was shared before the kill, local at rate ÷ 3 during, shared again after), no
 * 5xx and no transport error at any time; every gateway reports `fallback` on /readyz during the
 * failover and returns to `shared` by itself, on the promoted replica. The measured figures
 * (detection, failover, fallback duration) are printed and kept in docs/operations.md.
 */
import { scheduleKeys } from '../../../src/schedule/keys';
import {
  drive,
  fleetsForFile,
  forwarded,
  sleepUntil,
  statusCounts,
  TEST_SAFETY,
  waitUntil,
  watchEventLoop,
  type Fleet,
} from '../../helpers/fleet-harness';
import {
  startRedisCluster,
  startRedisSentinel,
  type RedisClusterTopology,
  type RedisNode,
  type RedisSentinelTopology,
} from '../../helpers/redis-topology';
import type { RedisTopology } from '../../../src/redis';

jest.setTimeout(120_000);

const LIMIT = 10;
const started = fleetsForFile();

const modes = (fleet: Fleet): Promise<string[]> =>
  Promise.all(
    [0, 1, 2].map(async (g) => {
      const reply = await fleet.readyz(g);
      return `${reply.status} ${String(reply.body?.checks?.schedule)}`;
    }),
  );

interface Topology {
  name: string;
  redis: RedisTopology;
  /** The data node holding this account's read schedule now. */
  masterFor(accountId: string): Promise<RedisNode>;
  /** Resolves with the promoted node once the topology names a new live master. */
  promoted(accountId: string, killed: RedisNode): Promise<RedisNode>;
  stop(): Promise<void>;
}

const readStateKey = (accountId: string) => scheduleKeys('sg', accountId, 'read').state;

async function sentinelTopology(): Promise<Topology> {
  const s: RedisSentinelTopology = await startRedisSentinel();
  return {
    name: 'sentinel',
    redis: s.topology,
    masterFor: () => s.master(),
    promoted: (_accountId, killed) => s.waitForNewMaster(killed),
    stop: () => s.stop(),
  };
}

async function clusterTopology(): Promise<Topology> {
  const c: RedisClusterTopology = await startRedisCluster();
  return {
    name: 'cluster',
    redis: c.topology,
    masterFor: (accountId) => c.masterOf(readStateKey(accountId)),
    promoted: (accountId, killed) => c.waitForMasterOf(readStateKey(accountId), killed),
    stop: () => c.stop(),
  };
}

describe.each([
  ['Sentinel (1 master, 1 replica, 3 Sentinels)', sentinelTopology],
  ['Cluster (3 masters, 1 replica each)', clusterTopology],
])('%s: the master killed under load through 3 gateways', (_title, startTopology) => {
  let topology: Topology;
  let fleet: Fleet;

  beforeAll(async () => {
    topology = await startTopology();
    fleet = await started.fleet({
      gateways: 3,
      redis: topology.redis,
      expectedReplicas: 3,
      limits: { read: LIMIT, write: 3, safety: TEST_SAFETY },
      sandbox: { limits: { readPerSecond: LIMIT, writePerSecond: 3 }, window: 'sliding' },
      callers: { worker: { maxWaitMs: 1500 } },
    });
  });
  afterAll(async () => {
    await fleet?.close();
    await topology?.stop();
  });

  test('shared before, fallback during the failover, shared again by itself after: 0 upstream 429s, no 5xx', async () => {
    expect(await modes(fleet)).toEqual(['200 shared', '200 shared', '200 shared']);
    await fleet.warmUp();
    const master = await topology.masterFor(fleet.accountId);
    const loop = watchEventLoop();
    const startedAt = Date.now();
    const runUntil = startedAt + 14_000;
    const sending = drive(
      fleet,
      [0, 1, 2].map((gateway) => ({ caller: 'worker', gateway, workers: 2 })),
      runUntil,
    );

    await sleepUntil(startedAt + 2000);
    await master.kill();
    const killedAt = Date.now();
    const noticedMs = await waitUntil(async () => (await modes(fleet)).every((m) => m === '200 fallback'), 5000, 10);
    const promoted = await topology.promoted(fleet.accountId, master);
    const failoverMs = Date.now() - killedAt;
    // Back on the shared schedule without anyone's help: the schedule's probe finds the new master.
    await waitUntil(async () => (await modes(fleet)).every((m) => m === '200 shared'), 30_000, 10);
    const returnedAt = Date.now();
    const sent = await sending;
    const stallMs = loop.stop();

    const reads = fleet.upstream('read');
    const done = sent.filter(forwarded).map((s) => s.endMs);
    const rate = (from: number, to: number): number =>
      done.filter((t) => t >= from && t < to).length / Math.max(0.001, (to - from) / 1000);
    const stats = fleet.gateways.map((g) => g.gateway.schedule.stats());
    // From the moment every gateway said fallback to the moment every one said shared again.
    const fallbackMs = returnedAt - killedAt - noticedMs;
    console.log(
      `${topology.name} failover under load through 3 gateways: every /readyz said fallback ${noticedMs} ms after the kill; ` +
        `the topology promoted a replica ${failoverMs} ms after it; all gateways shared again ${returnedAt - killedAt} ms after it ` +
        `(fallback lasted ${fallbackMs} ms); rates/s before ${rate(startedAt + 300, killedAt).toFixed(2)}, ` +
        `during ${rate(killedAt + noticedMs, returnedAt).toFixed(2)}, after ${rate(returnedAt + 1000, runUntil).toFixed(2)}; ` +
        `granted by mode ${JSON.stringify(stats.map((s) => s.granted))}; replies ${JSON.stringify(statusCounts(sent))}; ` +
        `upstream ${JSON.stringify(reads)}; event-loop stall max ${stallMs} ms`,
    );

    // The judge: no upstream 429, never more than the limit in any 1 s span, before, during or after.
    expect(reads.rejected).toBe(0);
    expect(reads.maxAdmittedInSlidingWindow).toBeLessThanOrEqual(LIMIT);
    // The callers: no 5xx and no transport error at any time; the gateway's own 429s carry Retry-After.
    expect(sent.filter((s) => s.error !== undefined || s.status >= 500)).toEqual([]);
    for (const s of sent.filter((r) => r.status === 429))
      expect(forwarded(s) ? 'upstream 429' : s.retryAfter).toBeTruthy();
    // Every gateway went through the fallback and came back to the shared schedule.
    expect(stats.every((s) => s.granted.fallback > 0 && s.mode === 'shared')).toBe(true);
    // Served all along: the shared schedule before and after, the local one (rate ÷ 3 each) during.
    expect(rate(startedAt + 300, killedAt)).toBeGreaterThan(LIMIT * TEST_SAFETY * 0.6);
    expect(rate(returnedAt + 1000, runUntil)).toBeGreaterThan(LIMIT * TEST_SAFETY * 0.5);
    // The shared state after the failover lives on the promoted replica.
    expect(promoted.port).not.toBe(master.port);
    expect(await promoted.command('EXISTS', readStateKey(fleet.accountId))).toBe(1);
  });
});
