/** Longest piece of a caller's value that a public message repeats. */
export const QUOTED_VALUE_MAX_CHARS = 64;

/**
 * A caller-supplied string as a public message may show it: JSON-quoted (so control characters,
 * quotes and lone surrogates are escaped) and cut to `maxChars`, never splitting a surrogate pair.
 */
export function quoteValue(value: string, maxChars = QUOTED_VALUE_MAX_CHARS): string {
  if (value.length <= maxChars) return JSON.stringify(value);
  let end = maxChars;
  const last = value.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return `${JSON.stringify(value.slice(0, end))}…`;
}
