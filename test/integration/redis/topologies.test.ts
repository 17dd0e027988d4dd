/**
 * The Redis connection (`src/redis/connection.ts`) on real topologies started from the local
 * `redis-server`: a Cluster of 3 masters with one replica each, and a master with a replica watched
 * by 3 Sentinels. What the rest of the gateway relies on holds on each: scripts in one round trip,
 * keyless commands (TIME), pub/sub across nodes, status changes, one error type; and every key one
 * script touches shares one hash slot, proved by the cluster itself (`CLUSTER KEYSLOT`).
 */
import { ledgerKeys } from '../../../src/gateway/least-privilege/ledger-redis';
import {
  createRedisConnection,
  defineLuaScript,
  StoreUnavailableError,
  type ConnectionStatus,
  type RedisConnection,
} from '../../../src/redis';
import { scheduleKeys } from '../../../src/schedule/keys';
import {
  startRedisCluster,
  startRedisSentinel,
  type RedisClusterTopology,
  type RedisSentinelTopology,
} from '../../helpers/redis-topology';

jest.setTimeout(90_000);

/** Touches every key it is given, as the schedule's and the ledger's scripts do. */
const TOUCH_ALL = defineLuaScript(
  'touch-all',
  "for i, key in ipairs(KEYS) do redis.call('SET', key, ARGV[1]) end return #KEYS",
);

/** Account and caller ids as the policy may spell them, including characters that could move a hash tag. */
const IDS = ['prod', 'staging-eu', 'a{b}c', 'x}y{z', 'colon:name', 'ünï', ''];

