/**
 * The callers as their own process (the bench spawns one per phase): the load generator gets an
 * event loop of its own, and the bench's process, which times the outage and the restarts and polls
 * the gateways, mostly sleeps. Protocol: load-protocol.ts.
 */
import fs from 'node:fs';
import { runLoad } from './load';
import { watchLoopDelay } from '../../src/shared/loop-delay';
import {
  LOAD_SETTINGS_ENV,
  LOAD_TOKENS_ENV,
  startedLine,
  type LoadProcessResult,
  type LoadProcessSettings,
} from './load-protocol';

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`${name} is not set`);
  return value;
}

async function main(): Promise<void> {
  const settings = JSON.parse(fs.readFileSync(required(LOAD_SETTINGS_ENV), 'utf8')) as LoadProcessSettings;
  const tokens = new Map(Object.entries(JSON.parse(required(LOAD_TOKENS_ENV)) as Record<string, string>));
  const loopDelay = watchLoopDelay();
  const load = await runLoad({
    ...settings,
    tokens,
    onStart: (startedAtMs) => process.stdout.write(`${startedLine(startedAtMs)}\n`),
  });
  const result: LoadProcessResult = { load, loopDelay: loopDelay.stop() };
  // Written whole, then renamed: the bench never reads half a file.
  fs.writeFileSync(`${settings.resultFile}.tmp`, JSON.stringify(result));
  fs.renameSync(`${settings.resultFile}.tmp`, settings.resultFile);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`load-process: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
