/**
 * Command-line flags shared by the benchmarks, read by the one flag reader (src/shared/cli-flags.ts, on
 * `node:util` `parseArgs`): `--flag value` or `--flag=value`, numbers in checked ranges, `-h` for `--help`.
 * Every problem is collected; a repeated flag is no problem, the last one wins.
 */
import { readFlags as readCliFlags, type FlagSpecs } from '../src/shared/cli-flags';

export interface NumberFlag<K extends string> {
  key: K;
  min: number;
  max: number;
  integer: boolean;
}

export interface FlagSpec<K extends string> {
  /** Flags without a value, by long name (`--help`, answered by `-h` too). */
  switches: Record<string, () => void>;
  numbers: Record<string, NumberFlag<K>>;
  /** Flags with a free-form value, handed to `onText` to check. */
  texts: readonly string[];
}

/** Reads every argument; problems (unknown flags, missing values, out-of-range numbers) are collected. */
export function readFlags<K extends string>(
  argv: readonly string[],
  spec: FlagSpec<K>,
  onNumber: (key: K, value: number) => void,
  onText: (flag: string, value: string) => void,
  problems: string[],
): void {
  const specs: FlagSpecs = Object.fromEntries([
    ...Object.keys(spec.switches).map((flag) => [
      flag.slice(2),
      { type: 'boolean', ...(flag === '--help' ? { short: 'h' } : {}) },
    ]),
    ...[...Object.keys(spec.numbers), ...spec.texts].map((flag) => [flag.slice(2), { type: 'string' }]),
  ]);
  const read = readCliFlags(argv, specs);
  for (const problem of read.problems) {
    if (problem.kind === 'unknown') problems.push(`${problem.flag}: unknown flag`);
    else if (problem.kind === 'needs-value') problems.push(`${problem.flag}: needs a value`);
    else if (problem.kind === 'takes-no-value') problems.push(`${problem.flag}: takes no value`);
  }
  for (const word of read.positionals) problems.push(`${word}: unknown flag`);
  for (const { name, value } of read.given) {
    const flag = `--${name}`;
    if (value === true) spec.switches[flag]!();
    else if (value === '') problems.push(`${flag}: needs a value`);
    else if (spec.numbers[flag]) readNumber(flag, value, spec.numbers[flag], onNumber, problems);
    else onText(flag, value);
  }
}

function readNumber<K extends string>(
  flag: string,
  value: string,
  numeric: NumberFlag<K>,
  onNumber: (key: K, value: number) => void,
  problems: string[],
): void {
  const n = Number(value);
  if (!Number.isFinite(n) || n < numeric.min || n > numeric.max || (numeric.integer && !Number.isInteger(n))) {
    problems.push(
      `${flag}: must be ${numeric.integer ? 'a whole number' : 'a number'} from ${numeric.min} to ${numeric.max}`,
    );
  } else {
    onNumber(numeric.key, n);
  }
}

/**
 * A bench entry's flags, read or refused the same way by every bench: problems and the usage on stderr,
 * exit 2; `--help` prints the usage and yields nothing to run.
 */
export function optionsOrExit<O extends { help: boolean }>(
  command: string,
  parsed: { ok: true; options: O } | { ok: false; problems: readonly string[] },
  usage: string,
): O | undefined {
  if (!parsed.ok) {
    for (const problem of parsed.problems) process.stderr.write(`${command}: ${problem}\n`);
    process.stderr.write(`${usage}\n`);
    process.exit(2);
  }
  if (parsed.options.help) {
    process.stdout.write(`${usage}\n`);
    return undefined;
  }
  return parsed.options;
}
