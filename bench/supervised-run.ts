/**
 * What every multi-process bench does around its run: a work directory for logs, one group of
 * child processes that nothing outlives (exit, SIGINT/SIGTERM, or a watchdog past the expected
 * time), and the run itself, whose failure stops the children and exits 1 with the logs kept.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createChildGroup, type ChildGroup } from './fleet/children';
import { REPO_ROOT } from './repo-root';

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

/**
 * The compiled trees a bench spawns from: the product (`dist/`, what ships: the gateway, the sandbox) and the
 * benches' own (`dist-bench/bench/`: load processes, baseline replicas, the soak probe).
 */
export interface BuiltTrees {
  distDir: string;
  benchDir: string;
}

/** Exits 2 when an entry is missing (not built). */
export function builtTrees(
  name: string,
  entries: { product: readonly string[]; bench: readonly string[] },
): BuiltTrees {
  // This module is compiled into dist-bench/bench/, beside the entries the bench spawns.
  const trees: BuiltTrees = { distDir: path.join(REPO_ROOT, 'dist'), benchDir: __dirname };
  const wanted = [
    ...entries.product.map((entry) => [trees.distDir, entry, 'npm run build'] as const),
    ...entries.bench.map((entry) => [trees.benchDir, entry, 'npm run build:bench'] as const),
  ];
  for (const [dir, entry, build] of wanted) {
    if (!fs.existsSync(path.join(dir, entry))) {
      process.stderr.write(`bench:${name}: ${dir} has no ${entry}; run ${build} first\n`);
      process.exit(2);
    }
  }
  return trees;
}

/** Where a run's report goes: its JSON, its chart, its log directory unless kept. */
export interface SavedReport {
  outFile: string;
  chartFile: string;
  json: unknown;
  chartSvg: string;
  workDir: string;
  keepLogs: boolean;
}

/** Writes the report's JSON and chart, drops the logs unless kept, and says where everything is. */
export function saveReport(saved: SavedReport): string {
  const outFile = path.resolve(saved.outFile);
  const chartFile = path.resolve(saved.chartFile);
  fs.mkdirSync(path.dirname(outFile), { recursive: true });
  fs.mkdirSync(path.dirname(chartFile), { recursive: true });
  fs.writeFileSync(outFile, `${JSON.stringify(saved.json, null, 2)}\n`);
  fs.writeFileSync(chartFile, saved.chartSvg);
  if (!saved.keepLogs) fs.rmSync(saved.workDir, { recursive: true, force: true });
  const logs = saved.keepLogs ? `; logs in ${saved.workDir}` : '';
  return `saved ${displayPath(outFile)} and ${displayPath(chartFile)}${logs}`;
}

function displayPath(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative === '' || relative.startsWith('..') ? file : relative;
}
