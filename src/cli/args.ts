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
function readFlags(argv: readonly string[], valued: readonly string[], booleans: readonly string[], problems: string[]) {
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

export function parseStartArgs(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): Parsed<StartSettings> {
  const problems: string[] = [];
  const { flags, positionals } = readFlags(argv, ['config'], ['help'], problems);
  if (positionals.length > 0) problems.push(`unexpected argument "${positionals[0]}"`);
  const logLevel = env.LOG_LEVEL ?? 'info';
  if (!LOG_LEVELS.includes(logLevel)) problems.push(`LOG_LEVEL: must be one of ${LOG_LEVELS.join(', ')}`);
  const replicasText = env.GATEWAY_REPLICAS ?? '1';
  const expectedReplicas = Number(replicasText);
  if (!/^[0-9]{1,4}$/.test(replicasText) || expectedReplicas < 1) problems.push('GATEWAY_REPLICAS: must be a whole number from 1 to 9999');
  const redisUrl = env.REDIS_URL || undefined;
  if (redisUrl !== undefined && !/^rediss?:\/\//.test(redisUrl)) problems.push('REDIS_URL: must start with redis:// or rediss://');
  const settings: StartSettings = {
    redisUrl,
    expectedReplicas,
    configPath: typeof flags.config === 'string' ? flags.config : undefined,
    host: env.HOST || undefined,
    port: portFrom('PORT', env.PORT, problems),
    adminPort: portFrom('ADMIN_PORT', env.ADMIN_PORT, problems),
    logLevel,
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
  const settings: TokenSettings = { caller: positionals[0], lifetimeSec, scope: text('scope'), configPath: text('config'), kid: text('kid'), help };
  return problems.length > 0 ? { ok: false, problems } : { ok: true, settings };
}
