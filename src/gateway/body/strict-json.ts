/**
 * Strict JSON for request bodies the gateway inspects (issues #7, #11). `JSON.parse` alone is not
 * enough: it keeps the *last* of duplicate keys, while another parser (the provider's) may keep the
 * first, so `{"region":"KGL-1","region":"elsewhere"}` could pass a constraint here and mean something
 * else upstream. So a scanner checks the RFC 8259 grammar first — iteratively, so no nesting
 * exhausts a stack — refusing duplicate keys (compared after escapes are decoded: `"a"` and
 * `"\u0061"` are the same key), keys of one object equal ignoring case (`foldKey`: a case-insensitive
 * decoder reads them as one), numbers the gateway could not forward with the same value
 * (`isExactJsonNumber`) and nesting past a limit; only then does `JSON.parse` build the value.
 *
 * Messages are public: they name a position, one character or a duplicate key (quoted, cut to 64
 * characters), never a chunk of the body.
 */
import { isExactJsonNumber } from './exact-number';
import { foldKey } from './key-fold';
import { quoteValue } from './quote';

export const DEFAULT_MAX_JSON_DEPTH = 32;

export type StrictJsonRefusal =
  'invalid-utf8' | 'syntax' | 'duplicate-key' | 'case-colliding-key' | 'inexact-number' | 'too-deep';

export type StrictJsonResult = { ok: true; value: unknown } | { ok: false; reason: StrictJsonRefusal; message: string };

export interface StrictJsonOptions {
  /** Most containers (objects and arrays) nested in one another; default 32. A scalar has depth 0. */
  maxDepth?: number;
}

interface Refusal {
  ok: false;
  reason: StrictJsonRefusal;
  message: string;
}

const refuse = (reason: StrictJsonRefusal, message: string): Refusal => ({ ok: false, reason, message });

const syntax = (detail: string) => refuse('syntax', `the request body is not valid JSON: ${detail}`);

