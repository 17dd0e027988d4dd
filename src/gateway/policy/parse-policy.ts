import * as path from 'node:path';
import { checkReferences } from './check-references';
import { LineCounter, parseDocument, type Document } from 'yaml';
import { toConfigProblem, type ConfigProblem, type DocPath, type PathedProblem } from './problems';
import { resolveVerificationKey } from './resolve-keys';
import { resolvePolicyDocument } from './resolve-policy';
import { policyDocumentSchema, type PolicyDocument } from './schema';
import type { PolicyIo, PolicyResult, SigningPolicyResult } from './types';
import { lineOf } from './yaml-lines';
import { policyErrorMap, problemsFromIssues } from './zod-issues';

export type DocumentResult = { ok: true; document: PolicyDocument } | { ok: false; errors: ConfigProblem[] };

/** yaml's own limit on alias expansion, restated so a "billion laughs" document stays small. */
const MAX_ALIAS_COUNT = 100;

interface Parsed {
  yaml: Document;
  lineCounter: LineCounter;
  document?: PolicyDocument;
  problems: ConfigProblem[];
}

function parseAndCheckShape(text: string): Parsed {
  const lineCounter = new LineCounter();
  // prettyErrors off: its messages quote the source line, which may hold a secret pasted by mistake.
  const yaml = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (yaml.errors.length > 0) {
    const problems = yaml.errors.map((error) => {
      const { line, col } = lineCounter.linePos(error.pos[0]);
      return { path: `line ${line}, column ${col}`, message: `YAML: ${error.message}`, line };
    });
    return { yaml, lineCounter, problems };
  }
  let raw: unknown;
  try {
    raw = yaml.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    return {
      yaml,
      lineCounter,
      problems: [{ path: '(root)', message: `YAML: ${error instanceof Error ? error.message : 'cannot be read'}` }],
    };
  }
  const protoKeys = findProtoKeys(raw);
  if (protoKeys.length > 0) return { yaml, lineCounter, problems: withLines(protoKeys, yaml, lineCounter) };
  const shape = policyDocumentSchema.safeParse(raw, { error: policyErrorMap });
  if (!shape.success)
    return { yaml, lineCounter, problems: withLines(problemsFromIssues(shape.error.issues), yaml, lineCounter) };
  return { yaml, lineCounter, document: shape.data, problems: [] };
}

/** In document order, so the list reads top to bottom like the file. */
function withLines(problems: readonly PathedProblem[], yaml: Document, lineCounter: LineCounter): ConfigProblem[] {
  const located = problems.map((p) => toConfigProblem(p, lineOf(yaml, lineCounter, p.at)));
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

/**
 * Checks a policy without touching secrets (for a `--check` in CI, where the secrets are absent):
 * YAML syntax, shape and cross-references.
 */
export function validatePolicyText(text: string): DocumentResult {
  const parsed = parseAndCheckShape(text);
  if (!parsed.document) return { ok: false, errors: parsed.problems };
  const referenceProblems = checkReferences(parsed.document);
  if (referenceProblems.length > 0)
    return { ok: false, errors: withLines(referenceProblems, parsed.yaml, parsed.lineCounter) };
  return { ok: true, document: parsed.document };
}

/** Parses, checks and resolves a policy. `sourcePath` names it in messages and anchors relative file paths. */
export function parsePolicy(text: string, sourcePath: string, io: PolicyIo): PolicyResult {
  const parsed = parseAndCheckShape(text);
  if (!parsed.document) return { ok: false, errors: parsed.problems };
  const resolved = resolvePolicyDocument(parsed.document, io, { baseDir: path.dirname(sourcePath), sourcePath });
  if (!resolved.ok) return { ok: false, errors: withLines(resolved.problems, parsed.yaml, parsed.lineCounter) };
  return resolved;
}

export function loadPolicyFile(sourcePath: string, io: PolicyIo): PolicyResult {
  const read = readPolicyText(sourcePath, io);
  return read.ok ? parsePolicy(read.text, sourcePath, io) : read;
}

/**
 * Only what minting a token needs (`token --config`): the shape, the references and the one HS256
 * key that `kid` picks (else the first HS256 key), resolved and checked as `start` would. No API
 * key and no other key is read, so tokens can be minted where the provider keys are absent.
 * `key` is absent when the policy has no such HS256 key.
 */
export function loadSigningPolicyFile(sourcePath: string, io: PolicyIo, kid?: string): SigningPolicyResult {
  const read = readPolicyText(sourcePath, io);
  if (!read.ok) return read;
  const parsed = parseAndCheckShape(read.text);
  if (!parsed.document) return { ok: false, errors: parsed.problems };
  const referenceProblems = checkReferences(parsed.document);
  if (referenceProblems.length > 0)
    return { ok: false, errors: withLines(referenceProblems, parsed.yaml, parsed.lineCounter) };
  const { auth, callers } = parsed.document;
  const signing = {
    issuer: auth.issuer,
    audience: auth.audience,
    maxTokenLifetimeSec: auth.maxTokenLifetimeSec,
    callers: Object.keys(callers),
  };
  const index = auth.keys.findIndex((k) => k.algorithms.includes('HS256') && (kid === undefined || k.kid === kid));
  if (index < 0) return { ok: true, signing };
  const resolved = resolveVerificationKey(auth.keys[index]!, ['auth', 'keys', index], io, path.dirname(sourcePath));
  if (resolved.ok) return { ok: true, signing: { ...signing, key: resolved.key } };
  return { ok: false, errors: withLines(resolved.problems, parsed.yaml, parsed.lineCounter) };
}

function readPolicyText(
  sourcePath: string,
  io: PolicyIo,
): { ok: true; text: string } | { ok: false; errors: ConfigProblem[] } {
  try {
    return { ok: true, text: io.readFile(sourcePath) };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException | null)?.code ?? 'unreadable';
    return { ok: false, errors: [{ path: '(file)', message: `cannot read policy file ${sourcePath} (${code})` }] };
  }
}
