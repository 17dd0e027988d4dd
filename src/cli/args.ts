/** Pure argument and environment parsing for the CLI entries; they alone read argv and env. */
import { readFlags as readCommandFlags, type FlagSpecs } from '../shared/cli-flags';

export interface TokenSettings {
  caller?: string;
  /** Mint with the policy's shared-secret (HS256) key instead of the embedded default's dev key. */
  configPath?: string;
  kid?: string;
  lifetimeSec: number;
  scope?: string;
  help: boolean;
}

export type Parsed<T> = { ok: true; settings: T } | { ok: false; problems: string[] };

/**
 * The gateway commands' flags, read by the one flag reader every command line shares
 * (`shared/cli-flags.ts`), with this command line's words for what is wrong: all problems at once, a
 * repeated flag's last value wins, and a switch given a value (`--help=yes`) is simply on.
 */
export function readFlags(
  argv: readonly string[],
  valued: readonly string[],
  booleans: readonly string[],
  problems: string[],
) {
  const specs: FlagSpecs = Object.fromEntries([
    ...valued.map((name) => [name, { type: 'string' } as const]),
    ...booleans.map((name) => [name, { type: 'boolean' } as const]),
  ]);
  const read = readCommandFlags(argv, specs);
  const flags: Record<string, string | true> = { ...read.values };
  for (const problem of read.problems) {
    if (problem.kind === 'unknown') problems.push(`${problem.flag}: unknown option`);
    else if (problem.kind === 'needs-value') problems.push(`${problem.flag}: needs a value`);
    else if (problem.kind === 'takes-no-value') flags[problem.flag.replace(/^-+/, '')] = true;
  }
  return { flags, positionals: read.positionals };
}

export const MAX_TOKEN_LIFETIME_SEC = 3600;

export function parseTokenArgs(argv: readonly string[]): Parsed<TokenSettings> {
  const problems: string[] = [];
  const { flags, positionals } = readFlags(argv, ['lifetime', 'scope', 'config', 'kid'], ['help'], problems);
  if (positionals.length > 1) problems.push(`unexpected argument "${positionals[1]}"`);
  let lifetimeSec = 900;
  if (typeof flags.lifetime === 'string') {
    lifetimeSec = Number(flags.lifetime);
    if (!/^[0-9]{1,6}$/.test(flags.lifetime) || lifetimeSec < 1 || lifetimeSec > MAX_TOKEN_LIFETIME_SEC) {
      problems.push(`--lifetime: seconds from 1 to ${MAX_TOKEN_LIFETIME_SEC}`);
    }
  }
  const help = flags.help === true;
  if (!help && positionals.length === 0) problems.push('name the caller, e.g. demo-reader');
  const text = (name: string) => (typeof flags[name] === 'string' ? flags[name] : undefined);
  const settings: TokenSettings = {
    caller: positionals[0],
    lifetimeSec,
    scope: text('scope'),
    configPath: text('config'),
    kid: text('kid'),
    help,
  };
  return problems.length > 0 ? { ok: false, problems } : { ok: true, settings };
}

/** The commands of the `strettch-gateway` bin. */
export const COMMANDS = ['start', 'check-config', 'token', 'explain', 'ledger'] as const;
export type CommandName = (typeof COMMANDS)[number];

export type CommandLine =
  | { kind: 'run'; command: CommandName; argv: readonly string[] }
  /** `--help`, `-h`, `help` or `help <command>`. */
  | { kind: 'help'; command?: CommandName }
  /** `--version`: the package's version. */
  | { kind: 'version' }
  | { kind: 'usage-error'; problem: string };

function isCommand(name: string | undefined): name is CommandName {
  return (COMMANDS as readonly string[]).includes(name ?? '');
}

