import { createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';
import { keyMismatch, type VerificationKey } from '../auth/verification-key';
import type { DocPath, PathedProblem } from './problems';
import { weakHs256SecretProblem } from './hs256-secret-strength';
import type { AuthKeyDocument } from './schema';
import { readPolicyFile, readSecret, type ReadResult } from './secrets';
import type { PolicyIo } from './types';

export type KeyResult = { ok: true; key: VerificationKey } | { ok: false; problems: PathedProblem[] };

/**
 * Turns one configured key into a KeyObject and proves, once, that it fits every algorithm it is
 * allowed for. This is what makes HS256-with-the-RSA-public-key impossible to configure.
 */
export function resolveVerificationKey(key: AuthKeyDocument, at: DocPath, io: PolicyIo, baseDir: string): KeyResult {
  let materialAt: DocPath;
  let read: ReadResult;
  if (key.secret !== undefined) {
    materialAt = [...at, 'secret'];
    read = readSecret(key.secret, materialAt, io, baseDir);
  } else if (key.publicKey !== undefined) {
    materialAt = [...at, 'publicKey'];
    read = readSecret(key.publicKey, materialAt, io, baseDir);
  } else {
    materialAt = [...at, 'publicKeyFile'];
    read = readPolicyFile(key.publicKeyFile!, materialAt, io, baseDir);
  }
  if (!read.ok) return { ok: false, problems: [read.problem] };

  const parsed =
    key.secret !== undefined
      ? { ok: true as const, key: createSecretKey(Buffer.from(read.value, 'utf8')) }
      : parsePublicKey(read.value);
  if (!parsed.ok) return { ok: false, problems: [{ at: materialAt, message: parsed.message }] };

  const problems = [...new Set(key.algorithms)].flatMap((algorithm) => {
    const mismatch = keyMismatch(parsed.key, algorithm);
    return mismatch ? [{ at: materialAt, message: mismatch }] : [];
  });
  if (problems.length > 0) return { ok: false, problems };
  // After the length check: a short secret is reported as short, not also as weak.
  const weak = key.secret !== undefined ? weakHs256SecretProblem(read.value) : undefined;
  if (weak !== undefined) return { ok: false, problems: [{ at: materialAt, message: weak }] };
  return { ok: true, key: { kid: key.kid, algorithms: [...new Set(key.algorithms)], key: parsed.key } };
}

function parsePublicKey(pem: string): { ok: true; key: KeyObject } | { ok: false; message: string } {
  // createPublicKey would happily derive a public key from a private one; a private key has no
  // business in the gateway's configuration, so refuse it rather than use it.
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem))
    return { ok: false, message: 'holds a PRIVATE key; configure the public key only' };
  try {
    return { ok: true, key: createPublicKey(pem) };
  } catch {
    return { ok: false, message: 'is not a PEM public key' };
  }
}
