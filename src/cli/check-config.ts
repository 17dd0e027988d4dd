/**
 * `strettch-gateway check-config <file>`: the startup check without starting. Every problem with
 * its file, line and path (exit 1), or a summary of what the policy grants (exit 0). By default
 * the secrets are resolved exactly as `start` would; `--no-secrets` checks shape and references
 * only, for CI where the secrets are absent. Then the gateway's settings (environment), checked and
 * listed with where each came from. Secret values are never printed either way.
 */
import { formatProblem, loadPolicyFile } from '../gateway/policy';
import { parseCheckConfigArgs } from './args';
import type { CliIo } from './io';
import { loadPolicyFileWithoutSecrets } from './policy-without-secrets';
import { summarizePolicy } from './policy-summary';
import { describeSettings, listSettings, settingsFor } from './settings-summary';
import { sharedStateProblems } from '../gateway/shared-state-check';

export const CHECK_CONFIG_USAGE_LINE = 'strettch-gateway check-config <policy.yaml> [--no-secrets]';

export const CHECK_CONFIG_HELP = `Usage: ${CHECK_CONFIG_USAGE_LINE}

Checks a policy file as start would, without starting: prints every problem as
file:line: path: message and exits 1, or prints a summary of its accounts (with limits and
quotas), callers (with their constraints, ownership, quotas and shadow mode) and scopes and
exits 0, followed by the settings start would run with in this environment (each variable
with its value and whether it came from the environment or a default). Like start, it refuses
several replicas, or ownership and quotas, without REDIS_URL (unless GATEWAY_SINGLE_REPLICA=1),
and weak or published HS256 secrets. Secret values are never printed.

  --no-secrets   check shape and references only: the policy's environment variables and secret
                 files are not read, nor key files (for CI, where the secrets are absent)

Exit code: 0 valid, 1 problems found, 2 usage error.`;

export function runCheckConfig(argv: readonly string[], io: CliIo): number {
  const parsed = parseCheckConfigArgs(argv);
  if (!parsed.ok) {
    io.stderr(`${parsed.problems.map((problem) => `check-config: ${problem}\n`).join('')}${CHECK_CONFIG_HELP}\n`);
    return 2;
  }
  const { configPath = '', resolveSecrets, help } = parsed.settings;
  if (help) {
    io.stdout(`${CHECK_CONFIG_HELP}\n`);
    return 0;
  }
  const loaded = resolveSecrets
    ? loadPolicyFile(configPath, { readEnv: io.readEnv, readFile: io.readFile })
    : loadPolicyFileWithoutSecrets(configPath, io.readFile);
  if (!loaded.ok) {
    io.stderr(loaded.errors.map((problem) => `${formatProblem(problem, configPath)}\n`).join(''));
    io.stderr(`check-config: ${loaded.errors.length} problem(s) in ${configPath}\n`);
    return 1;
  }
  const settings = settingsFor(io);
  if (settings && !settings.ok) {
    io.stderr(settings.problems.map((problem) => `check-config: ${problem}\n`).join(''));
    io.stderr(`check-config: ${settings.problems.length} problem(s) in the settings (environment)\n`);
    return 1;
  }
  const unshared = settings ? sharedStateProblems(settings.settings, loaded.policy) : [];
  if (unshared.length > 0) {
    io.stderr(unshared.map((problem) => `check-config: ${problem.path}: ${problem.message}\n`).join(''));
    io.stderr(`check-config: ${unshared.length} problem(s) without shared state (REDIS_URL)\n`);
    return 1;
  }
  io.stdout(summarizePolicy(loaded.policy, { secretsResolved: resolveSecrets }));
  if (settings) io.stdout(describeSettings(listSettings(settings)));
  return 0;
}
