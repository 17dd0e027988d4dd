import * as path from 'node:path';
import { checkReferences } from './check-references';
import { locateProblems, readPolicyYaml, type LinesOf, type PolicyYaml } from './policy-yaml';
import { readPolicyYamlInChild } from './policy-yaml-child';
import type { ConfigProblem } from './problems';
import { resolveVerificationKey } from './resolve-keys';
import { resolvePolicyDocument } from './resolve-policy';
import { policyDocumentSchema, type PolicyDocument } from './schema';
import type { PolicyIo, PolicyResult, SigningPolicyResult } from './types';
import { policyErrorMap, problemsFromIssues } from './zod-issues';

export type DocumentResult = { ok: true; document: PolicyDocument } | { ok: false; errors: ConfigProblem[] };

/**
 * From this size on the YAML is read in a child process (issue #15): yaml's document model takes
 * ~130 bytes of heap per byte of text, which V8 keeps as RSS once it is garbage. Ten times the
 * largest example policy, so a hand-written policy and the embedded default never pay the child's
 * start (~0.3 s).
 */
export const CHILD_PARSE_FROM_CHARS = 64 * 1024;

function readYaml(text: string): PolicyYaml {
  return text.length >= CHILD_PARSE_FROM_CHARS ? readPolicyYamlInChild(text) : readPolicyYaml(text);
}

/** The document, shaped, with the lines of its paths for the problems found later; or the problems so far. */
type Parsed = { ok: true; document: PolicyDocument; linesOf: LinesOf } | { ok: false; problems: ConfigProblem[] };

function parseAndCheckShape(text: string): Parsed {
  const yaml = readYaml(text);
  if (!yaml.ok) return yaml;
  const shape = policyDocumentSchema.safeParse(yaml.value, { error: policyErrorMap });
  if (!shape.success)
    return { ok: false, problems: locateProblems(problemsFromIssues(shape.error.issues), yaml.linesOf) };
  return { ok: true, document: shape.data, linesOf: yaml.linesOf };
}

/**
 * Checks a policy without touching secrets (for a `--check` in CI, where the secrets are absent):
 * YAML syntax, shape and cross-references.
 */
export function validatePolicyText(text: string): DocumentResult {
  const parsed = parseAndCheckShape(text);
  if (!parsed.ok) return { ok: false, errors: parsed.problems };
  const referenceProblems = checkReferences(parsed.document);
  if (referenceProblems.length > 0) return { ok: false, errors: locateProblems(referenceProblems, parsed.linesOf) };
  return { ok: true, document: parsed.document };
}

/** Parses, checks and resolves a policy. `sourcePath` names it in messages and anchors relative file paths. */
export function parsePolicy(text: string, sourcePath: string, io: PolicyIo): PolicyResult {
  const parsed = parseAndCheckShape(text);
  if (!parsed.ok) return { ok: false, errors: parsed.problems };
  const resolved = resolvePolicyDocument(parsed.document, io, { baseDir: path.dirname(sourcePath), sourcePath });
  if (!resolved.ok) return { ok: false, errors: locateProblems(resolved.problems, parsed.linesOf) };
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
  if (!parsed.ok) return { ok: false, errors: parsed.problems };
  const referenceProblems = checkReferences(parsed.document);
  if (referenceProblems.length > 0) return { ok: false, errors: locateProblems(referenceProblems, parsed.linesOf) };
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
  return { ok: false, errors: locateProblems(resolved.problems, parsed.linesOf) };
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
