import { randomBytes } from 'node:crypto';
import {
  MIN_HS256_SECRET_ENTROPY_BITS,
  estimatedEntropyBits,
  weakHs256SecretProblem,
} from '../../../src/gateway/policy/hs256-secret-strength';

describe('weakHs256SecretProblem', () => {
  it.each([
    [
      'the Kubernetes placeholder once shipped',
      'REPLACE-ME-at-least-32-random-bytes-shared-with-token-issuers',
      'shipped',
    ],
    ["compose's demo secret once shipped", 'compose-demo-secret-not-for-production-use-0123456789', 'shipped'],
    ['REPLACE_ME in any case and spelling', 'x9Qf-replace_me-7Lk2PzW81mNc4RtY0uVb3EoJ', 'placeholder'],
    ['changeme', 'Kc7fQ2-ChangeMe-pW81mNc4RtY0uVb3EoJx9zLa', 'placeholder'],
    ['an example value', 'example-jwt-secret-p7Qm2Kd9Wz4Lx8Rt3Nc6', 'placeholder'],
    ['a placeholder', 'P7qM2kD9-placeholder-wZ4lX8rT3nC6vB1yH5', 'placeholder'],
    ['one repeated character', 'x'.repeat(64), 'repeated'],
    ['two characters alternating', 'ab'.repeat(32), 'entropy'],
    ['a word repeated', 'password'.repeat(4), 'entropy'],
  ])('refuses %s', (_name, secret, kind) => {
    const problem = weakHs256SecretProblem(secret);
    const expected = {
      shipped: /shipped in the repository's examples/,
      placeholder: /looks like a placeholder/,
      repeated: /one character repeated/,
      entropy: /too little entropy/,
    }[kind]!;
    expect(problem).toMatch(expected);
    expect(problem).not.toContain(secret);
  });

  it.each([
    ['openssl rand -base64 32', () => randomBytes(32).toString('base64')],
    ['openssl rand -hex 32', () => randomBytes(32).toString('hex')],
    ['32 random bytes, base64url', () => randomBytes(32).toString('base64url')],
  ])('accepts a secret made like %s', (_name, make) => {
    for (let i = 0; i < 50; i++) expect(weakHs256SecretProblem(make())).toBeUndefined();
  });

  it('accepts the test suites’ own secrets, long and varied', () => {
    expect(weakHs256SecretProblem('hs-secret-0123456789abcdef0123456789abcdef')).toBeUndefined();
    expect(weakHs256SecretProblem('hs-bin-test-secret-0123456789abcdef0123456789')).toBeUndefined();
  });
});

describe('estimatedEntropyBits', () => {
  it.each([
    ['', 0],
    ['aaaa', 0],
    ['abab', 4],
    ['abcd', 8],
  ])('%j holds %d bits', (secret, bits) => {
    expect(estimatedEntropyBits(secret)).toBeCloseTo(bits, 6);
  });

  it('puts the threshold between guessable and random', () => {
    expect(estimatedEntropyBits('ab'.repeat(32))).toBeLessThan(MIN_HS256_SECRET_ENTROPY_BITS);
    expect(estimatedEntropyBits(randomBytes(32).toString('base64'))).toBeGreaterThan(MIN_HS256_SECRET_ENTROPY_BITS);
  });
});
