/**
 * Tag globs: `*` matches any run of characters (none included); every other character is literal
 * and the whole tag must match. Deliberately not a regular expression: `.`, `?` or `[` in a tag
 * mean themselves, and matching takes at most O(tag × glob) steps whatever the input (no
 * backtracking blow-up on a hostile tag).
 */
export const GLOB_ANY = '*';

export function isGlob(pattern: string): boolean {
  return pattern.includes(GLOB_ANY);
}

export function globMatches(pattern: string, text: string): boolean {
  let p = 0;
  let t = 0;
  // Where the last `*` was, and where in `text` it currently stops: on a mismatch, let it swallow one more.
  let starAt = -1;
  let starText = 0;
  while (t < text.length) {
    if (p < pattern.length && pattern[p] === GLOB_ANY) {
      starAt = p++;
      starText = t;
    } else if (p < pattern.length && pattern[p] === text[t]) {
      p++;
      t++;
    } else if (starAt >= 0) {
      p = starAt + 1;
      t = ++starText;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === GLOB_ANY) p++;
  return p === pattern.length;
}

/** True when `text` matches one of the patterns (each exact or a glob). */
export function matchesAny(patterns: readonly string[], text: string): boolean {
  return patterns.some((pattern) => (isGlob(pattern) ? globMatches(pattern, text) : pattern === text));
}
