/**
 * What every multi-process bench does around its run: a work directory for logs, one group of
 * child processes that nothing outlives (exit, SIGINT/SIGTERM, or a watchdog past the expected
 * time), and the run itself, whose failure stops the children and exits 1 with the logs kept.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createChildGroup, type ChildGroup } from './fleet/children';

export interface SupervisedRun<T> {
  result: T;
  workDir: string;
}

export async function superviseRun<T>(
  name: string,
  expectedSec: number,
  watchdogSlackSec: number,
  run: (workDir: string, group: ChildGroup) => Promise<T>,
): Promise<SupervisedRun<T>> {
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), `bench-${name}-`));
  const group = createChildGroup();
  // Whatever happens, no redis-server, sandbox or gateway outlives the bench.
  process.once('exit', () => group.killAllNow());
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      process.stderr.write(`bench:${name}: ${signal}; stopping every child process (logs kept in ${workDir})\n`);
      group.killAllNow();
      process.exit(130);
    });
  }
  const watchdog = setTimeout(
    () => {
      process.stderr.write(
        `bench:${name}: still running well past its expected time; stopping (logs kept in ${workDir})\n`,
      );
      group.killAllNow();
      process.exit(1);
    },
    (expectedSec + watchdogSlackSec) * 1000,
  );
  watchdog.unref();

  process.stderr.write(`bench:${name}: about ${Math.ceil(expectedSec)} s; logs in ${workDir}\n`);
  try {
    const result = await run(workDir, group);
    return { result, workDir };
  } catch (error) {
    await group.stopAll();
    process.stderr.write(
      `bench:${name}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n(logs kept in ${workDir})\n`,
    );
    process.exit(1);
  } finally {
    await group.stopAll();
    clearTimeout(watchdog);
  }
}

/** The compiled tree the bench spawns from; exits 2 when an entry is missing (not built). */
export function builtDist(name: string, entries: readonly string[]): string {
  const distDir = path.resolve(__dirname, '..');
  for (const entry of entries) {
    if (!fs.existsSync(path.join(distDir, entry))) {
      process.stderr.write(`bench:${name}: ${distDir} has no ${entry}; run npm run build first\n`);
      process.exit(2);
    }
  }
  return distDir;
}
