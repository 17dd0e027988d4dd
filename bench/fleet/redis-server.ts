/**
 * The benches' Redis, in the topology `--redis` names: one redis-server (the tests' helper,
 * test/helpers/redis-server.ts), a Sentinel setup or a Cluster (test/helpers/redis-topology.ts), every
 * process started through the bench's ChildGroup, so that it dies with the bench and its output lands
 * in the run's logs (`redis-<port>.log`).
 */
import path from 'node:path';
import { scheduleKeys } from '../../src/schedule/keys';
import { parseCommandStats, startRedisServer } from '../../test/helpers/redis-server';
import { SENTINEL_MASTER_NAME, startRedisCluster, startRedisSentinel } from '../../test/helpers/redis-topology';
import type { ChildGroup } from './children';
import type { RedisTopologyName } from './scenarios';

export interface BenchRedis {
  /** For the bench's log: what runs where. */
  readonly description: string;
  /** The gateway's (and the baseline's) settings: REDIS_URL, REDIS_SENTINELS…, or REDIS_CLUSTER_NODES. */
  readonly env: Readonly<Record<string, string>>;
  /** Empties every master: each scenario starts from nothing. */
  flushAll(): Promise<void>;
  /** One command to the (single) master, out of band: INFO, DBSIZE, SCAN… (not for a Cluster). */
  command(...args: Array<string | number>): Promise<unknown>;
  /** `INFO commandstats` calls per command, summed over the masters. */
  commandCalls(): Promise<Record<string, number>>;
  /** Single node: SIGKILL, then the same port again, empty (the outage scenario). */
  kill(): Promise<void>;
  restart(): Promise<void>;
  /**
   * Sentinel, Cluster: SIGKILL the master of `accountId`'s schedule; resolves once a replica is
   * promoted. The killed node then comes back and rejoins as a replica (`rejoined`), so that the
   * next phase can fail over again.
   */
  failOver(accountId: string): Promise<{ rejoined: Promise<void> }>;
  stop(): Promise<void>;
}

const notFor = (what: string, topology: RedisTopologyName) => () =>
  Promise.reject(new Error(`${what} is not a scenario of --redis ${topology}`));

export async function startBenchRedis(
  group: ChildGroup,
  workDir: string,
  topology: RedisTopologyName = 'single',
): Promise<BenchRedis> {
  let started = 0;
  const spawn = (args: readonly string[]) => {
    started += 1;
    return group.spawn(`redis-${started}`, 'redis-server', args, {
      logFile: path.join(workDir, `redis-${started}.log`),
    });
  };
  if (topology === 'single') {
    const server = await startRedisServer({ spawn });
    return {
      description: `redis-server on ${server.url}`,
      env: { REDIS_URL: server.url },
      flushAll: async () => void (await server.command('FLUSHALL')),
      command: (...args) => server.command(...args),
      commandCalls: () => server.commandCalls(),
      kill: () => server.kill(),
      restart: () => server.restart(),
      failOver: notFor('failover', topology),
      stop: () => server.stop(),
    };
  }
  if (topology === 'sentinel') {
    const sentinel = await startRedisSentinel({ spawn });
    return {
      description: `Sentinel: master and replica ${sentinel.dataNodes.map((n) => n.port).join(', ')}, Sentinels ${sentinel.sentinelAddresses}`,
      env: { REDIS_SENTINELS: sentinel.sentinelAddresses, REDIS_SENTINEL_MASTER: SENTINEL_MASTER_NAME },
      flushAll: async () => void (await (await sentinel.master()).command('FLUSHALL')),
      command: async (...args) => (await sentinel.master()).command(...args),
      commandCalls: async () =>
        parseCommandStats(String(await (await sentinel.master()).command('INFO', 'commandstats'))),
      kill: notFor('outage', topology),
      restart: notFor('outage', topology),
      async failOver() {
        const master = await sentinel.master();
        await master.kill();
        await sentinel.waitForNewMaster(master);
        return { rejoined: sentinel.rejoin(master) };
      },
      stop: () => sentinel.stop(),
    };
  }
  const cluster = await startRedisCluster({ spawn });
  const masters = async () => {
    const slots = (await cluster.anyNode().command('CLUSTER', 'SLOTS')) as Array<[number, number, [string, number]]>;
    const ports = new Set(slots.map((s) => Number(s[2][1])));
    return cluster.nodes.filter((n) => ports.has(n.port) && !n.killed);
  };
  return {
    description: `Cluster: 3 masters with one replica each, seeds ${cluster.seeds}`,
    env: { REDIS_CLUSTER_NODES: cluster.seeds },
    async flushAll() {
      for (const node of await masters()) await node.command('FLUSHALL');
    },
    command: notFor('a single-master command', topology),
    async commandCalls() {
      const sum: Record<string, number> = {};
      for (const node of await masters())
        for (const [name, calls] of Object.entries(
          parseCommandStats(String(await node.command('INFO', 'commandstats'))),
        ))
          sum[name] = (sum[name] ?? 0) + calls;
      return sum;
    },
    kill: notFor('outage', topology),
    restart: notFor('outage', topology),
    async failOver(accountId) {
      // The master of the read schedule: the one the gateways' busiest script runs on.
      const key = scheduleKeys('sg', accountId, 'read').state;
      const master = await cluster.masterOf(key);
      await master.kill();
      await cluster.waitForMasterOf(key, master);
      return { rejoined: cluster.rejoin(master) };
    },
    stop: () => cluster.stop(),
  };
}
