/**
 * Flags for every command line (the gateway's, the sandbox's, the benches'): `node:util` `parseArgs` reads
 * them (`--flag value`, `--flag=value`, `-h`), in its lenient mode so that reading goes on past the first
 * problem. Problems come back as values, in argv order; each command words them and decides which count
 * (a repeated flag is an error to one, "the last one wins" to another).
 */
import { parseArgs } from 'node:util';

export interface FlagSpec {
  /** `string` takes a value (`--out x`, `--out=x`); `boolean` is a switch (`--help`). */
  type: 'string' | 'boolean';
  /** A one-letter alias: `h` for `-h`. */
  short?: string;
}

/** By long name, without the dashes: `{ out: { type: 'string' }, help: { type: 'boolean', short: 'h' } }`. */
export type FlagSpecs = Readonly<Record<string, FlagSpec>>;

/** `flag` is as written (`--out`, `-h`). */
export type FlagProblem =
  | { kind: 'unknown'; flag: string }
  /** A `string` flag last on the line (an empty `--out=` is a value: the command judges it). */
  | { kind: 'needs-value'; flag: string }
  /** A switch given a value: `--help=yes`. */
  | { kind: 'takes-no-value'; flag: string }
  /** The second and later occurrences of a flag; `values` holds the last. */
  | { kind: 'repeated'; flag: string };

export interface GivenFlag {
  /** The long name, without dashes. */
  name: string;
  /** As written: `--out`, `-h`. */
  flag: string;
  value: string | true;
}

export interface ReadFlags {
  /** Every well-formed flag, in argv order (repeats included). */
  given: GivenFlag[];
  /** The well-formed flags by long name: the value (the last, when repeated), or true for a switch. */
  values: Readonly<Record<string, string | true>>;
  /** Bare words (and everything after `--`), for the command to take or refuse. */
  positionals: string[];
  problems: FlagProblem[];
}

export function readFlags(argv: readonly string[], specs: FlagSpecs): ReadFlags {
  const { tokens } = parseArgs({
    args: [...argv],
    options: specs as Record<string, FlagSpec>,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const given: GivenFlag[] = [];
  const values: Record<string, string | true> = {};
  const positionals: string[] = [];
  const problems: FlagProblem[] = [];
  for (const token of tokens) {
    if (token.kind === 'positional') positionals.push(token.value);
    else if (token.kind === 'option') {
      const spec = Object.hasOwn(specs, token.name) ? specs[token.name] : undefined;
      const flag = token.rawName;
      if (spec === undefined) problems.push({ kind: 'unknown', flag });
      else if (spec.type === 'string' && token.value === undefined) problems.push({ kind: 'needs-value', flag });
      else if (spec.type === 'boolean' && token.value !== undefined) problems.push({ kind: 'takes-no-value', flag });
      else {
        if (Object.hasOwn(values, token.name)) problems.push({ kind: 'repeated', flag });
        const value = token.value ?? true;
        given.push({ name: token.name, flag, value });
        values[token.name] = value;
      }
    }
  }
  return { given, values, positionals, problems };
}
