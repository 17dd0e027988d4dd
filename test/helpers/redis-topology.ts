/**
 * Real Redis topologies for the integration tests and `bench:fleet --redis`, built from the local
 * `redis-server` in a temporary directory, on free ports, without persistence:
 *
 * - a Cluster of 3 masters with one replica each (`--cluster-enabled yes`, joined with
 *   `redis-cli --cluster create … --cluster-replicas 1`), node timeout 1 s;
 * - a Sentinel setup: 1 master, 1 replica, 3 Sentinels (quorum 2), `down-after-milliseconds` 1000,
 *   so a killed master is replaced within a few seconds.
 *
 * Each knows which process is the master right now (`masterOf`, `master`), can kill it (SIGKILL, a
 * crash) and wait until the topology has promoted a replica. Out-of-band commands go through
 * `redisCommand` of `redis-server.ts`: a fresh connection per command, never the product's client.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { RedisTopology } from '../../src/redis';
import { freePort, redisCommand, spawnPlain, type RedisProcess } from './redis-server';

const START_TIMEOUT_MS = 10_000;
/** Up to the promotion of a replica: down-after / node timeout (1 s) + election, with room for a busy machine. */
const FAILOVER_TIMEOUT_MS = 30_000;

export interface RedisNode {
  readonly port: number;
  /** Whether this test killed it. */
  readonly killed: boolean;
  kill(): Promise<void>;
  /** After `kill()`: the same process arguments again (same port, same cluster config file); resolves on PING. */
  revive(): Promise<void>;
  command(...args: (string | number)[]): Promise<unknown>;
}

export interface SpawnOptions {
  /** Starts `redis-server` with these arguments (the benches pass theirs, so processes die with them). */
  spawn?: (args: readonly string[]) => RedisProcess;
}

interface StartedNode extends RedisNode {
  stop(): Promise<void>;
}

async function startNode(
  port: number,
  args: readonly string[],
  spawnServer: (args: readonly string[]) => RedisProcess,
): Promise<StartedNode> {
  const launch = async (): Promise<RedisProcess> => {
    const proc = spawnServer(args);
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      if (proc.exited()) throw new Error(`redis-server exited while starting on port ${port}: ${args.join(' ')}`);
      try {
        if ((await redisCommand(port, ['PING'], 300)) === 'PONG') return proc;
      } catch {
        // not up yet
      }
      if (Date.now() > deadline) {
        await proc.kill();
        throw new Error(`redis-server did not answer PING on port ${port}`);
      }
      await sleep(20);
    }
  };
  let proc = await launch();
  let killed = false;
  return {
    port,
    get killed() {
      return killed;
    },
    async kill() {
      killed = true;
      await proc.kill();
    },
    async revive() {
      if (!killed) throw new Error(`redis-server on port ${port} is running`);
      proc = await launch();
      killed = false;
    },
    stop: () => proc.stop(),
    command: (...commandArgs) => redisCommand(port, commandArgs),
  };
}

const dataNodeArgs = (port: number, dir: string): string[] => [
  '--save',
  '',
  '--appendonly',
  'no',
  '--port',
  String(port),
  '--bind',
  '127.0.0.1',
  '--dir',
  dir,
  // A replica's first sync starts at once (default: 5 s later); a replica that never synced is not promoted.
  '--repl-diskless-sync-delay',
  '0',
];

/** Whether a replica has completed its sync with its master: only then can it be promoted. */
export async function replicaSynced(node: RedisNode): Promise<boolean> {
  return String(await node.command('INFO', 'replication')).includes('master_link_status:up');
}

// ---- Cluster ------------------------------------------------------------------------------------

export interface RedisClusterTopology {
  /** Seeds: every node, as `REDIS_CLUSTER_NODES` would list them. */
  readonly topology: Extract<RedisTopology, { kind: 'cluster' }>;
  /** `127.0.0.1:port,…`, the value of REDIS_CLUSTER_NODES. */
  readonly seeds: string;
  readonly nodes: readonly RedisNode[];
  /** A live node, for CLUSTER KEYSLOT, CLUSTER INFO… */
  anyNode(): RedisNode;
  /** The node serving the key's slot as master now. */
  masterOf(key: string): Promise<RedisNode>;
  /** Resolves once a live master serves `key`'s slot and the cluster says `cluster_state:ok`. */
  waitForMasterOf(key: string, except?: RedisNode): Promise<RedisNode>;
  /** Revives a killed node: it rejoins (its nodes.conf kept) as a replica; resolves once it has synced. */
  rejoin(node: RedisNode): Promise<void>;
  stop(): Promise<void>;
}

