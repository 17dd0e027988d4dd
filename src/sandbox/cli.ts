/**
 * `npm run sandbox -- [flags]`: the only sandbox module that reads process.argv/env, installs
 * signal handlers or exits. Exit codes: 0 after a clean shutdown, 1 if it cannot start (e.g. the
 * port is taken), 2 for bad flags or options.
 */
import { createLogger } from '../gateway/observability/logger';
import { HELP_TEXT, parseCliArgs } from './cli-args';
import { DEMO_KEYS } from './keys';
import { SandboxOptionsError } from './options';
import { PROFILE_DEFINITIONS } from './rate-profiles';
import { seededRandom } from './random';
import { REFEREE_BASE_PATH } from './request-target';
import { startSandbox, type RunningSandbox } from './server';

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
}

export type CliResult = { kind: 'exit'; code: number } | { kind: 'running'; sandbox: RunningSandbox };

export async function runCli(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  io: CliIo,
): Promise<CliResult> {
  const parsed = parseCliArgs(argv, env);
  if (parsed.kind === 'help') {
    io.out(HELP_TEXT);
    return { kind: 'exit', code: 0 };
  }
  if (parsed.kind === 'error') {
    io.err(`strettch-sandbox: ${parsed.message}\n`);
    return { kind: 'exit', code: 2 };
  }
  const logger = createLogger({ name: 'strettch-sandbox', level: parsed.logLevel });
  const options = {
    ...parsed.options,
    logger,
    ...(parsed.seed === undefined ? {} : { random: seededRandom(parsed.seed) }),
  };
  let sandbox: RunningSandbox;
  try {
    sandbox = await startSandbox(options);
  } catch (error) {
    if (error instanceof SandboxOptionsError) {
      io.err(`strettch-sandbox: ${error.problems.join('; ')}\n`);
      return { kind: 'exit', code: 2 };
    }
    io.err(`strettch-sandbox: cannot start: ${(error as Error).message}\n`);
    return { kind: 'exit', code: 1 };
  }
  const { rateLimit } = sandbox.settings;
  const limits = Object.entries(rateLimit.limitsPerSecond)
    .map(([bucket, n]) => `${n} ${bucket === 'all' ? 'requests' : `${bucket}s`}/s`)
    .join(' + ');
  const lines = [
    `Strettch sandbox listening on ${sandbox.url}`,
    `  API:      ${sandbox.apiBaseUrl}`,
    `  Referee:  ${sandbox.url}${REFEREE_BASE_PATH}/stats`,
    `  Limits:   ${rateLimit.profile} profile, ${limits} per key, ${rateLimit.window} window` +
      (rateLimit.window === 'fixed' ? ` (phase ${rateLimit.windowPhaseMs} ms)` : '') +
      `, headers ${PROFILE_DEFINITIONS[rateLimit.profile].headers.limit}...`,
  ];
  if (parsed.demoKeys) {
    lines.push('  Demo keys (public; for the sandbox only):');
    for (const key of DEMO_KEYS.filter((d) =>
      sandbox.settings.keys.some((k) => k.key === d.key && k.team === d.team && k.role === d.role),
    )) {
      lines.push(`    ${key.key.padEnd(20)} ${key.team}  ${key.role}`);
    }
  }
  if (parsed.extraKeyLabels.length > 0) lines.push(`  Extra keys: ${parsed.extraKeyLabels.join(', ')}`);
  lines.push(
    `Try: curl -H 'Authorization: Bearer ${parsed.demoKeys ? 'sandbox-owner-key' : '<your key>'}' ${sandbox.apiBaseUrl}/computes`,
  );
  io.out(`${lines.join('\n')}\n`);
  return { kind: 'running', sandbox };
}

if (require.main === module) {
  const io: CliIo = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) };
  void runCli(process.argv.slice(2), process.env, io).then((result) => {
    if (result.kind === 'exit') {
      process.exitCode = result.code;
      return;
    }
    const shutdown = (signal: string): void => {
      io.err(`strettch-sandbox: ${signal}, closing\n`);
      result.sandbox.close().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    };
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    process.once('SIGINT', () => shutdown('SIGINT'));
  });
}