/** "position" counts UTF-16 code units of the decoded text, from 0, as JSON.parse's own messages do. */
function unexpected(text: string, at: number): Refusal {
  if (at >= text.length) return syntax('unexpected end of input');
  const code = text.codePointAt(at)!;
  const shown =
    code >= 0x20 && code < 0x7f
      ? JSON.stringify(String.fromCodePoint(code))
      : `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
  return syntax(`unexpected character ${shown} at position ${at}`);
}

const UTF8_BOM = [0xef, 0xbb, 0xbf];

export function parseStrictJson(bytes: Buffer, options: StrictJsonOptions = {}): StrictJsonResult {
  const maxDepth = options.maxDepth ?? DEFAULT_MAX_JSON_DEPTH;
  if (!Number.isSafeInteger(maxDepth) || maxDepth < 0)
    throw new RangeError(`parseStrictJson: maxDepth must be a whole number ≥ 0, got ${maxDepth}`);

  // RFC 8259 §8.1: a JSON text must not start with a BOM. TextDecoder would drop it silently.
  if (UTF8_BOM.every((byte, index) => bytes[index] === byte))
    return syntax('a byte order mark (U+FEFF) is not allowed');
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return refuse('invalid-utf8', 'the request body is not valid UTF-8');
  }

  const scanned = scan(text, maxDepth);
  if (scanned) return scanned;
  try {
    // The scanner accepted exactly JSON.parse's grammar, so this does not throw; the catch is a backstop.
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return syntax('cannot be parsed');
  }
}

/** An object's keys so far, by folded spelling; `key` is the one whose value comes next. */
type Frame = { kind: 'object'; keys: Map<string, string>; key?: string } | { kind: 'array' };

/** What the scanner expects next. */
type Expect = 'value' | 'value-or-close' | 'key' | 'key-or-close' | 'colon' | 'comma-or-close';

const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const LITERALS = ['true', 'false', 'null'] as const;

function isWhitespace(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d;
}

/** The RFC 8259 grammar, with duplicate keys and depth checked on the way; undefined when accepted. */
function scan(text: string, maxDepth: number): Refusal | undefined {
  const stack: Frame[] = [];
  let expect: Expect = 'value';
  let at = 0;
  for (;;) {
    while (at < text.length && isWhitespace(text.charCodeAt(at))) at++;
    if (at >= text.length) {
      if (stack.length === 0 && expect === 'comma-or-close') return undefined;
      return stack.length === 0 && expect === 'value' ? syntax('the body is empty') : unexpected(text, at);
    }
    const char = text[at]!;
    switch (expect) {
      case 'value':
      case 'value-or-close': {
        if (char === ']' && expect === 'value-or-close') {
          stack.pop();
          at++;
          expect = 'comma-or-close';
          break;
        }
        if (char === '{' || char === '[') {
          if (stack.length >= maxDepth)
            return refuse('too-deep', `the request body nests deeper than ${maxDepth} levels`);
          stack.push(char === '{' ? { kind: 'object', keys: new Map() } : { kind: 'array' });
          at++;
          expect = char === '{' ? 'key-or-close' : 'value-or-close';
          break;
        }
        const end = scalarEnd(text, at);
        if (typeof end !== 'number') return end;
        const inexact = inexactNumber(text, at, end, stack[stack.length - 1]);
        if (inexact) return inexact;
        at = end;
        expect = 'comma-or-close';
        break;
      }
      case 'key':
      case 'key-or-close': {
        if (char === '}' && expect === 'key-or-close') {
          stack.pop();
          at++;
          expect = 'comma-or-close';
          break;
        }
        if (char !== '"') return unexpected(text, at);
        const end = stringEnd(text, at);
        if (typeof end !== 'number') return end;
        // The token is a valid JSON string, so JSON.parse decodes its escapes exactly as it will in the value.
        const key = JSON.parse(text.slice(at, end)) as string;
        const frame = stack[stack.length - 1] as Extract<Frame, { kind: 'object' }>;
        const earlier = frame.keys.get(foldKey(key));
        if (earlier === key)
          return refuse('duplicate-key', `the request body has a duplicate key ${quoteValue(key)} at position ${at}`);
        if (earlier !== undefined)
          return refuse(
            'case-colliding-key',
            `the request body has keys ${quoteValue(earlier)} and ${quoteValue(key)} that differ only in letter case, at position ${at}`,
          );
        frame.keys.set(foldKey(key), key);
        frame.key = key;
        at = end;
        expect = 'colon';
        break;
      }
      case 'colon':
        if (char !== ':') return unexpected(text, at);
        at++;
        expect = 'value';
        break;
      case 'comma-or-close': {
        const frame = stack[stack.length - 1];
        if (!frame) return unexpected(text, at);
        if (char === ',') {
          at++;
          expect = frame.kind === 'object' ? 'key' : 'value';
        } else if (char === (frame.kind === 'object' ? '}' : ']')) {
          stack.pop();
          at++;
        } else {
          return unexpected(text, at);
        }
        break;
      }
    }
  }
}

/** A number token the gateway would forward as another value; undefined for anything else. */
function inexactNumber(text: string, at: number, end: number, frame: Frame | undefined): Refusal | undefined {
  const token = text.slice(at, end);
  if (!/^-?[0-9]/.test(token) || isExactJsonNumber(token)) return undefined;
  const key = frame?.kind === 'object' && frame.key !== undefined ? ` (key ${quoteValue(frame.key)})` : '';
  return refuse(
    'inexact-number',
    `the number at position ${at}${key} cannot be forwarded exactly: out of range, more digits than a double holds, or -0`,
  );
}

/** The index just past the string, number or literal that starts at `at`, or why there is none. */
function scalarEnd(text: string, at: number): number | Refusal {
  const char = text[at]!;
  if (char === '"') return stringEnd(text, at);
  if (char === '-' || (char >= '0' && char <= '9')) {
    NUMBER.lastIndex = at;
    const match = NUMBER.exec(text);
    if (!match) return unexpected(text, char === '-' ? at + 1 : at);
    return at + match[0].length;
  }
  for (const literal of LITERALS) if (text.startsWith(literal, at)) return at + literal.length;
  return unexpected(text, at);
}

const SIMPLE_ESCAPES = new Set(['"', '\\', '/', 'b', 'f', 'n', 'r', 't']);
const HEX4 = /^[0-9A-Fa-f]{4}$/;

/** The index just past the closing quote of the string whose opening quote is at `at`. */
function stringEnd(text: string, at: number): number | Refusal {
  let index = at + 1;
  while (index < text.length) {
    const code = text.charCodeAt(index);
    if (code === 0x22) return index + 1;
    if (code < 0x20)
      return syntax(
        `a control character (U+${code.toString(16).toUpperCase().padStart(4, '0')}) must be escaped, at position ${index}`,
      );
    if (code === 0x5c) {
      const escape = text[index + 1];
      if (escape === 'u') {
        if (!HEX4.test(text.slice(index + 2, index + 6)))
          return syntax(`a \\u escape needs four hex digits, at position ${index}`);
        index += 6;
        continue;
      }
      if (escape === undefined || !SIMPLE_ESCAPES.has(escape)) return syntax(`invalid escape at position ${index}`);
      index += 2;
      continue;
    }
    index++;
  }
  return syntax(`unterminated string starting at position ${at}`);
}

/** A parsed JSON object (not an array, not null). */
export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
