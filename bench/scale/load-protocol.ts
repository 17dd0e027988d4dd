/**
 * Between the scale bench and its load process (load-process.ts): settings as a JSON file in the work
 * directory; the secrets as environment variables (never written to a file): the token secret, from
 * which the process mints one token per caller itself (10,000 tokens would not fit one variable), or
 * the accounts' upstream keys for the baseline; the start time as a log line; the result as a JSON
 * file written before a clean exit.
 */
import type { ScaleLoadSettings } from './load';

export const SCALE_LOAD_SETTINGS_ENV = 'SCALE_LOAD_SETTINGS_FILE';
export const SCALE_LOAD_JWT_SECRET_ENV = 'SCALE_LOAD_JWT_SECRET';
/** Comma-separated upstream keys, in account order (the baseline). */
export const SCALE_LOAD_API_KEYS_ENV = 'SCALE_LOAD_API_KEYS';

export interface ScaleLoadProcessSettings extends ScaleLoadSettings {
  /** Through the gateways: one token per caller, `caller-1`…, request n from caller n mod callers. Straight to the
   * sandbox: the account of that caller's key (SCALE_LOAD_API_KEYS_ENV). */
  callers: number;
  accounts: number;
  mode: 'gateway' | 'direct';
  resultFile: string;
}

/** Printed by the load process when its first request is due: epoch ms. */
export const startedLine = (startedAtMs: number) => `load started at ${startedAtMs}`;
export const STARTED_PATTERN = /load started at (\d+)/;
