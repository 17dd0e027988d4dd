/** `bench/policy-start.ts`'s command line: caller counts, runs, and which compiled product to measure. */
import path from 'node:path';
import { readFlags } from './flags';
import { REPO_ROOT } from './repo-root';

export interface PolicyStartOptions {
  help: boolean;
  callers: number[];
  runs: number;
  distDir: string;
}

export const POLICY_START_USAGE = `Usage: npm run bench:policy-start -- [options]

  --callers <list>  comma-separated caller counts (default 10,10000), over 100 accounts
  --runs <n>        fresh processes per count and kind (default 3)
  --dist <dir>      the compiled product to measure (default dist)`;

export function parsePolicyStartArgs(
  argv: readonly string[],
): { ok: true; options: PolicyStartOptions } | { ok: false; problems: string[] } {
  const options: PolicyStartOptions = {
    help: false,
    callers: [10, 10_000],
    runs: 3,
    distDir: path.join(REPO_ROOT, 'dist'),
  };
  const problems: string[] = [];
  readFlags(
    argv,
    {
      switches: { '--help': () => (options.help = true) },
      numbers: { '--runs': { key: 'runs', min: 1, max: 50, integer: true } },
      texts: ['--callers', '--dist'],
    },
    (key, value) => (options[key] = value),
    (flag, value) => {
      if (flag === '--dist') options.distDir = path.resolve(value);
      else {
        const list = value.split(',').map(Number);
        if (list.some((n) => !Number.isInteger(n) || n < 1 || n > 100_000))
          problems.push(`--callers: whole numbers from 1 to 100000`);
        else options.callers = list;
      }
    },
    problems,
  );
  return problems.length > 0 ? { ok: false, problems } : { ok: true, options };
}
