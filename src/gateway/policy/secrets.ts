import * as path from 'node:path';
import type { DocPath, PathedProblem } from './problems';
import type { SecretRef } from './secret-ref';
import type { PolicyIo } from './types';

export type ReadResult = { ok: true; value: string } | { ok: false; problem: PathedProblem };

/**
 * Relative paths are relative to the policy file, not to wherever the process was started.
 * `path.join`, not `resolve`: resolving would read the process's working directory.
 */
export function resolveAgainst(baseDir: string, file: string): string {
  return path.isAbsolute(file) ? file : path.join(baseDir, file);
}

/** Reads a file through `io`, reporting failure by error code only. */
export function readPolicyFile(file: string, at: DocPath, io: PolicyIo, baseDir: string): ReadResult {
  const fullPath = resolveAgainst(baseDir, file);
  try {
    return { ok: true, value: io.readFile(fullPath) };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException | null)?.code ?? 'unreadable';
    return { ok: false, problem: { at, message: `cannot read file ${fullPath} (${code})` } };
  }
}

/**
 * Reads the value behind a reference. Problems name the variable or the file, never the value.
 * Trailing line breaks are dropped: secret files written with `echo` end in one, and an API key
 * with a newline would break (or inject into) the Authorization header.
 */
export function readSecret(ref: SecretRef, at: DocPath, io: PolicyIo, baseDir: string): ReadResult {
  let raw: string;
  if (ref.env !== undefined) {
    const value = io.readEnv(ref.env);
    if (value === undefined)
      return { ok: false, problem: { at: [...at, 'env'], message: `environment variable ${ref.env} is not set` } };
    raw = value;
  } else {
    const read = readPolicyFile(ref.file, [...at, 'file'], io, baseDir);
    if (!read.ok) return read;
    raw = read.value;
  }
  const value = raw.replace(/[\r\n]+$/, '');
  if (value === '') {
    const where =
      ref.env !== undefined
        ? ['env', `environment variable ${ref.env}`]
        : ['file', `file ${resolveAgainst(baseDir, ref.file)}`];
    return { ok: false, problem: { at: [...at, where[0]!], message: `${where[1]} is empty` } };
  }
  return { ok: true, value };
}

/** Visible ASCII only: the key goes into an HTTP header verbatim. */
const HEADER_SAFE = /^[\x21-\x7E]+$/;

export function headerSafetyProblem(value: string): string | undefined {
  return HEADER_SAFE.test(value) ? undefined : 'the value contains spaces, control or non-ASCII characters';
}
