/**
 * `npm run bench:overhead`: what the gateway costs over a bare proxy, and a bare proxy over none.
 * The bench's entry point, and the only bench module that reads argv, writes files or exits.
 * A measurement, not a test: it exits 0 whether or not the goals are met.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { optionsOrExit } from './flags';
import os from 'node:os';
import path from 'node:path';
import { OVERHEAD_USAGE, parseOverheadArgs, type OverheadOptions } from './overhead-options';
import { buildReport, formatReport, type MachineInfo, type OverheadReport } from './overhead-report';
import { runOverhead, TARGET_NAMES } from './overhead-run';
import { formatSummary, renderOverheadChart, summarizeRuns } from './overhead-summary';

/** Start-up and closing on top of the phases; past this the run is stuck, and is stopped. */
const WATCHDOG_SLACK_MS = 60_000;
const EXIT_GRACE_MS = 5_000;

function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    node: process.version,
    platform: process.platform,
    arch: process.arch,
    cpuCount: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    totalMemoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    loadAverage: os.loadavg(),
  };
}

function expectedMs(options: Readonly<OverheadOptions>): number {
  // In-flight requests may outlast each phase by up to one request timeout.
  const phases = TARGET_NAMES.length * options.concurrencies.length;
  return (
    (phases * options.initialWarmupSec +
      options.rounds * phases * (options.slices * options.warmupSec + options.durationSec)) *
    1000
  );
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const options = optionsOrExit('bench:overhead', parseOverheadArgs(argv), OVERHEAD_USAGE);
  if (!options) return;
  if (options.runs > 1) return runSeveral(argv, options);
  const watchdog = setTimeout(
    () => {
      process.stderr.write('bench:overhead: still running well past its expected time; stopping\n');
      process.exit(1);
    },
    expectedMs(options) + WATCHDOG_SLACK_MS,
  );
  watchdog.unref();

  const machine = machineInfo();
  process.stderr.write(`bench:overhead: about ${Math.ceil(expectedMs(options) / 1000)} s of load\n`);
  const run = await runOverhead(options, (line) => process.stderr.write(`  ${line}\n`));
  const report = buildReport(run, options, machine);
  const outFile = path.resolve(options.outFile);
  fs.mkdirSync(path.dirname(outFile), { recursive: true });
  fs.writeFileSync(outFile, `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(`${formatReport(report)}\n\nsaved ${displayPath(outFile)}\n`);
  clearTimeout(watchdog);
  // Every server and socket is closed by now, so the process should end by itself; if not, say so.
  setTimeout(() => {
    process.stderr.write('bench:overhead: something was left open after the run\n');
    process.exit(1);
  }, EXIT_GRACE_MS).unref();
}

/** The file of run `i` (from 1) beside the summary: `bench/results/overhead.json` → `…/overhead-run1.json`. */
function runFile(outFile: string, i: number): string {
  return outFile.replace(/(\.json)?$/, `-run${i}.json`);
}

/**
 * Each run in a process of its own, one after the other (fresh JIT, sockets and heaps, as a deployment
 * starts), then the medians with their min–max: the figure published is never one lucky run.
 */
async function runSeveral(argv: readonly string[], options: Readonly<OverheadOptions>): Promise<void> {
  const outFile = path.resolve(options.outFile);
  const passOn = withoutFlags(argv, ['--runs', '--out']);
  const runs: Array<{ file: string; report: OverheadReport }> = [];
  for (let i = 1; i <= options.runs; i += 1) {
    const file = runFile(outFile, i);
    process.stderr.write(`bench:overhead: run ${i} of ${options.runs}\n`);
    await runChild([process.argv[1]!, ...passOn, '--runs', '1', '--out', file]);
    runs.push({ file: displayPath(file), report: JSON.parse(fs.readFileSync(file, 'utf8')) as OverheadReport });
  }
  const summary = summarizeRuns(runs);
  fs.writeFileSync(outFile, `${JSON.stringify(summary, null, 2)}\n`);
  const chartFile = outFile.replace(/(\.json)?$/, '.svg');
  fs.writeFileSync(chartFile, renderOverheadChart(summary));
  process.stdout.write(`\n${formatSummary(summary)}\n\nsaved ${displayPath(outFile)} and ${displayPath(chartFile)}\n`);
}

function withoutFlags(argv: readonly string[], flags: readonly string[]): string[] {
  const out: string[] = [];
  // A flag's value is the next argument or follows `=` (bench/flags.ts).
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i]!;
    if (flags.includes(arg)) i += 1;
    else if (!flags.some((flag) => arg.startsWith(`${flag}=`))) out.push(arg);
  }
  return out;
}

function runChild(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: 'inherit' });
    child.on('error', reject);
    child.on('exit', (code, signal) =>
      code === 0 ? resolve() : reject(new Error(`a run ended with ${signal ?? `exit code ${code}`}`)),
    );
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:overhead: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});

function displayPath(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative === '' || relative.startsWith('..') ? file : relative;
}
