/** `npm run dashboard:snapshot -- [flags]`: parsed once, every problem reported. */
import { readFlags } from '../../src/shared/cli-flags';

export const CONVERT = '/usr/bin/convert';

export const SNAPSHOT_USAGE = `Usage: npm run dashboard:snapshot -- [--duration-sec <n>] [--out <file.svg>] [--no-png]

Runs the sandbox and a gateway in this process (127.0.0.1 only), drives a bounded mixed load for
--duration-sec (default 20, at most 120), scrapes the gateway's /metrics every second, and renders
the panels of deploy/grafana/dashboards/strettch-gateway.json into --out (default docs/dashboard.svg),
plus a PNG beside it when ${CONVERT} exists (unless --no-png).`;

export interface SnapshotOptions {
  durationSec: number;
  outFile: string;
  png: boolean;
  help: boolean;
}

const SNAPSHOT_FLAG_RULES: Record<string, string> = {
  '--duration-sec': 'whole seconds from 2 to 120',
  '--out': 'a file name ending in .svg',
  '--help': 'takes no value',
  '--no-png': 'takes no value',
  '-h': 'takes no value',
};

export function parseSnapshotArgs(
  argv: readonly string[],
): { ok: true; options: SnapshotOptions } | { ok: false; problems: string[] } {
  const options: SnapshotOptions = { durationSec: 20, outFile: 'docs/dashboard.svg', png: true, help: false };
  const read = readFlags(argv, {
    help: { type: 'boolean', short: 'h' },
    'no-png': { type: 'boolean' },
    'duration-sec': { type: 'string' },
    out: { type: 'string' },
  });
  const problems = read.problems.flatMap((problem) =>
    problem.kind === 'repeated'
      ? []
      : [`${problem.flag}: ${problem.kind === 'unknown' ? 'unknown option' : SNAPSHOT_FLAG_RULES[problem.flag]}`],
  );
  for (const word of read.positionals) problems.push(`${word}: unknown option`);
  const { help, 'no-png': noPng, 'duration-sec': duration, out } = read.values;
  options.help = help === true;
  options.png = noPng !== true;
  if (typeof duration === 'string') {
    options.durationSec = Number(duration);
    if (!/^[0-9]{1,3}$/.test(duration) || options.durationSec < 2 || options.durationSec > 120)
      problems.push(`--duration-sec: ${SNAPSHOT_FLAG_RULES['--duration-sec']}`);
  }
  if (typeof out === 'string') {
    if (out.endsWith('.svg')) options.outFile = out;
    else problems.push(`--out: ${SNAPSHOT_FLAG_RULES['--out']}`);
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, options };
}
