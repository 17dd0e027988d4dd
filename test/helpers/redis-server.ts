/**
 * A real `redis-server` on a free port for integration tests (never 6379), without persistence:
 * a restart forgets everything, like a crashed Redis without AOF.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../src/bench/fleet/children';
import { respCommand } from '../../src/bench/resp-command';

export { freePort, respCommand };

export interface RedisServer {
  readonly url: string;
  readonly port: number;
  /** SIGTERM, wait for exit, remove the working directory. */
  stop(): Promise<void>;
  /** SIGKILL (a crash), wait for exit; `restart()` brings it back on the same port, empty. */
  kill(): Promise<void>;
  /** Starts the server again on the same port (after `kill()`, or kills it first). */
  restart(): Promise<void>;
  /** Runs one command through a raw RESP connection and returns the reply text. */
  command(...args: string[]): Promise<string>;
}

export async function startRedisServer(): Promise<RedisServer> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sg-redis-'));
  let child: ChildProcess | undefined;

  const start = async (): Promise<void> => {
    const proc = spawn(
      'redis-server',
      ['--save', '', '--appendonly', 'no', '--port', String(port), '--bind', '127.0.0.1', '--dir', dir],
      {
        stdio: 'ignore',
      },
    );
    child = proc;
    const deadline = Date.now() + 5000;
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`redis-server exited with ${proc.exitCode} on port ${port}`);
      try {
        if ((await respCommand(port, ['PING'], 200)).startsWith('+PONG')) return;
      } catch {
        // not up yet
      }
      if (Date.now() > deadline) throw new Error(`redis-server did not answer PING on port ${port}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  const terminate = async (signal: NodeJS.Signals): Promise<void> => {
    const proc = child;
    child = undefined;
    if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      proc.once('exit', () => resolve());
      proc.kill(signal);
    });
  };

  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    async stop() {
      await terminate('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
    kill: () => terminate('SIGKILL'),
    async restart() {
      await terminate('SIGKILL');
      await start();
    },
    command: (...args) => respCommand(port, args),
  };
}