export async function startRedisCluster(options: SpawnOptions = {}): Promise<RedisClusterTopology> {
  const spawnServer = options.spawn ?? spawnPlain;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sg-redis-cluster-'));
  const nodes: StartedNode[] = [];
  const stopAll = async (): Promise<void> => {
    await Promise.all(nodes.map((n) => n.stop()));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < 6; i += 1) {
      const port = await freePort();
      // The cluster bus gets a free port of its own: port + 10000 may be taken or past 65535.
      const busPort = await freePort();
      const args = [
        ...dataNodeArgs(port, dir),
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        `nodes-${port}.conf`,
        '--cluster-port',
        String(busPort),
        '--cluster-node-timeout',
        '1000',
      ];
      nodes.push(await startNode(port, args, spawnServer));
    }
    const addresses = nodes.map((n) => `127.0.0.1:${n.port}`);
    await run('redis-cli', ['--cluster', 'create', ...addresses, '--cluster-replicas', '1', '--cluster-yes']);
    await waitFor('the cluster to be ok with 3 replicas', async () => {
      for (const node of nodes) {
        const info = String(await node.command('CLUSTER', 'INFO'));
        if (!info.includes('cluster_state:ok')) return false;
      }
      const described = String(await nodes[0]!.command('CLUSTER', 'NODES'));
      const replicaPorts = described
        .trim()
        .split('\n')
        .filter((l) => / slave /.test(l) && / connected/.test(l))
        .map((l) => Number(/:(\d+)@/.exec(l)?.[1]));
      if (replicaPorts.length !== 3) return false;
      const replicas = nodes.filter((n) => replicaPorts.includes(n.port));
      return (await Promise.all(replicas.map(replicaSynced))).every(Boolean);
    });
  } catch (error) {
    await stopAll();
    throw error;
  }

  const live = (): StartedNode[] => nodes.filter((n) => !n.killed);
  const anyNode = (): RedisNode => live()[0]!;
  const masterOf = async (key: string): Promise<RedisNode> => {
    const slot = Number(await anyNode().command('CLUSTER', 'KEYSLOT', key));
    const ranges = (await anyNode().command('CLUSTER', 'SLOTS')) as Array<[number, number, [string, number]]>;
    const range = ranges.find(([from, to]) => slot >= from && slot <= to);
    if (!range) throw new Error(`no node serves slot ${slot}`);
    const node = nodes.find((n) => n.port === Number(range[2][1]));
    if (!node) throw new Error(`slot ${slot} is served by an unknown port ${range[2][1]}`);
    return node;
  };
  const seeds = nodes.map((n) => `127.0.0.1:${n.port}`).join(',');
  return {
    topology: { kind: 'cluster', nodes: nodes.map((n) => ({ host: '127.0.0.1', port: n.port })) },
    seeds,
    nodes,
    anyNode,
    masterOf,
    async waitForMasterOf(key, except) {
      let found: RedisNode | undefined;
      await waitFor(`a new master for ${key}`, async () => {
        const info = String(await anyNode().command('CLUSTER', 'INFO'));
        if (!info.includes('cluster_state:ok')) return false;
        const master = await masterOf(key);
        if (master.killed || master === except) return false;
        found = master;
        return true;
      });
      return found!;
    },
    async rejoin(node) {
      await node.revive();
      await waitFor(`port ${node.port} to rejoin as a synced replica`, () => replicaSynced(node));
    },
    stop: stopAll,
  };
}

// ---- Sentinel -----------------------------------------------------------------------------------

export const SENTINEL_MASTER_NAME = 'sg-master';

export interface RedisSentinelTopology {
  readonly topology: Extract<RedisTopology, { kind: 'sentinel' }>;
  /** `127.0.0.1:port,…`, the value of REDIS_SENTINELS. */
  readonly sentinelAddresses: string;
  readonly dataNodes: readonly RedisNode[];
  readonly sentinels: readonly RedisNode[];
  /** The data node the Sentinels name as master now. */
  master(): Promise<RedisNode>;
  /** Resolves once the Sentinels name a live master other than `except`, and it says `role:master`. */
  waitForNewMaster(except: RedisNode): Promise<RedisNode>;
  /** Revives a killed data node: the Sentinels turn it into a replica; resolves once it has synced. */
  rejoin(node: RedisNode): Promise<void>;
  stop(): Promise<void>;
}

