/**
 * A real `redis-server` on a free port (never 6379), without persistence by default: a restart forgets
 * everything, like a crashed Redis without AOF. With `appendOnly` it runs as the deploy files run it
 * (AOF, `appendfsync everysec`) and a restart reads its working directory back. The one helper for the
 * integration tests and the benches (which pass their own `spawn`, so that the server dies with the bench
 * and its output lands in the bench's logs).
 *
 * `command()` talks to the server out of band (INFO, FLUSHALL, CLIENT PAUSE…) with ioredis, on a fresh
 * connection each time that hangs up right after the reply: not the product's connection (src/redis), which
 * is fail-fast, counts what it sends and says QUIT on close (a QUIT would wait out a CLIENT PAUSE).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import Redis from 'ioredis';
import { createRedisConnection, type RedisConnection } from '../../src/redis';

/** The started process, as the helper needs it; the benches' `ChildGroup` children have this shape. */
export interface RedisProcess {
  exited(): boolean;
  /** SIGTERM; resolves once the process is gone. */
  stop(): Promise<void>;
  /** SIGKILL; resolves once the process is gone. */
  kill(): Promise<void>;
}

export interface RedisServerOptions {
  /** AOF on, fsync every second (`appendonly yes`, `appendfsync everysec`), as deploy/ runs Redis. */
  appendOnly?: boolean;
  /** Starts `redis-server` with these arguments. Default: a plain child process, output discarded. */
  spawn?: (args: readonly string[]) => RedisProcess;
}

export interface RedisServer {
  readonly url: string;
  readonly port: number;
  /** SIGTERM, wait for exit, remove the working directory. */
  stop(): Promise<void>;
  /** SIGKILL (a crash), wait for exit; `restart()` brings it back on the same port (empty without AOF). */
  kill(): Promise<void>;
  /**
   * Starts the server again on the same port and working directory, after `kill()`, or after ending it
   * first: by SIGKILL (`'kill'`, the default: a crash) or SIGTERM (`'stop'`: a clean shutdown).
   */
  restart(how?: 'kill' | 'stop'): Promise<void>;
  /** One command on a fresh connection; the reply as ioredis gives it (string, number, array, null). */
  command(...args: (string | number)[]): Promise<unknown>;
  /** `INFO commandstats` as calls per command name (`evalsha`, `client|setname`, …). */
  commandCalls(): Promise<Record<string, number>>;
}

const START_TIMEOUT_MS = 5000;

export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sg-redis-'));
  const spawnServer = options.spawn ?? spawnPlain;
  const persistence = options.appendOnly
    ? ['--appendonly', 'yes', '--appendfsync', 'everysec']
    : ['--appendonly', 'no'];
  const args = ['--save', '', ...persistence, '--port', String(port), '--bind', '127.0.0.1', '--dir', dir];
  let child: RedisProcess | undefined;

  const start = async (): Promise<void> => {
    const proc = spawnServer(args);
    child = proc;
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      if (proc.exited()) throw new Error(`redis-server exited while starting on port ${port}`);
      try {
        if ((await redisCommand(port, ['PING'], 200)) === 'PONG') return;
      } catch {
        // not up yet
      }
      if (Date.now() > deadline) throw new Error(`redis-server did not answer PING on port ${port}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  const end = async (how: 'stop' | 'kill'): Promise<void> => {
    const proc = child;
    child = undefined;
    await proc?.[how]();
  };

  await start();
  const command = (...commandArgs: (string | number)[]) => redisCommand(port, commandArgs);
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    async stop() {
      await end('stop');
      rmSync(dir, { recursive: true, force: true });
    },
    kill: () => end('kill'),
    async restart(how = 'kill') {
      await end(how);
      await start();
    },
    command,
    commandCalls: async () => parseCommandStats(String(await command('INFO', 'commandstats'))),
  };
}

/** One command over a fresh connection, closed without a QUIT once the reply is in. */
export async function redisCommand(
  port: number,
  args: readonly (string | number)[],
  timeoutMs = 1000,
): Promise<unknown> {
  const [name, ...rest] = args;
  if (name === undefined) throw new Error('redisCommand: no command');
  const client = new Redis({
    host: '127.0.0.1',
    port,
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    enableReadyCheck: false,
    enableOfflineQueue: false,
    disableClientInfo: true,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return await client.call(String(name), ...rest);
  } finally {
    client.disconnect();
  }
}

/** `cmdstat_evalsha:calls=12,usec=…` lines → `{ evalsha: 12 }`. */
export function parseCommandStats(info: string): Record<string, number> {
  const calls: Record<string, number> = {};
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls[match[1]!] = Number(match[2]);
  return calls;
}

/** A free TCP port on 127.0.0.1 (bound, then released), never Redis's 6379. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = net.createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
      });
    });
    if (port !== 6379 && port !== 0) return port;
  }
  throw new Error('no free port found');
}

/** `redis-server` with these arguments as a plain child process, output discarded. */
export function spawnPlain(args: readonly string[]): RedisProcess {
  const proc = spawn('redis-server', [...args], { stdio: 'ignore' });
  const gone = (): boolean => proc.exitCode !== null || proc.signalCode !== null;
  const signal = (name: NodeJS.Signals) => async (): Promise<void> => {
    if (gone()) return;
    await new Promise<void>((resolve) => {
      proc.once('exit', () => resolve());
      proc.kill(name);
    });
  };
  return { exited: gone, stop: signal('SIGTERM'), kill: signal('SIGKILL') };
}

/** The product's connection to `url`, once ready: it has no offline queue, so commands sent before would fail. */
export async function readyConnection(url: string, commandTimeoutMs: number): Promise<RedisConnection> {
  const connection = createRedisConnection({ url, commandTimeoutMs });
  if (connection.status() !== 'ready')
    await new Promise<void>((resolve) => {
      const stop = connection.onStatusChange((status) => {
        if (status !== 'ready') return;
        stop();
        resolve();
      });
    });
  return connection;
}
