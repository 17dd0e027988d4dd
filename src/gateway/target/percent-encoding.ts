/**
 * The one character rule shared by path segments and the query: the unreserved characters of
 * RFC 3986 (`A–Z a–z 0–9 - . _ ~`) may appear as they are, and **no** percent-encoding is accepted.
 * An escape of an unreserved character would be decoded into a target the caller did not write
 * (`/%61pi/v1` is `/api/v1`), and the others could smuggle something past a later decoder (`.` `/`
 * `\` `%`, reserved delimiters, control and non-ASCII bytes). Refusing all of them, instead of
 * normalizing some, means the gateway checks and forwards the target exactly as written: no
 * decoder, here or upstream, can read it differently.
 */
import type { BadTargetReason } from './reasons';

const UNRESERVED = /^[A-Za-z0-9._~-]$/;
const HEX_PAIR = /^[0-9A-Fa-f]{2}$/;

export function isUnreserved(char: string): boolean {
  return UNRESERVED.test(char);
}

/**
 * Why an encoded byte is refused. Every byte is; the reason names what it would have decoded to,
 * for logs and for the public message.
 */
export function refusalOfEncodedByte(byte: number): BadTargetReason {
  if (byte === 0x25) return 'double-encoding';
  if (byte === 0x2e) return 'encoded-dot';
  if (byte === 0x2f || byte === 0x5c) return 'encoded-separator';
  if (byte < 0x20 || byte >= 0x7f) return 'forbidden-byte';
  return isUnreserved(String.fromCharCode(byte)) ? 'encoded-unreserved' : 'encoded-reserved';
}

/** Why the escape that starts with the `%` at `index` is refused (malformed, or what it encodes). */
export function refusalOfEscape(text: string, index: number): BadTargetReason {
  const hex = text.slice(index + 1, index + 3);
  if (!HEX_PAIR.test(hex)) return 'malformed-percent-encoding';
  return refusalOfEncodedByte(Number.parseInt(hex, 16));
}
