/** The bench's side of the load process: spawn it through the ChildGroup, learn when it started, read its result. */
import fs from 'node:fs';
import path from 'node:path';
import { waitForLogLine, type ChildGroup } from './children';
import type { LoadSettings } from './load';
import {
  LOAD_SETTINGS_ENV,
  LOAD_TOKENS_ENV,
  STARTED_PATTERN,
  type LoadProcessResult,
  type LoadProcessSettings,
} from './load-protocol';

export interface RunningLoad {
  /** Epoch ms when its first requests went out: the phase's zero. */
  startedAtMs: number;
  /** Resolves when the process has exited cleanly with its result. */
  result: Promise<LoadProcessResult>;
}

/** Node's start-up on a starved machine can take seconds. */
const START_TIMEOUT_MS = 20_000;

export async function startLoadProcess(
  group: ChildGroup,
  benchDir: string,
  dir: string,
  name: string,
  settings: Omit<LoadSettings, 'onStart'>,
): Promise<RunningLoad> {
  const { tokens, ...rest } = settings;
  const settingsFile = path.join(dir, `${name}.settings.json`);
  const processSettings: LoadProcessSettings = { ...rest, resultFile: path.join(dir, `${name}.result.json`) };
  fs.writeFileSync(settingsFile, JSON.stringify(processSettings));
  const child = group.spawn(name, process.execPath, [path.join(benchDir, 'fleet/load-process.js')], {
    logFile: path.join(dir, `${name}.log`),
    env: { [LOAD_SETTINGS_ENV]: settingsFile, [LOAD_TOKENS_ENV]: JSON.stringify(Object.fromEntries(tokens)) },
  });
  const exited = child.exitCode();
  const startedAtMs = Number((await waitForLogLine(child, STARTED_PATTERN, START_TIMEOUT_MS))[1]);
  const result = exited.then((code) => {
    if (code !== 0) throw new Error(`${name} exited with ${code ?? 'a signal'} (see ${child.logFile})`);
    return JSON.parse(fs.readFileSync(processSettings.resultFile, 'utf8')) as LoadProcessResult;
  });
  // Awaited by the caller; until then a failure must not surface as an unhandled rejection.
  result.catch(() => undefined);
  return { startedAtMs, result };
}
