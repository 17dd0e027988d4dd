/**
 * A policy's YAML read into plain data: syntax errors with their line and column, `__proto__` keys
 * refused, and the lines of document paths for the problems found later. Pure, so it runs in this
 * process for a small policy or in a child process for a large one (`policy-yaml-child.ts`).
 */
import { LineCounter, parseDocument, type Document } from 'yaml';
import { toConfigProblem, type ConfigProblem, type DocPath, type PathedProblem } from './problems';
import { lineOf } from './yaml-lines';

/** Lines (1-based) of document paths, in order; undefined where the document has no line for one. */
export type LinesOf = (paths: readonly DocPath[]) => Array<number | undefined>;

export type PolicyYaml = { ok: true; value: unknown; linesOf: LinesOf } | { ok: false; problems: ConfigProblem[] };

/** yaml's own limit on alias expansion, restated so a "billion laughs" document stays small. */
const MAX_ALIAS_COUNT = 100;

function parse(text: string): { yaml: Document; lineCounter: LineCounter } {
  const lineCounter = new LineCounter();
  // prettyErrors off: its messages quote the source line, which may hold a secret pasted by mistake.
  const yaml = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  return { yaml, lineCounter };
}

/** Parses in this process, keeping yaml's document model for `linesOf`. */
export function readPolicyYaml(text: string): PolicyYaml {
  const { yaml, lineCounter } = parse(text);
  if (yaml.errors.length > 0) {
    const problems = yaml.errors.map((error) => {
      const { line, col } = lineCounter.linePos(error.pos[0]);
      return { path: `line ${line}, column ${col}`, message: `YAML: ${error.message}`, line };
    });
    return { ok: false, problems };
  }
  let value: unknown;
  try {
    value = yaml.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    const message = `YAML: ${error instanceof Error ? error.message : 'cannot be read'}`;
    return { ok: false, problems: [{ path: '(root)', message }] };
  }
  const linesOf: LinesOf = (paths) => paths.map((at) => lineOf(yaml, lineCounter, at));
  const protoKeys = findProtoKeys(value);
  if (protoKeys.length > 0) return { ok: false, problems: locateProblems(protoKeys, linesOf) };
  return { ok: true, value, linesOf };
}

/** The lines of `paths` in `text`, parsed again: a child keeps no document between two requests. */
function linesIn(text: string, paths: readonly DocPath[]): Array<number | undefined> {
  const { yaml, lineCounter } = parse(text);
  return paths.map((at) => lineOf(yaml, lineCounter, at));
}

/** In document order, so the list reads top to bottom like the file. */
export function locateProblems(problems: readonly PathedProblem[], linesOf: LinesOf): ConfigProblem[] {
  const lines = linesOf(problems.map((p) => p.at));
  const located = problems.map((p, i) => toConfigProblem(p, lines[i]));
  return located.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
}

/**
 * A `__proto__` key survives YAML as an own property but is swallowed (or worse, becomes a
 * prototype) when copied into a plain object, so it is refused before anything copies it.
 */
function findProtoKeys(value: unknown, at: DocPath = []): PathedProblem[] {
  if (typeof value !== 'object' || value === null) return [];
  return Object.keys(value).flatMap((key): PathedProblem[] => {
    const child = (value as Record<string, unknown>)[key];
    const childAt = [...at, Array.isArray(value) ? Number(key) : key];
    if (key === '__proto__') return [{ at: childAt, message: '"__proto__" is not allowed as a name' }];
    return findProtoKeys(child, childAt);
  });
}

/** What a child is asked and answers: plain data only, since it crosses processes in structured-clone form. */
export type YamlRequest = { kind: 'read'; text: string } | { kind: 'locate'; text: string; paths: DocPath[] };
export type YamlReply =
  | { kind: 'read'; ok: true; value: unknown }
  | { kind: 'read'; ok: false; problems: ConfigProblem[] }
  | { kind: 'locate'; lines: Array<number | undefined> }
  | { kind: 'failed'; message: string };

/** The child's whole job. */
export function answerYamlRequest(request: YamlRequest): YamlReply {
  if (request.kind === 'locate') return { kind: 'locate', lines: linesIn(request.text, request.paths) };
  const read = readPolicyYaml(request.text);
  return read.ok ? { kind: 'read', ok: true, value: read.value } : { kind: 'read', ok: false, problems: read.problems };
}
