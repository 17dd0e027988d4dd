import { createHash } from 'node:crypto';
import { SHIPPED_SECRET_DIGESTS } from './shipped-secrets';

/**
 * Why an HS256 secret is too weak to sign tokens with, or undefined. Whoever knows or guesses the
 * secret can mint a token for any caller, so a secret that is public (shipped in the repository's
 * examples), a placeholder nobody replaced, or guessable is refused at load, like a short one.
 * Messages never contain the value.
 */

/** The least estimated entropy, in bits, of an HS256 secret (see `estimatedEntropyBits`). */
export const MIN_HS256_SECRET_ENTROPY_BITS = 128;

/**
 * Words of placeholders and demo values, compared with the secret lower-cased and stripped of
 * everything but letters and digits (so `REPLACE-ME`, `replace_me` and `ReplaceMe` are all found).
 */
const PLACEHOLDER_WORDS = [
  'replaceme',
  'changeme',
  'example',
  'placeholder',
  'notforproduction',
  'yoursecret',
  'dummy',
  'insecure',
] as const;

export function sha256Hex(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

/**
 * Length times the Shannon entropy of the secret's own character frequencies: an estimate from the
 * one sample there is. It is 0 for one repeated character, about 32 for `abab…` of 32 characters,
 * about 250 for `openssl rand -hex 32` and about 210 for `openssl rand -base64 32`.
 */
export function estimatedEntropyBits(secret: string): number {
  const characters = [...secret];
  const counts = new Map<string, number>();
  for (const character of characters) counts.set(character, (counts.get(character) ?? 0) + 1);
  let bitsPerCharacter = 0;
  for (const count of counts.values()) {
    const p = count / characters.length;
    bitsPerCharacter -= p * Math.log2(p);
  }
  return bitsPerCharacter * characters.length;
}

export function weakHs256SecretProblem(secret: string): string | undefined {
  const shippedIn = SHIPPED_SECRET_DIGESTS.get(sha256Hex(secret));
  if (shippedIn !== undefined)
    return `is a value shipped in the repository's examples (${shippedIn}), known to anyone who read it; generate a random secret`;
  const letters = secret.toLowerCase().replace(/[^a-z0-9]/g, '');
  const word = PLACEHOLDER_WORDS.find((w) => letters.includes(w));
  if (word !== undefined) return `looks like a placeholder (contains "${word}"); generate a random secret`;
  if (/^(.)\1*$/su.test(secret)) return 'is one character repeated; generate a random secret';
  const bits = estimatedEntropyBits(secret);
  if (bits < MIN_HS256_SECRET_ENTROPY_BITS)
    return `has too little entropy (about ${Math.floor(bits)} bits estimated, at least ${MIN_HS256_SECRET_ENTROPY_BITS} required); generate one with \`openssl rand -base64 32\``;
  return undefined;
}