/** Picks the command; its own flags are left to that command's parser. */
export function parseCommandLine(argv: readonly string[]): CommandLine {
  const [first, ...rest] = argv;
  if (first === undefined) return { kind: 'usage-error', problem: 'name a command' };
  if (first === '--help' || first === '-h') return { kind: 'help' };
  if (first === '--version')
    return rest.length === 0
      ? { kind: 'version' }
      : { kind: 'usage-error', problem: `unexpected argument "${rest[0]}"` };
  if (first === 'help') {
    if (rest.length === 0) return { kind: 'help' };
    if (rest.length > 1) return { kind: 'usage-error', problem: `unexpected argument "${rest[1]}"` };
    return isCommand(rest[0])
      ? { kind: 'help', command: rest[0] }
      : { kind: 'usage-error', problem: `unknown command "${rest[0]}"` };
  }
  if (isCommand(first)) return { kind: 'run', command: first, argv: rest };
  return {
    kind: 'usage-error',
    problem: first.startsWith('-') ? `${first}: unknown option (name a command first)` : `unknown command "${first}"`,
  };
}

export interface CheckConfigSettings {
  configPath?: string;
  /** False with `--no-secrets`: shape and references only, for CI where the secrets are absent. */
  resolveSecrets: boolean;
  help: boolean;
}

export function parseCheckConfigArgs(argv: readonly string[]): Parsed<CheckConfigSettings> {
  const problems: string[] = [];
  const { flags, positionals } = readFlags(argv, [], ['no-secrets', 'help'], problems);
  const help = flags.help === true;
  if (positionals.length > 1) problems.push(`unexpected argument "${positionals[1]}"`);
  if (!help && positionals.length === 0) problems.push('name the policy file, e.g. config/gateway.yaml');
  const settings: CheckConfigSettings = {
    configPath: positionals[0],
    resolveSecrets: flags['no-secrets'] !== true,
    help,
  };
  return problems.length > 0 ? { ok: false, problems } : { ok: true, settings };
}

export interface ExplainSettings {
  caller?: string;
  method?: string;
  /** The request-target as a client would send it: `/api/v1/computes/42/stop`. */
  target?: string;
  configPath?: string;
  /** As a token's `scope` claim would carry them; absent: a token without the claim. */
  tokenScopes?: readonly string[];
  json: boolean;
  help: boolean;
}

/** `"GET /api/v1/computes"`: a method and a target separated by spaces, nothing else. */
export function parseRequestLine(text: string): { method: string; target: string } | undefined {
  const match = /^\s*(\S+)\s+(\S+)\s*$/.exec(text);
  return match ? { method: match[1]!, target: match[2]! } : undefined;
}

/** Split as the gateway splits a token's space-separated `scope` claim. */
export function splitScopeClaim(claim: string): string[] {
  return claim.split(' ').filter((scope) => scope !== '');
}

export function parseExplainArgs(argv: readonly string[]): Parsed<ExplainSettings> {
  const problems: string[] = [];
  const { flags, positionals } = readFlags(argv, ['config', 'scope'], ['json', 'help'], problems);
  const help = flags.help === true;
  const [caller, ...requestParts] = positionals;
  // One quoted argument ("GET /path") or, forgivingly, two (GET /path).
  const request =
    requestParts.length > 0 && requestParts.length <= 2 ? parseRequestLine(requestParts.join(' ')) : undefined;
  if (!help) {
    if (caller === undefined) problems.push('name the caller, e.g. demo-reader');
    else if (requestParts.length === 0) problems.push('name the request, e.g. "GET /api/v1/computes"');
    else if (requestParts.length > 2) problems.push(`unexpected argument "${requestParts[2]}"`);
    else if (!request) problems.push('the request must be "<METHOD> <path>", e.g. "GET /api/v1/computes"');
  }
  const settings: ExplainSettings = {
    caller,
    method: request?.method,
    target: request?.target,
    configPath: typeof flags.config === 'string' ? flags.config : undefined,
    tokenScopes: typeof flags.scope === 'string' ? splitScopeClaim(flags.scope) : undefined,
    json: flags.json === true,
    help,
  };
  return problems.length > 0 ? { ok: false, problems } : { ok: true, settings };
}
