/** `bench/policy-start.ts`'s command line: defaults, every flag, every problem at once. */
import path from 'node:path';
import { parsePolicyStartArgs, POLICY_START_USAGE } from '../../../bench/policy-start-options';
import { REPO_ROOT } from '../../../bench/repo-root';

describe('policy-start options', () => {
  it('defaults: 10 and 10,000 callers, 3 runs, the repository build', () => {
    expect(parsePolicyStartArgs([])).toEqual({
      ok: true,
      options: { help: false, callers: [10, 10_000], runs: 3, distDir: path.join(REPO_ROOT, 'dist') },
    });
  });

  it('reads every flag, in both forms; -h is --help', () => {
    expect(parsePolicyStartArgs(['--callers=100,3000', '--runs', '5', '--dist', 'build-a', '-h'])).toEqual({
      ok: true,
      options: { help: true, callers: [100, 3000], runs: 5, distDir: path.resolve('build-a') },
    });
  });

  it('reports every problem at once', () => {
    expect(parsePolicyStartArgs(['--callers', '10,x', '--runs', '0', '--colour'])).toEqual({
      ok: false,
      problems: expect.arrayContaining([
        '--callers: whole numbers from 1 to 100000',
        expect.stringContaining('--runs'),
        '--colour: unknown flag',
      ]) as unknown,
    });
  });

  it('the help names every flag', () => {
    for (const flag of ['--callers', '--runs', '--dist']) expect(POLICY_START_USAGE).toContain(flag);
  });
});
