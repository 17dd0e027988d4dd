/**
 * Between the bench and its load process (load-process.ts): settings go in as a JSON file in the
 * work directory, the callers' tokens as an environment variable (secrets are never written to a
 * file), the start time as a log line, and the result as a JSON file written before a clean exit.
 */
import type { LoopDelay } from '../../src/shared/loop-delay';
import type { LoadResult, LoadSettings } from './load';

export const LOAD_SETTINGS_ENV = 'FLEET_LOAD_SETTINGS_FILE';
export const LOAD_TOKENS_ENV = 'FLEET_LOAD_TOKENS';

export interface LoadProcessSettings extends Omit<LoadSettings, 'tokens' | 'onStart'> {
  /** Where the process writes its `LoadProcessResult`. */
  resultFile: string;
}

export interface LoadProcessResult {
  load: LoadResult;
  /** The load process's own event-loop delay during the load (it does all the client work). */
  loopDelay: LoopDelay;
}

/** Printed by the load process when its first requests go out: epoch ms. */
export const startedLine = (startedAtMs: number) => `load started at ${startedAtMs}`;
export const STARTED_PATTERN = /load started at (\d+)/;
