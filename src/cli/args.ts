/** Pure argument and environment parsing for the CLI entries; they alone read argv and env. */

export interface StartSettings {
  configPath?: string;
  host?: string;
  port?: number;
  adminPort?: number;
  logLevel: string;
  /** The shared schedule's Redis; absent: the schedule runs in memory (one replica). */
  redisUrl?: string;
  /** Replicas sharing the schedule (the HPA maximum); each falls back to rate ÷ this. */
  expectedReplicas: number;
  /** A Redis reply later than this counts as an outage (fallback); absent: the connection's default, 150 ms. */
  redisCommandTimeoutMs?: number;
  /** Reload when the policy or a file it references changes (`--watch` or CONFIG_WATCH=1). */
  watch: boolean;
  help: boolean;
}

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

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function portFrom(name: string, value: string | undefined, problems: string[]): number | undefined {
  if (value === undefined || value === '') return undefined;
  const port = Number(value);
  if (!/^[0-9]{1,5}$/.test(value) || port > 65535) {
    problems.push(`${name}: must be a port number from 0 to 65535`);
    return undefined;
  }
  return port;
}

/** Splits `--name value` / `--name=value` flags from positionals, for the flags a command knows. */
function readFlags(
  argv: readonly string[],
  valued: readonly string[],
  booleans: readonly string[],
  problems: string[],
) {
  const flags: Record<string, string | true> = {};
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) {
      positionals.push(arg);
      continue;
    }
    const [name, inline] = arg.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    if (booleans.includes(name)) flags[name] = true;
    else if (valued.includes(name)) {
      const value = inline ?? argv[++i];
      if (value === undefined) problems.push(`--${name}: needs a value`);
      else flags[name] = value;
    } else problems.push(`--${name}: unknown option`);
  }
  return { flags, positionals };
}

export function parseStartArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): Parsed<StartSettings> {
  const problems: string[] = [];
  const { flags, positionals } = readFlags(argv, ['config'], ['help', 'watch'], problems);
  if (positionals.length > 0) problems.push(`unexpected argument "${positionals[0]}"`);
  const logLevel = env.LOG_LEVEL ?? 'info';
  if (!LOG_LEVELS.includes(logLevel)) problems.push(`LOG_LEVEL: must be one of ${LOG_LEVELS.join(', ')}`);
  const replicasText = env.GATEWAY_REPLICAS ?? '1';
  const expectedReplicas = Number(replicasText);
  if (!/^[0-9]{1,4}$/.test(replicasText) || expectedReplicas < 1)
    problems.push('GATEWAY_REPLICAS: must be a whole number from 1 to 9999');
  const redisUrl = env.REDIS_URL || undefined;
  if (redisUrl !== undefined && !/^rediss?:\/\//.test(redisUrl))
    problems.push('REDIS_URL: must start with redis:// or rediss://');
  const timeoutText = env.REDIS_COMMAND_TIMEOUT_MS;
  const redisCommandTimeoutMs = timeoutText === undefined || timeoutText === '' ? undefined : Number(timeoutText);
  if (
    redisCommandTimeoutMs !== undefined &&
    (!/^[0-9]{1,5}$/.test(timeoutText!) || redisCommandTimeoutMs < 10 || redisCommandTimeoutMs > 10_000)
  ) {
    problems.push('REDIS_COMMAND_TIMEOUT_MS: must be a whole number of milliseconds from 10 to 10000');
  }
  const settings: StartSettings = {
    redisUrl,
    expectedReplicas,
    redisCommandTimeoutMs,
    configPath: typeof flags.config === 'string' ? flags.config : undefined,
    host: env.HOST || undefined,
    port: portFrom('PORT', env.PORT, problems),
    adminPort: portFrom('ADMIN_PORT', env.ADMIN_PORT, problems),
    logLevel,
    watch: flags.watch === true || env.CONFIG_WATCH === '1',
    help: flags.help === true,
  };
  return problems.length > 0 ? { ok: false, problems } : { ok: true, settings };
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
export const COMMANDS = ['start', 'check-config', 'token', 'explain'] as const;
export type CommandName = (typeof COMMANDS)[number];

export type CommandLine =
  | { kind: 'run'; command: CommandName; argv: readonly string[] }
  /** `--help`, `-h`, `help` or `help <command>`. */
  | { kind: 'help'; command?: CommandName }
  | { kind: 'usage-error'; problem: string };

function isCommand(name: string | undefined): name is CommandName {
  return (COMMANDS as readonly string[]).includes(name ?? '');
}

/** Picks the command; its own flags are left to that command's parser. */
export function parseCommandLine(argv: readonly string[]): CommandLine {
  const [first, ...rest] = argv;
  if (first === undefined) return { kind: 'usage-error', problem: 'name a command' };
  if (first === '--help' || first === '-h') return { kind: 'help' };
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
