/**
 * `npm run bench:soak`: sustained mixed traffic through one gateway process, watched for leaks —
 * responses by kind, latency, the gateway's RSS, event-loop delay and open handles over time and at
 * the end, and a clean exit on SIGTERM. The bench's entry point, and the only soak module that reads
 * argv, writes files, handles signals or exits. A measurement, not a test: it exits 0 whether or
 * not the targets are met.
 */
import fs from 'node:fs';
import { optionsOrExit } from './flags';
import path from 'node:path';
import { parseSoakArgs, SOAK_USAGE, type SoakOptions } from './soak/options';
import { buildReport, formatReport, reportJson } from './soak/report';
import { runSoak } from './soak/run';
import { machineInfo } from './machine';
import { builtTrees, superviseRun } from './supervised-run';

/** Start-up, the idle scrapes, the exit and the baseline on top of the load; past this the run is stuck. */
const WATCHDOG_SLACK_SEC = 120;

function expectedSec(options: Readonly<SoakOptions>): number {
  return options.baselineSec + options.durationSec;
}

async function main(): Promise<void> {
  const options = optionsOrExit('bench:soak', parseSoakArgs(process.argv.slice(2)), SOAK_USAGE);
  if (!options) return;
  const trees = builtTrees('soak', { product: ['cli/main.js', 'sandbox/cli.js'], bench: ['soak/probe.js'] });

  const { result: run, workDir } = await superviseRun(
    'soak',
    expectedSec(options),
    WATCHDOG_SLACK_SEC,
    (workDir, group) =>
      runSoak(options, { ...trees, workDir, group, log: (line) => process.stderr.write(`  ${line}\n`) }),
  );

  const report = buildReport(run, options, machineInfo(), new Date());
  const outFile = path.resolve(options.outFile);
  fs.mkdirSync(path.dirname(outFile), { recursive: true });
  fs.writeFileSync(outFile, reportJson(report));
  if (!options.keepLogs) fs.rmSync(workDir, { recursive: true, force: true });
  process.stdout.write(
    `${formatReport(report)}\n\nsaved ${displayPath(outFile)}${options.keepLogs ? `; logs in ${workDir}` : ''}\n`,
  );
}

function displayPath(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative === '' || relative.startsWith('..') ? file : relative;
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:soak: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
