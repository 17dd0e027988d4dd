/**
 * The bytes the gateway forwards for a checked JSON body: the checked value written back, in
 * printable ASCII only and without `+`. Every non-ASCII character, `+` and DEL inside strings
 * become `\uXXXX` escapes, and a number's exponent is written without `+` (`1e21`, not `1e+21`).
 * So UTF-8, Latin-1 and UTF-7 (where `+` opens a shifted run) all decode the forwarded bytes to the
 * same text: however the provider picks a charset, it reads the value the gateway checked.
 */

/** Anything outside printable ASCII, and `+`, as a JSON escape. */
const UNSAFE_IN_STRING = /[^\x20-\x2a\x2c-\x7e]/g;

function escapeUnsafe(char: string): string {
  return `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

/** A JSON value as the gateway forwards it (a value from `JSON.parse`: no undefined, no cycles). */
export function writeForwardedJson(value: unknown): string {
  if (value === null || typeof value === 'boolean') return String(value);
  if (typeof value === 'number') {
    // The strict parser let only exact, finite numbers through; a NaN here is a programming error.
    if (!Number.isFinite(value)) throw new RangeError('writeForwardedJson: a number is not finite');
    return String(value).replace('+', '');
  }
  // JSON.stringify escapes quotes, backslashes, controls and lone surrogates; the rest is ours.
  if (typeof value === 'string') return JSON.stringify(value).replace(UNSAFE_IN_STRING, escapeUnsafe);
  if (Array.isArray(value)) return `[${value.map(writeForwardedJson).join(',')}]`;
  if (typeof value === 'object') {
    const members = Object.keys(value).map(
      (key) => `${writeForwardedJson(key)}:${writeForwardedJson((value as Record<string, unknown>)[key])}`,
    );
    return `{${members.join(',')}}`;
  }
  throw new TypeError(`writeForwardedJson: a ${typeof value} is not a JSON value`);
}

export function forwardedJsonBytes(value: unknown): Buffer {
  return Buffer.from(writeForwardedJson(value), 'ascii');
}
