/**
 * `npm run bench:fleet`: the shared rate schedule under fire — three gateway processes, one
 * redis-server, the sandbox as the judge, a naive fixed-window baseline beside it. The bench's
 * entry point, and the only fleet module that reads argv, writes the results or handles signals
 * (fleet/load-process.ts and fleet/baseline-replica.ts are its child processes' entries).
 * A measurement, not a test: it exits 0 whether or not the targets are met.
 */
import { optionsOrExit } from './flags';
import { renderChart } from './fleet/chart';
import { expectedSec, FLEET_USAGE, parseFleetArgs } from './fleet/options';
import { buildReport, formatReport } from './fleet/report';
import { runFleet } from './fleet/run';
import { machineInfo } from './machine';
import { builtTrees, saveReport, superviseRun } from './supervised-run';

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
  const saved = saveReport({
    outFile: options.outFile,
    chartFile: options.chartFile,
    json: report,
    chartSvg: renderChart(report),
    workDir,
    keepLogs: options.keepLogs,
  });
  process.stdout.write(`${formatReport(report, options)}\n\n${saved}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:fleet: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