const waitForStatus = async (connection: RedisConnection, status: ConnectionStatus, timeoutMs = 20_000) => {
  const deadline = Date.now() + timeoutMs;
  while (connection.status() !== status) {
    if (Date.now() > deadline) throw new Error(`connection not ${status} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};

/** Retries a command until it succeeds: across a failover, commands fail until the new master is known. */
async function eventually<T>(attempt: () => Promise<T>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

describe('Redis Cluster (3 masters, 1 replica each)', () => {
  let cluster: RedisClusterTopology;
  let connection: RedisConnection;

  beforeAll(async () => {
    cluster = await startRedisCluster();
    connection = createRedisConnection({ topology: cluster.topology, commandTimeoutMs: 1000 });
    await waitForStatus(connection, 'ready');
  });
  afterAll(async () => {
    await connection?.close();
    await cluster?.stop();
  });

  const keyslot = async (key: string): Promise<number> =>
    Number(await cluster.anyNode().command('CLUSTER', 'KEYSLOT', key));

  it("every key of one schedule (the rate schedule script's KEYS) hashes to one slot", async () => {
    for (const id of IDS)
      for (const cls of ['read', 'write', 'all'] as const) {
        const keys = scheduleKeys('sg', id, cls);
        const slots = await Promise.all([keys.id, keys.state, keys.calendar, keys.callers].map(keyslot));
        expect({ id, cls, slots: new Set(slots).size }).toEqual({ id, cls, slots: 1 });
      }
  });

  it("every key of one account's ledger (the ledger script's KEYS, each caller's hour included) hashes to one slot", async () => {
    for (const id of IDS) {
      const keys = ledgerKeys('sg:ledger', id);
      const all = [keys.id, keys.owners, keys.live, keys.liveCounts, keys.pending, ...IDS.map(keys.hourOf)];
      const slots = await Promise.all(all.map(keyslot));
      expect({ id, slots: new Set(slots).size }).toEqual({ id, slots: 1 });
    }
  });

  it('runs a script over all of a schedule’s keys in one slot, and the cluster refuses keys of two slots', async () => {
    const keys = scheduleKeys('sg', 'prod', 'read');
    const all = [keys.state, keys.calendar, keys.callers];
    await expect(connection.runScript(TOUCH_ALL, all, ['1'])).resolves.toBe(3);
    // Runs again as EVALSHA on the node that has seen it.
    await expect(connection.runScript(TOUCH_ALL, all, ['2'])).resolves.toBe(3);
    expect(connection.counts()).toMatchObject({ eval: 1, evalsha: 1 });
    // The check above can fail: two schedules' keys in different slots are refused, as one error type.
    const other = scheduleKeys('sg', 'staging-eu', 'write');
    expect(await keyslot(other.state)).not.toBe(await keyslot(keys.state));
    const error = await connection.runScript(TOUCH_ALL, [keys.state, other.state], ['3']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect((error as StoreUnavailableError).replyCode).toBe('CROSSSLOT');
  });

  it('answers keyless commands (the schedule calibrates its clock with TIME)', async () => {
    const reply = (await connection.command('time')) as string[];
    expect(reply).toHaveLength(2);
    expect(Number(reply[0])).toBeGreaterThan(1_600_000_000);
  });

  it('delivers messages published on any node to the subscriber (pause announcements)', async () => {
    const received: string[] = [];
    await connection.subscribe('sg:shift', (message) => received.push(message));
    for (const node of cluster.nodes) await node.command('PUBLISH', 'sg:shift', `from ${node.port}`);
    const deadline = Date.now() + 10_000;
    while (received.length < cluster.nodes.length && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 20));
    expect(received.sort()).toEqual(cluster.nodes.map((n) => `from ${n.port}`).sort());
  });

  it('after the master of a slot is killed, fails fast, then follows the promoted replica by itself', async () => {
    const keys = scheduleKeys('sg', 'failover', 'read');
    const fast = createRedisConnection({ topology: cluster.topology, commandTimeoutMs: 150 });
    try {
      await waitForStatus(fast, 'ready');
      await fast.runScript(TOUCH_ALL, [keys.state, keys.calendar], ['before']);
      const master = await cluster.masterOf(keys.state);
      await master.kill();
      const failed = await fast.runScript(TOUCH_ALL, [keys.state, keys.calendar], ['during']).catch((e: unknown) => e);
      expect(failed).toBeInstanceOf(StoreUnavailableError);
      const promoted = await cluster.waitForMasterOf(keys.state, master);
      expect(promoted.port).not.toBe(master.port);
      await eventually(() => fast.runScript(TOUCH_ALL, [keys.state, keys.calendar], ['after']));
      expect(await promoted.command('GET', keys.state)).toBe('after');
    } finally {
      await fast.close();
    }
  });
});

describe('Redis Sentinel (1 master, 1 replica, 3 Sentinels)', () => {
  let sentinel: RedisSentinelTopology;
  let connection: RedisConnection;
  const statuses: ConnectionStatus[] = [];

  beforeAll(async () => {
    sentinel = await startRedisSentinel();
    connection = createRedisConnection({ topology: sentinel.topology, commandTimeoutMs: 150 });
    connection.onStatusChange((status) => statuses.push(status));
    await waitForStatus(connection, 'ready');
  });
  afterAll(async () => {
    await connection?.close();
    await sentinel?.stop();
  });

  it('writes go to the master the Sentinels name', async () => {
    const keys = scheduleKeys('sg', 'prod', 'read');
    await expect(connection.runScript(TOUCH_ALL, [keys.state], ['on-master'])).resolves.toBe(1);
    const master = await sentinel.master();
    expect(await master.command('GET', keys.state)).toBe('on-master');
  });

  it('a killed master: the connection goes down, then ready on the promoted replica, which takes the writes', async () => {
    const keys = scheduleKeys('sg', 'failover', 'read');
    const master = await sentinel.master();
    const before = statuses.length;
    await master.kill();
    await eventually(async () => {
      if (!statuses.slice(before).includes('down')) throw new Error('not down yet');
    });
    const promoted = await sentinel.waitForNewMaster(master);
    await eventually(() => connection.runScript(TOUCH_ALL, [keys.state], ['after']));
    expect(connection.status()).toBe('ready');
    expect(await promoted.command('GET', keys.state)).toBe('after');
    expect(promoted.port).not.toBe(master.port);
  });
});
