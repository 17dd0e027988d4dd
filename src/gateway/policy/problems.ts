/** A configuration mistake, located by its path in the document (and its line, when known). */
export interface ConfigProblem {
  /** Dotted/bracketed, as a reader would write it: `callers.billing.scopes[1]`. */
  path: string;
  message: string;
  /** 1-based line in the YAML source, when the problem came from a file. */
  line?: number;
}

export type PathSegment = string | number;
export type DocPath = readonly PathSegment[];

/** Problems are collected with structured paths, and formatted once at the end. */
export interface PathedProblem {
  at: DocPath;
  message: string;
}

export const ROOT_PATH = '(root)';

/** Keys that would be ambiguous in dotted form (a dot, a bracket, a quote, a space) are bracket-quoted. */
const PLAIN_KEY = /^[^.[\]"'\s]+$/;

export function formatPath(at: DocPath): string {
  let out = '';
  for (const segment of at) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (PLAIN_KEY.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out === '' ? ROOT_PATH : out;
}

export function toConfigProblem(problem: PathedProblem, line?: number): ConfigProblem {
  return { path: formatPath(problem.at), message: problem.message, ...(line !== undefined ? { line } : {}) };
}

/** One line per problem, for the startup error: `config/gateway.yaml:12: callers.x.account: unknown account "prd"`. */
export function formatProblem(problem: ConfigProblem, sourcePath: string): string {
  const where = problem.line !== undefined ? `${sourcePath}:${problem.line}` : sourcePath;
  return `${where}: ${problem.path}: ${problem.message}`;
}
