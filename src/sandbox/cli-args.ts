/**
 * Command-line parsing for the sandbox, pure: argv and env in, options (or help, or a clear
 * problem) out. Only cli.ts touches process.argv, process.env and exit codes.
 */
import { readFlags, type FlagProblem, type FlagSpecs } from '../shared/cli-flags';
import { DEMO_KEYS, keyLabel, parseKeyList, type SandboxKey } from './keys';
import type { StartSandboxOptions } from './server';

export const KEYS_ENV_VAR = 'STRETTCH_SANDBOX_KEYS';
export const DEFAULT_PORT = 4010;
export const DEFAULT_HOST = '127.0.0.1';
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const HELP_TEXT = `Usage: npm run sandbox -- [flags]     (or: node dist/sandbox/cli.js [flags])

A faithful fake of the Strettch Cloud API, served under /api/v1, with a referee under /_sandbox.

Flags (all optional):
  --port <n>                 port to listen on (default ${DEFAULT_PORT}; 0 picks a free one)
  --host <address>           address to bind (default ${DEFAULT_HOST})
  --profile <name>           rate-limit profile: launch (30 reads/s + 5 writes/s per key,
                             x-ratelimit-*-second headers; default) or current (2 requests/s
                             per key, x-ratelimit-* headers)
  --window <model>           fixed (1 s windows; default) or sliding (any 1000 ms)
  --window-phase-ms <n>      where fixed windows start within each second, 0-999 (default 0)
  --read-limit <n>           reads per second per key (launch profile)
  --write-limit <n>          writes per second per key (launch profile)
  --all-limit <n>            requests per second per key (current profile)
  --latency-ms <n>           added to every API response (default 0)
  --jitter-ms <n>            uniform extra latency in [0, n) (default 0)
  --create-delay-ms <n>      CREATING -> RUNNING (default 2000)
  --transition-delay-ms <n>  STARTING/STOPPING/REBOOTING/DESTROYING -> next (default 1000)
  --error-rate <0..1>        fraction of requests answered 500 INTERNAL_SERVER_ERROR
  --drop-rate <0..1>         fraction of requests whose connection is dropped unanswered
  --slow-rate <0..1>         fraction of requests delayed a further --slow-ms
  --slow-ms <n>              the extra delay of slow requests (default 0)
  --seed <n>                 seed the fault/jitter random source (repeatable runs)
  --keys <list>              extra keys: key:team:role[,key:team:role...] (role: owner,
                             admin or member); overrides $${KEYS_ENV_VAR}
  --no-demo-keys             do not accept the built-in demo keys
  --body-limit-bytes <n>     largest accepted request body (default 65536)
  --log-level <level>        ${LOG_LEVELS.join(', ')} (default info)
  -h, --help                 show this help

Environment:
  ${KEYS_ENV_VAR}      extra keys, same format as --keys (ignored when --keys is given)

Demo keys (public; for the sandbox only):
${DEMO_KEYS.map((k) => `  ${k.key.padEnd(20)} ${k.team}  ${k.role}`).join('\n')}
`;

export interface CliRun {
  kind: 'run';
  options: StartSandboxOptions;
  seed?: number;
  logLevel: LogLevel;
  /** Whether the demo keys are active (the banner prints them only then). */
  demoKeys: boolean;
  /** Labels of the extra keys; the keys themselves are never printed. */
  extraKeyLabels: string[];
}

export type CliParse = { kind: 'help' } | { kind: 'error'; message: string } | CliRun;

type Setter = (value: string, run: CliRun) => string | undefined;

const wholeNumber =
  (apply: (n: number, run: CliRun) => void, min = 0, max = Number.MAX_SAFE_INTEGER): Setter =>
  (value, run) => {
    if (!/^[0-9]+$/.test(value) || Number(value) < min || Number(value) > max)
      return `must be a whole number from ${min} to ${max}`;
    apply(Number(value), run);
    return undefined;
  };

const fraction =
  (apply: (n: number, run: CliRun) => void): Setter =>
  (value, run) => {
    const n = Number(value);
    if (!/^[0-9.]+$/.test(value) || !Number.isFinite(n) || n < 0 || n > 1) return 'must be a number from 0 to 1';
    apply(n, run);
    return undefined;
  };

const oneOf =
  <T extends string>(choices: readonly T[], apply: (choice: T, run: CliRun) => void): Setter =>
  (value, run) => {
    if (!(choices as readonly string[]).includes(value)) return `must be one of ${choices.join(', ')}`;
    apply(value as T, run);
    return undefined;
  };

const faults = (run: CliRun): NonNullable<StartSandboxOptions['faults']> => (run.options.faults ??= {});
const limits = (run: CliRun): NonNullable<StartSandboxOptions['limits']> => (run.options.limits ??= {});

