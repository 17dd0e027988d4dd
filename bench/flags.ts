/** Command-line flags shared by the benchmarks: `--flag value` or `--flag=value`, checked ranges. */

export interface NumberFlag<K extends string> {
  key: K;
  min: number;
  max: number;
  integer: boolean;
}

export interface FlagSpec<K extends string> {
  /** Flags without a value, e.g. `--help`. */
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
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const toggle = spec.switches[arg];
    if (toggle) {
      toggle();
      continue;
    }
    const eq = arg.indexOf('=');
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    if (!(flag in spec.numbers) && !spec.texts.includes(flag)) {
      problems.push(`${flag}: unknown flag`);
      continue;
    }
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined || value === '') {
      problems.push(`${flag}: needs a value`);
      continue;
    }
    const numeric = spec.numbers[flag];
    if (!numeric) {
      onText(flag, value);
      continue;
    }
    const n = Number(value);
    if (!Number.isFinite(n) || n < numeric.min || n > numeric.max || (numeric.integer && !Number.isInteger(n))) {
      problems.push(
        `${flag}: must be ${numeric.integer ? 'a whole number' : 'a number'} from ${numeric.min} to ${numeric.max}`,
      );
    } else {
      onNumber(numeric.key, n);
    }
  }
}
