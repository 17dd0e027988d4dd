/**
 * `npm run bench:fleet`: the shared rate schedule under fire — three gateway processes, one
 * redis-server, the sandbox as the judge, a naive fixed-window baseline beside it. The bench's
 * entry point, and the only fleet module that reads argv, writes the results or handles signals
 * (fleet/load-process.ts and fleet/baseline-replica.ts are its child processes' entries).
 * A measurement, not a test: it exits 0 whether or not the targets are met.
 */
import fs from 'node:fs';
import { optionsOrExit } from './flags';
import path from 'node:path';
import { renderChart } from './fleet/chart';
import { expectedSec, FLEET_USAGE, parseFleetArgs } from './fleet/options';
import { buildReport, formatReport } from './fleet/report';
import { runFleet } from './fleet/run';
import { machineInfo } from './machine';
import { builtTrees, superviseRun } from './supervised-run';

/** Past the expected time plus this, the run is stuck, and is stopped. */
const WATCHDOG_SLACK_SEC = 120;

async function main(): Promise<void> {
  const options = optionsOrExit('bench:fleet', parseFleetArgs(process.argv.slice(2)), FLEET_USAGE);
  if (!options) return;
  const trees = builtTrees('fleet', {
    product: ['cli/main.js', 'sandbox/cli.js'],
    bench: ['fleet/load-process.js', 'fleet/baseline-replica.js'],
  });

  const { result, workDir } = await superviseRun('fleet', expectedSec(options), WATCHDOG_SLACK_SEC, (workDir, group) =>
    runFleet(options, { ...trees, workDir, group, log: (line) => process.stderr.write(`  ${line}\n`) }),
  );

  const report = buildReport(result, options, machineInfo(), new Date());
  const outFile = path.resolve(options.outFile);
  const chartFile = path.resolve(options.chartFile);
  fs.mkdirSync(path.dirname(outFile), { recursive: true });
  fs.mkdirSync(path.dirname(chartFile), { recursive: true });
  fs.writeFileSync(outFile, `${JSON.stringify(report, null, 2)}\n`);
  fs.writeFileSync(chartFile, renderChart(report));
  if (!options.keepLogs) fs.rmSync(workDir, { recursive: true, force: true });
  process.stdout.write(
    `${formatReport(report, options)}\n\nsaved ${displayPath(outFile)} and ${displayPath(chartFile)}${options.keepLogs ? `; logs in ${workDir}` : ''}\n`,
  );
}

function displayPath(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative === '' || relative.startsWith('..') ? file : relative;
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:fleet: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
