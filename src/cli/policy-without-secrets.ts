/**
 * A policy resolved without its secrets, for `check-config --no-secrets` and `explain`: they need
 * the structure (accounts and their limits, scopes, callers) but neither API keys nor signing keys,
 * so they work in CI, where the secrets are absent, and never hold one. Not for serving: its
 * accounts carry a placeholder key and it has no verification keys.
 */
import path from 'node:path';
import { resolvePolicy, validatePolicyText } from '../gateway/policy';
import type { PolicyResult } from '../gateway/policy/types';

/** What every secret reference reads as: a value no provider accepts, visible ASCII so it resolves. */
export const UNRESOLVED_SECRET = 'unresolved-secret';

export function policyWithoutSecrets(text: string, sourcePath: string): PolicyResult {
  const checked = validatePolicyText(text);
  if (!checked.ok) return checked;
  // Keys are left out: resolving one reads its material, and nothing here verifies a token.
  const document = { ...checked.document, auth: { ...checked.document.auth, keys: [] } };
  const placeholders = { readEnv: () => UNRESOLVED_SECRET, readFile: () => UNRESOLVED_SECRET };
  // TLS files are certificates and a private key: their paths are kept, nothing is read.
  return resolvePolicy(document, placeholders, { baseDir: path.dirname(sourcePath), sourcePath, readTlsFiles: false });
}

/** As `loadPolicyFile`, reading only the policy file itself. */
export function loadPolicyFileWithoutSecrets(sourcePath: string, readFile: (file: string) => string): PolicyResult {
  let text: string;
  try {
    text = readFile(sourcePath);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException | null)?.code ?? 'unreadable';
    return { ok: false, errors: [{ path: '(file)', message: `cannot read policy file ${sourcePath} (${code})` }] };
  }
  return policyWithoutSecrets(text, sourcePath);
}
