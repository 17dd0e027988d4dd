/**
 * Ways a provider might read a JSON body, written independently of the gateway's parser, to judge
 * what the gateway forwards (issue #11): a strict reader (duplicate keys are an error), a
 * case-insensitive last-wins reader (Go's encoding/json into a struct: keys match fields ignoring
 * case, the last match wins), and charset-honouring readers (body-parser: decode the bytes with
 * iconv-lite in the declared charset, then `JSON.parse`).
 */
import iconv from 'iconv-lite';

/** A parsed JSON value that keeps every object member in order, duplicates included. */
export type JsonNode =
  | { kind: 'object'; members: [string, JsonNode][] }
  | { kind: 'array'; items: JsonNode[] }
  | { kind: 'number'; token: string }
  | { kind: 'scalar'; value: string | boolean | null };

// eslint-disable-next-line no-control-regex -- RFC 8259 §7: unescaped controls are what it refuses
const STRING_TOKEN = /^"(?:[^"\\\u0000-\u001f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*"/;

/** A small recursive-descent JSON reader (RFC 8259); throws on anything else. */
export function parseJsonNodes(text: string): JsonNode {
  let at = 0;
  const ws = () => {
    while (at < text.length && ' \t\n\r'.includes(text[at]!)) at++;
  };
  const fail = (what: string): never => {
    throw new SyntaxError(`${what} at ${at}`);
  };
  const string = (): string => {
    // Control characters (below U+0020) must be escaped inside strings.
    const match = STRING_TOKEN.exec(text.slice(at));
    if (!match) fail('bad string');
    at += match![0].length;
    return JSON.parse(match![0]) as string;
  };
  const value = (): JsonNode => {
    ws();
    const char = text[at];
    if (char === '{') {
      at++;
      const members: [string, JsonNode][] = [];
      ws();
      if (text[at] === '}') {
        at++;
        return { kind: 'object', members };
      }
      for (;;) {
        ws();
        const key = string();
        ws();
        if (text[at++] !== ':') fail('expected :');
        members.push([key, value()]);
        ws();
        const next = text[at++];
        if (next === '}') return { kind: 'object', members };
        if (next !== ',') fail('expected , or }');
      }
    }
    if (char === '[') {
      at++;
      const items: JsonNode[] = [];
      ws();
      if (text[at] === ']') {
        at++;
        return { kind: 'array', items };
      }
      for (;;) {
        items.push(value());
        ws();
        const next = text[at++];
        if (next === ']') return { kind: 'array', items };
        if (next !== ',') fail('expected , or ]');
      }
    }
    if (char === '"') return { kind: 'scalar', value: string() };
    const number = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/.exec(text.slice(at));
    if (number) {
      at += number[0].length;
      return { kind: 'number', token: number[0] };
    }
    for (const [word, literal] of [
      ['true', true],
      ['false', false],
      ['null', null],
    ] as const) {
      if (text.startsWith(word, at)) {
        at += word.length;
        return { kind: 'scalar', value: literal };
      }
    }
    return fail('unexpected character');
  };
  const root = value();
  ws();
  if (at !== text.length) fail('trailing text');
  return root;
}

function toValue(node: JsonNode, keyOf: (key: string) => string, duplicates: 'refuse' | 'last-wins'): unknown {
  switch (node.kind) {
    case 'scalar':
      return node.value;
    case 'number':
      return Number(node.token);
    case 'array':
      return node.items.map((item) => toValue(item, keyOf, duplicates));
    case 'object': {
      const object: Record<string, unknown> = {};
      for (const [key, member] of node.members) {
        const name = keyOf(key);
        if (duplicates === 'refuse' && Object.hasOwn(object, name)) throw new SyntaxError(`duplicate key ${key}`);
        Object.defineProperty(object, name, {
          value: toValue(member, keyOf, duplicates),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      return object;
    }
  }
}

const utf8 = (bytes: Buffer) => new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);

/** Strict: UTF-8 only, duplicate keys refused (throws). */
export function strictReading(bytes: Buffer): unknown {
  return toValue(parseJsonNodes(utf8(bytes)), (key) => key, 'refuse');
}

/**
 * Case-insensitive, last wins, as Go's encoding/json fills a struct: a key naming one of `fields`
 * in any case (Unicode simple folding) sets that field, the last one wins; other keys are dropped.
 * Top level only: the provider's bodies are flat.
 */
export function caseInsensitiveReading(bytes: Buffer, fields: readonly string[]): Record<string, unknown> {
  const root = parseJsonNodes(utf8(bytes));
  if (root.kind !== 'object') throw new TypeError('not an object');
  const fold = (key: string) => key.toLowerCase().toUpperCase().toLowerCase();
  const reading: Record<string, unknown> = {};
  for (const [key, member] of root.members) {
    const field = fields.find((name) => fold(name) === fold(key));
    if (field !== undefined) reading[field] = toValue(member, (k) => k, 'last-wins');
  }
  return reading;
}

/** The charset a Content-Type names, as body-parser finds it (`utf-8` when none). */
export function declaredCharset(contentType: string | undefined): string {
  const match = /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(contentType ?? '');
  return (match?.[1] ?? 'utf-8').toLowerCase();
}

/** body-parser's reading: decode in the declared charset with iconv-lite, then JSON.parse (last wins). */
export function charsetReading(bytes: Buffer, contentType: string | undefined): unknown {
  return charsetReadingAs(bytes, declaredCharset(contentType));
}

export function charsetReadingAs(bytes: Buffer, charset: string): unknown {
  return JSON.parse(iconv.decode(bytes, charset)) as unknown;
}

/** Every number token in the text is the shortest form of its double: any reader gets the same number. */
export function numbersAreCanonical(node: JsonNode): boolean {
  switch (node.kind) {
    case 'number':
      return String(Number(node.token)).replace('+', '') === node.token;
    case 'array':
      return node.items.every(numbersAreCanonical);
    case 'object':
      return node.members.every(([, member]) => numbersAreCanonical(member));
    default:
      return true;
  }
}
