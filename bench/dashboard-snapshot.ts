/**
 * `npm run dashboard:snapshot`: the Grafana dashboard's panels, rendered from a real run into one
 * SVG (docs/dashboard.svg, and a PNG beside it when ImageMagick's /usr/bin/convert is present).
 *
 * The sandbox and one gateway (memory schedule) run in this process on 127.0.0.1; a bounded,
 * open-loop mixed load drives them for ~20 s while the gateway's admin `/metrics` is scraped every
 * second. Each panel's PromQL is read from deploy/grafana/dashboards/strettch-gateway.json and
 * evaluated over those scrapes by a small evaluator that knows only the forms the dashboard uses
 * and refuses any other, so the picture shows exactly the dashboard's queries.
 */
import { execFileSync } from 'node:child_process';
import { optionsOrExit } from './flags';
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './repo-root';
import { CONVERT, parseSnapshotArgs, SNAPSHOT_USAGE } from './dashboard/options';
import { DASHBOARD_FILE, readDashboard } from './dashboard/panels';
import { parseQuery } from './dashboard/promql';
import { renderDashboardSvg } from './dashboard/render';
import { runSnapshotLoad } from './dashboard/run';

async function main(): Promise<void> {
  const options = optionsOrExit('dashboard:snapshot', parseSnapshotArgs(process.argv.slice(2)), SNAPSHOT_USAGE);
  if (!options) return;
  const dashboard = readDashboard(DASHBOARD_FILE);
  // Fail before the run, not after it, on a query the evaluator cannot read.
  for (const panel of dashboard.panels) for (const target of panel.targets) parseQuery(target.expr);
  process.stderr.write(`dashboard:snapshot: ${options.durationSec} s of load on 127.0.0.1\n`);
  const run = await runSnapshotLoad(options.durationSec);
  const svg = renderDashboardSvg(dashboard, run, path.relative(REPO_ROOT, DASHBOARD_FILE));
  const outFile = path.resolve(options.outFile);
  fs.mkdirSync(path.dirname(outFile), { recursive: true });
  fs.writeFileSync(outFile, svg);
  process.stdout.write(`saved ${path.relative(process.cwd(), outFile)}\n`);
  if (options.png && fs.existsSync(CONVERT)) {
    const pngFile = outFile.replace(/\.svg$/, '.png');
    execFileSync(CONVERT, ['-density', '96', '-background', 'white', outFile, pngFile], { stdio: 'inherit' });
    process.stdout.write(`saved ${path.relative(process.cwd(), pngFile)}\n`);
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(
      `dashboard:snapshot: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  });
}
