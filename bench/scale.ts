/**
 * `npm run bench:scale`: what the gateways cost as callers and accounts grow — three gateway
 * processes, one redis-server, the sandbox, a grid of callers × accounts. The bench's entry point,
 * and the only scale module that reads argv, writes the results or handles signals
 * (scale/load-process.ts is its child processes' entry).
 * A measurement, not a test: it exits 0 whether or not the targets are met.
 */
import { optionsOrExit } from './flags';
import { machineInfo } from './machine';
import { renderChart } from './scale/chart';
import { expectedSec, parseScaleArgs, SCALE_USAGE } from './scale/options';
import { buildReport, formatReport } from './scale/report';
import { runScale } from './scale/run';
import { builtTrees, saveReport, superviseRun } from './supervised-run';

/** Past the expected time plus this, the run is stuck, and is stopped. */
const WATCHDOG_SLACK_SEC = 120;

async function main(): Promise<void> {
  const options = optionsOrExit('bench:scale', parseScaleArgs(process.argv.slice(2)), SCALE_USAGE);
  if (!options) return;
  const trees = builtTrees('scale', {
    product: ['cli/main.js', 'sandbox/cli.js'],
    bench: ['scale/load-process.js'],
  });
  const startedAt = new Date();
  const { result, workDir } = await superviseRun('scale', expectedSec(options), WATCHDOG_SLACK_SEC, (workDir, group) =>
    runScale(options, { ...trees, workDir, group, log: (line) => process.stderr.write(`  ${line}\n`) }),
  );

  const report = buildReport(result, options, machineInfo(), startedAt);
  const saved = saveReport({
    outFile: options.outFile,
    chartFile: options.chartFile,
    json: report,
    chartSvg: renderChart(report),
    workDir,
    keepLogs: options.keepLogs,
  });
  process.stdout.write(`${formatReport(report)}\n\n${saved}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:scale: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
