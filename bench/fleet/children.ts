/**
 * Every process the bench starts (redis-server, the sandbox, gateways, baseline replicas, the load
 * generator, CPU hogs) goes through one `ChildGroup`, so that nothing outlives the run: `stopAll()`
 * on the normal path, `killAllNow()` from signal and exit handlers.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';

export interface Child {
  readonly name: string;
  readonly pid: number;
  /** Where its stdout and stderr go. */
  readonly logFile: string;
  exited(): boolean;
  /** Resolves once the process is gone: its exit code, or null when a signal ended it. */
  exitCode(): Promise<number | null>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL (a crash); resolves once the process is gone. */
  kill(): Promise<void>;
}

export interface SpawnOptions {
  env?: Record<string, string>;
  /** stdout and stderr are appended here (kept for a post-mortem, never parsed). */
  logFile: string;
}

export interface ChildGroup {
  spawn(name: string, command: string, args: readonly string[], options: SpawnOptions): Child;
  stopAll(): Promise<void>;
  /** Synchronous last resort (signal or exit handlers): SIGKILL whatever is still running. */
  killAllNow(): void;
}

const STOP_GRACE_MS = 3000;

export function createChildGroup(): ChildGroup {
  const running = new Set<ChildProcess>();

  const waitForExit = (proc: ChildProcess): Promise<void> =>
    proc.exitCode !== null || proc.signalCode !== null
      ? Promise.resolve()
      : new Promise((resolve) => proc.once('exit', () => resolve()));

  return {
    spawn(name, command, args, options) {
      const log = fs.openSync(options.logFile, 'a');
      const proc = spawn(command, [...args], {
        // Only what the child needs: PATH and HOME for the runtime, plus the given variables.
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...options.env },
        stdio: ['ignore', log, log],
      });
      fs.closeSync(log);
      if (proc.pid === undefined) throw new Error(`${name}: could not start ${command}`);
      running.add(proc);
      proc.once('exit', () => running.delete(proc));
      const pid = proc.pid;
      const signalAndWait = async (signal: NodeJS.Signals, graceMs: number): Promise<void> => {
        if (proc.exitCode !== null || proc.signalCode !== null) return;
        const exited = waitForExit(proc);
        proc.kill(signal);
        const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      };
      return {
        name,
        pid,
        logFile: options.logFile,
        exited: () => proc.exitCode !== null || proc.signalCode !== null,
        exitCode: async () => {
          await waitForExit(proc);
          return proc.exitCode;
        },
        stop: (graceMs = STOP_GRACE_MS) => signalAndWait('SIGTERM', graceMs),
        kill: () => signalAndWait('SIGKILL', 0),
      };
    },
    async stopAll() {
      await Promise.all(
        [...running].map(async (proc) => {
          const exited = waitForExit(proc);
          proc.kill('SIGTERM');
          const timer = setTimeout(() => proc.kill('SIGKILL'), STOP_GRACE_MS);
          await exited;
          clearTimeout(timer);
        }),
      );
    },
    killAllNow() {
      for (const proc of running) proc.kill('SIGKILL');
    },
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Waits for a line of the child's log to match (children listen on port 0 and print their URL, so
 * no port is picked here and lost to another process before the child binds it).
 */
export async function waitForLogLine(child: Child, pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const match = pattern.exec(fs.readFileSync(child.logFile, 'utf8'));
    if (match) return match;
    if (child.exited()) throw new Error(`${child.name} exited while starting: ${lastLine(child.logFile)}`);
    if (Date.now() > deadline)
      throw new Error(`${child.name} did not start within ${timeoutMs} ms (see ${child.logFile})`);
    await sleep(25);
  }
}

function lastLine(file: string): string {
  const lines = fs.readFileSync(file, 'utf8').trim().split('\n');
  return lines[lines.length - 1]?.slice(0, 300) ?? '';
}

/** Polls `probe` until it answers true, or throws after `timeoutMs` naming `what`. */
export async function waitUntil(
  what: string,
  timeoutMs: number,
  probe: () => Promise<boolean>,
  child?: Child,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child?.exited()) throw new Error(`${child.name} exited while starting: ${lastLine(child.logFile)}`);
    try {
      if (await probe()) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`${what} not ready within ${timeoutMs} ms`);
    await sleep(25);
  }
}
