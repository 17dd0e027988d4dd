/**
 * The `strettch-gateway` command (bin/strettch-gateway.js): picks a command and runs it. An entry,
 * so it alone (with main.ts and token.ts) reads argv and env, and sets the exit code.
 */
import fs from 'node:fs';
import { parseCommandLine, type CommandName } from './args';
import { CHECK_CONFIG_HELP, runCheckConfig } from './check-config';
import { EXPLAIN_HELP, runExplain } from './explain';
import type { CliIo } from './io';
import { runToken, tokenHelp } from './token';
import { packageVersion } from './version';
import { BIN_NAME, BIN_START_NAMES, BIN_TOKEN_USAGE, BIN_USAGE } from './usage';

const io: CliIo = {
  readFile: (file) => fs.readFileSync(file, 'utf8'),
  readEnv: (name) => process.env[name],
  settingsEnv: process.env,
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

// main.ts loads the server stack (express, Redis, the sandbox); only `start` pays for it.
const loadStart = () => import('./main');
// ledger.ts loads Redis and the schedule; only `ledger` pays for them.
const loadLedger = () => import('./ledger');

async function helpFor(command: CommandName): Promise<string> {
  switch (command) {
    case 'start':
      return (await loadStart()).startHelp(BIN_START_NAMES);
    case 'check-config':
      return CHECK_CONFIG_HELP;
    case 'token':
      return tokenHelp(BIN_TOKEN_USAGE);
    case 'explain':
      return EXPLAIN_HELP;
    case 'ledger':
      return (await loadLedger()).LEDGER_HELP;
  }
}

/** Sets `process.exitCode` rather than exiting, so that output piped to another process is not cut. */
async function run(argv: readonly string[]): Promise<void> {
  const line = parseCommandLine(argv);
  switch (line.kind) {
    case 'usage-error':
      io.stderr(`${BIN_NAME}: ${line.problem}\n${BIN_USAGE}\n`);
      process.exitCode = 2;
      return;
    case 'help':
      io.stdout(`${line.command ? await helpFor(line.command) : BIN_USAGE}\n`);
      return;
    case 'version':
      io.stdout(`${packageVersion()}\n`);
      return;
    case 'run':
      break;
  }
  switch (line.command) {
    case 'start':
      // Runs until SIGTERM or SIGINT, and exits by itself.
      (await loadStart()).runStart(line.argv, BIN_START_NAMES);
      return;
    case 'token':
      await runToken(line.argv, BIN_TOKEN_USAGE);
      return;
    case 'check-config':
      process.exitCode = runCheckConfig(line.argv, io);
      return;
    case 'explain':
      process.exitCode = runExplain(line.argv, io);
      return;
    case 'ledger':
      process.exitCode = await (await loadLedger()).runLedger(line.argv, io);
      return;
  }
}

run(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`${BIN_NAME}: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 2;
});
