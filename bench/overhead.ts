/**
 * `npm run bench:overhead`: what the gateway costs over a bare proxy, and a bare proxy over none.
 * The bench's entry point, and the only bench module that reads argv, writes files or exits.
 * A measurement, not a test: it exits 0 whether or not the goals are met.
 */
import fs from 'node:fs';
import { optionsOrExit } from './flags';
import os from 'node:os';
import path from 'node:path';
import { OVERHEAD_USAGE, parseOverheadArgs, type OverheadOptions } from './overhead-options';
import { buildReport, formatReport, type MachineInfo } from './overhead-report';
import { runOverhead, TARGET_NAMES } from './overhead-run';

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
    (phases * options.initialWarmupSec + options.rounds * phases * (options.warmupSec + options.durationSec)) * 1000
  );
}

async function main(): Promise<void> {
  const options = optionsOrExit('bench:overhead', parseOverheadArgs(process.argv.slice(2)), OVERHEAD_USAGE);
  if (!options) return;
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

main().catch((error: unknown) => {
  process.stderr.write(`bench:overhead: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});

function displayPath(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative === '' || relative.startsWith('..') ? file : relative;
}
