/**
 * The one character rule shared by path segments and the query: the unreserved characters of
 * RFC 3986 (`A–Z a–z 0–9 - . _ ~`) may appear as they are, and a percent-encoding is accepted only
 * when it decodes to one of them other than `.`. Everything an encoding could smuggle past a later
 * decoder (`.` `/` `\` `%`, reserved delimiters, control and non-ASCII bytes) is refused instead of
 * being normalized, so the gateway and the upstream can never read the same target differently.
 */
import type { BadTargetReason } from './reasons';

const UNRESERVED = /^[A-Za-z0-9._~-]$/;
const HEX_PAIR = /^[0-9A-Fa-f]{2}$/;

export function isUnreserved(char: string): boolean {
  return UNRESERVED.test(char);
}

/** Why an encoded byte is refused, or `undefined` when it decodes to an allowed character. */
export function refusalOfEncodedByte(byte: number): BadTargetReason | undefined {
  if (byte === 0x25) return 'double-encoding';
  if (byte === 0x2e) return 'encoded-dot';
  if (byte === 0x2f || byte === 0x5c) return 'encoded-separator';
  if (byte < 0x20 || byte >= 0x7f) return 'forbidden-byte';
  return isUnreserved(String.fromCharCode(byte)) ? undefined : 'encoded-reserved';
}

export type EncodedRead = { ok: true; char: string } | { ok: false; reason: BadTargetReason };

/** Reads the escape that starts with the `%` at `index` (three characters long when it is valid). */
export function readEscape(text: string, index: number): EncodedRead {
  const hex = text.slice(index + 1, index + 3);
  if (!HEX_PAIR.test(hex)) return { ok: false, reason: 'malformed-percent-encoding' };
  const byte = Number.parseInt(hex, 16);
  const refusal = refusalOfEncodedByte(byte);
  return refusal ? { ok: false, reason: refusal } : { ok: true, char: String.fromCharCode(byte) };
}

/** Encodes a canonical value for the rebuilt target; validated values pass through unchanged. */
export function encodeCanonical(value: string): string {
  let out = '';
  for (const char of value) {
    out += isUnreserved(char)
      ? char
      : [...Buffer.from(char, 'utf8')].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');
  }
  return out;
}
