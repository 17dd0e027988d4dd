/**
 * A real `redis-server` on a free port for the bench, without persistence: a restart forgets
 * everything, like a crashed Redis without AOF. (The same approach as test/helpers/redis-server.ts;
 * src/ does not import from test/.)
 */
import fs from 'node:fs';
import path from 'node:path';
import { freePort, sleep, type Child, type ChildGroup } from './children';
import { respCommand } from '../resp-command';

export { respCommand };

export interface BenchRedis {
  readonly url: string;
  readonly port: number;
  /** SIGKILL (a crash); `restart()` brings it back on the same port, empty. */
  kill(): Promise<void>;
  restart(): Promise<void>;
  stop(): Promise<void>;
  command(...args: string[]): Promise<string>;
  /** `INFO commandstats` as calls per command name (`evalsha`, `client|setname`, …). */
  commandCalls(): Promise<Record<string, number>>;
}

export async function startBenchRedis(group: ChildGroup, workDir: string): Promise<BenchRedis> {
  const port = await freePort();
  const dir = path.join(workDir, 'redis');
  fs.mkdirSync(dir, { recursive: true });
  let child: Child | undefined;

  const start = async (): Promise<void> => {
    const proc = group.spawn(
      'redis-server',
      'redis-server',
      ['--save', '', '--appendonly', 'no', '--port', String(port), '--bind', '127.0.0.1', '--dir', dir],
      {
        logFile: path.join(workDir, 'redis.log'),
      },
    );
    child = proc;
    const deadline = Date.now() + 5000;
    for (;;) {
      if (proc.exited()) throw new Error(`redis-server exited while starting on port ${port} (see redis.log)`);
      try {
        if ((await respCommand(port, ['PING'], 200)).startsWith('+PONG')) return;
      } catch {
        // not up yet
      }
      if (Date.now() > deadline) throw new Error(`redis-server did not answer PING on port ${port}`);
      await sleep(20);
    }
  };

  await start();
  const command = (...args: string[]) => respCommand(port, args);
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    kill: async () => {
      await child?.kill();
      child = undefined;
    },
    restart: async () => {
      await child?.kill();
      await start();
    },
    stop: async () => {
      await child?.stop();
      child = undefined;
    },
    command,
    commandCalls: async () => parseCommandStats(await command('INFO', 'commandstats')),
  };
}

/** `cmdstat_evalsha:calls=12,usec=…` lines → `{ evalsha: 12 }`. */
export function parseCommandStats(info: string): Record<string, number> {
  const calls: Record<string, number> = {};
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls[match[1]!] = Number(match[2]);
  return calls;
}
