/**
 * The gateway's settings as `check-config` and `explain` show them: each variable (or flag) with
 * the value in force and where it came from. Read from the environment the entry hands over; never
 * a secret (the Redis URL's password is masked by `effectiveSettings`).
 */
import { effectiveSettings, readSettings, type EffectiveSetting, type SettingsResult } from '../gateway/settings';
import type { CliIo } from './io';

/** The settings `start` would run with in this environment; undefined when the entry gave none (tests). */
export function settingsFor(io: CliIo): SettingsResult | undefined {
  return io.settingsEnv === undefined ? undefined : readSettings(io.settingsEnv);
}

export function listSettings(result: SettingsResult & { ok: true }): EffectiveSetting[] {
  return effectiveSettings(result.settings, result.sources);
}

/** `settings (18: …)` and one `NAME  value  (source)` row each, names and values in columns. */
export function describeSettings(listed: readonly EffectiveSetting[]): string {
  const nameWidth = Math.max(...listed.map((s) => s.name.length));
  const valueWidth = Math.max(...listed.map((s) => s.value.length));
  const rows = listed.map((s) => `  ${s.name.padEnd(nameWidth)}  ${s.value.padEnd(valueWidth)}  (${s.source})\n`);
  return `settings (${listed.length}: as start would run in this environment)\n${rows.join('')}`;
}
