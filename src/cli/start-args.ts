/**
 * The start command's arguments: its flags and the environment, read into the gateway's settings.
 * Apart from args.ts so that the other commands (a token in under a second) do not load zod.
 */
import { readSettings, type GatewaySettings, type SettingSource } from '../gateway/settings';
import { readFlags, type Parsed } from './args';

/** What `start` was asked: help, the version, or to run with these settings. */
export interface StartArgs {
  settings: GatewaySettings;
  /** Where each setting came from (default / env / flag), for the effective-settings listing. */
  sources: Readonly<Record<string, SettingSource>>;
  help: boolean;
  version: boolean;
}

/** The start command's flags and the environment, read into the gateway's settings (`gateway/settings.ts`). */
export function parseStartArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): Parsed<StartArgs> {
  const problems: string[] = [];
  const { flags, positionals } = readFlags(argv, ['config'], ['help', 'watch', 'version'], problems);
  if (positionals.length > 0) problems.push(`unexpected argument "${positionals[0]}"`);
  const read = readSettings(env, {
    config: typeof flags.config === 'string' ? flags.config : undefined,
    watch: flags.watch === true,
  });
  if (!read.ok) problems.push(...read.problems);
  if (problems.length > 0 || !read.ok) return { ok: false, problems };
  return {
    ok: true,
    settings: {
      settings: read.settings,
      sources: read.sources,
      help: flags.help === true,
      version: flags.version === true,
    },
  };
}