const VALUE_FLAGS: Record<string, Setter> = {
  '--port': wholeNumber((n, r) => (r.options.port = n), 0, 65535),
  '--host': (value, run) => {
    if (value.trim() === '') return 'must not be empty';
    run.options.host = value;
    return undefined;
  },
  '--profile': oneOf(['launch', 'current'] as const, (v, r) => (r.options.profile = v)),
  '--window': oneOf(['fixed', 'sliding'] as const, (v, r) => (r.options.window = v)),
  '--window-phase-ms': wholeNumber((n, r) => (r.options.windowPhaseMs = n), 0, 999),
  '--read-limit': wholeNumber((n, r) => (limits(r).readPerSecond = n), 1),
  '--write-limit': wholeNumber((n, r) => (limits(r).writePerSecond = n), 1),
  '--all-limit': wholeNumber((n, r) => (limits(r).allPerSecond = n), 1),
  '--latency-ms': wholeNumber((n, r) => (r.options.latencyMs = n)),
  '--jitter-ms': wholeNumber((n, r) => (r.options.jitterMs = n)),
  '--create-delay-ms': wholeNumber((n, r) => (r.options.createDelayMs = n)),
  '--transition-delay-ms': wholeNumber((n, r) => (r.options.transitionDelayMs = n)),
  '--error-rate': fraction((n, r) => (faults(r).errorRate = n)),
  '--drop-rate': fraction((n, r) => (faults(r).dropRate = n)),
  '--slow-rate': fraction((n, r) => (faults(r).slowRate = n)),
  '--slow-ms': wholeNumber((n, r) => (faults(r).slowMs = n)),
  '--seed': wholeNumber((n, r) => (r.seed = n), 0, 0xffffffff),
  '--body-limit-bytes': wholeNumber((n, r) => (r.options.bodyLimitBytes = n), 1),
  '--log-level': oneOf(LOG_LEVELS, (v, r) => (r.logLevel = v)),
};

const FLAG_SPECS: FlagSpecs = {
  ...Object.fromEntries(Object.keys(VALUE_FLAGS).map((flag) => [flag.slice(2), { type: 'string' as const }])),
  keys: { type: 'string' },
  'no-demo-keys': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

function flagProblemMessage(problem: FlagProblem): string {
  switch (problem.kind) {
    case 'unknown':
      return `unknown flag ${problem.flag} (see --help)`;
    case 'needs-value':
      return `${problem.flag} needs a value`;
    case 'takes-no-value':
      return `${problem.flag} takes no value`;
    case 'repeated':
      return `${problem.flag} is given more than once`;
  }
}

export function parseCliArgs(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): CliParse {
  const run: CliRun = {
    kind: 'run',
    options: { port: DEFAULT_PORT, host: DEFAULT_HOST },
    logLevel: 'info',
    demoKeys: true,
    extraKeyLabels: [],
  };
  const read = readFlags(argv, FLAG_SPECS);
  if (read.values.help === true) return { kind: 'help' };
  const [problem] = read.problems;
  if (problem !== undefined) return { kind: 'error', message: flagProblemMessage(problem) };
  const [word] = read.positionals;
  if (word !== undefined) return { kind: 'error', message: `unknown flag ${word} (see --help)` };
  for (const { flag, name, value } of read.given) {
    if (typeof value !== 'string') continue;
    const setter = VALUE_FLAGS[`--${name}`];
    const invalid = setter?.(value, run);
    if (invalid) return { kind: 'error', message: `${flag}: ${invalid}` };
  }
  run.demoKeys = read.values['no-demo-keys'] !== true;
  let keysText = typeof read.values.keys === 'string' ? read.values.keys : undefined;
  let keysSource = keysText === undefined ? '' : '--keys';

  if (keysText === undefined && env[KEYS_ENV_VAR] !== undefined && env[KEYS_ENV_VAR] !== '') {
    keysText = env[KEYS_ENV_VAR];
    keysSource = KEYS_ENV_VAR;
  }
  let extra: SandboxKey[] = [];
  if (keysText !== undefined) {
    const parsed = parseKeyList(keysText);
    if (!parsed.ok) return { kind: 'error', message: `${keysSource}: ${parsed.problems.join('; ')}` };
    extra = parsed.keys;
  }
  // An extra key equal to a demo key replaces it (a different team or role for the same string).
  const demo = run.demoKeys ? DEMO_KEYS.filter((d) => !extra.some((k) => k.key === d.key)) : [];
  const keys = [...demo.map((k) => ({ ...k })), ...extra];
  if (keys.length === 0)
    return { kind: 'error', message: `no keys: give --keys or ${KEYS_ENV_VAR}, or drop --no-demo-keys` };
  run.options.keys = keys;
  run.extraKeyLabels = extra.map(keyLabel);
  return run;
}