export async function startRedisSentinel(options: SpawnOptions = {}): Promise<RedisSentinelTopology> {
  const spawnServer = options.spawn ?? spawnPlain;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sg-redis-sentinel-'));
  const dataNodes: StartedNode[] = [];
  const sentinels: StartedNode[] = [];
  const stopAll = async (): Promise<void> => {
    await Promise.all([...sentinels, ...dataNodes].map((n) => n.stop()));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const masterPort = await freePort();
    dataNodes.push(await startNode(masterPort, dataNodeArgs(masterPort, dir), spawnServer));
    const replicaPort = await freePort();
    const replicaArgs = [...dataNodeArgs(replicaPort, dir), '--replicaof', '127.0.0.1', String(masterPort)];
    dataNodes.push(await startNode(replicaPort, replicaArgs, spawnServer));
    for (let i = 0; i < 3; i += 1) {
      const port = await freePort();
      const conf = path.join(dir, `sentinel-${port}.conf`);
      // Sentinel rewrites its own file (discovered replicas and peers), so each gets one.
      writeFileSync(
        conf,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          `dir ${dir}`,
          `sentinel monitor ${SENTINEL_MASTER_NAME} 127.0.0.1 ${masterPort} 2`,
          `sentinel down-after-milliseconds ${SENTINEL_MASTER_NAME} 1000`,
          `sentinel failover-timeout ${SENTINEL_MASTER_NAME} 3000`,
          `sentinel parallel-syncs ${SENTINEL_MASTER_NAME} 1`,
          '',
        ].join('\n'),
      );
      sentinels.push(await startNode(port, [conf, '--sentinel'], spawnServer));
    }
    // Sentinels find the replica and each other through the master (hello messages every 2 s).
    await waitFor('the Sentinels to know the replica and each other', async () => {
      if (!(await replicaSynced(dataNodes[1]!))) return false;
      for (const sentinel of sentinels) {
        const fields = (await sentinel.command('SENTINEL', 'MASTER', SENTINEL_MASTER_NAME)) as string[];
        const field = (name: string) => fields[fields.indexOf(name) + 1];
        if (field('num-slaves') !== '1' || field('num-other-sentinels') !== '2') return false;
      }
      return true;
    });
  } catch (error) {
    await stopAll();
    throw error;
  }

  const master = async (): Promise<RedisNode> => {
    for (const sentinel of sentinels.filter((s) => !s.killed)) {
      try {
        const reply = (await sentinel.command('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', SENTINEL_MASTER_NAME)) as string[];
        const node = dataNodes.find((n) => n.port === Number(reply[1]));
        if (node) return node;
      } catch {
        // ask the next one
      }
    }
    throw new Error('no Sentinel names a known master');
  };
  const sentinelAddresses = sentinels.map((s) => `127.0.0.1:${s.port}`).join(',');
  return {
    topology: {
      kind: 'sentinel',
      sentinels: sentinels.map((s) => ({ host: '127.0.0.1', port: s.port })),
      masterName: SENTINEL_MASTER_NAME,
    },
    sentinelAddresses,
    dataNodes,
    sentinels,
    master,
    async waitForNewMaster(except) {
      let found: RedisNode | undefined;
      await waitFor('the Sentinels to promote the replica', async () => {
        const next = await master();
        if (next === except || next.killed) return false;
        if (!String(await next.command('INFO', 'replication')).includes('role:master')) return false;
        found = next;
        return true;
      });
      return found!;
    },
    async rejoin(node) {
      await node.revive();
      await waitFor(`port ${node.port} to rejoin as a synced replica`, () => replicaSynced(node));
    },
    stop: stopAll,
  };
}

// ---- plumbing -----------------------------------------------------------------------------------

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = FAILOVER_TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      if (await check()) return;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
    await sleep(50);
  }
}

function run(command: string, args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${command} ${args.join(' ')} exited ${code}: ${output.slice(-2000)}`)),
    );
  });
}
