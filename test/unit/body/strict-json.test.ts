import fc from 'fast-check';
import { DEFAULT_MAX_JSON_DEPTH, parseStrictJson } from '../../../src/gateway/body/strict-json';
import { quoteValue } from '../../../src/gateway/body/quote';

const parse = (text: string, maxDepth?: number) =>
  parseStrictJson(Buffer.from(text, 'utf8'), maxDepth === undefined ? undefined : { maxDepth });

describe('parseStrictJson: accepted', () => {
  it.each([
    ['{"a":1,"b":[true,false,null],"c":{"d":"e"}}'],
    ['  {"hostName" : "web-1" , "tags" : [ ] }\n'],
    ['[]'],
    ['{}'],
    ['"just a string"'],
    ['0'],
    ['-0.5e+10'],
    ['1E3'],
    ['null'],
    ['\t\r\n true \t\r\n'],
    ['{"a":{"a":{"a":1}}}'], // the same key in different objects
    ['[{"a":1},{"a":2}]'],
    ['{"a":1,"b":{"A":2}}'], // a key and its case variant in different objects
    ['[1e21, 1E+21, 0.1, -5e-324, 100.000]'], // numbers a double holds exactly
    ['{"":1," ":2}'],
    ['"\\ud800"'], // a lone surrogate escape: JSON.parse accepts it, and so does RFC 8259's grammar
    ['"é ✓ 😀"'],
    ['{"\\u00e9":1,"é\\u0301":2}'], // no Unicode normalization: different code points, different keys
    ['"\\"\\\\\\/\\b\\f\\n\\r\\t\\u0041"'],
  ])('%s', (text) => {
    expect(parse(text)).toEqual({ ok: true, value: JSON.parse(text) });
  });

  it('keeps "__proto__" an ordinary own property, as JSON.parse does, and touches no prototype', () => {
    const result = parse('{"__proto__":{"polluted":true},"a":1}');
    if (!result.ok) throw new Error(result.message);
    const value = result.value as Record<string, unknown>;
    expect(Object.keys(value)).toEqual(['__proto__', 'a']);
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(value.polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(JSON.stringify(value)).toBe('{"__proto__":{"polluted":true},"a":1}');
  });

  it('counts "__proto__" like any key for duplicates', () => {
    expect(parse('{"__proto__":1,"__proto__":2}')).toMatchObject({ ok: false, reason: 'duplicate-key' });
  });

  it(`nests up to ${DEFAULT_MAX_JSON_DEPTH} containers by default`, () => {
    const depth = DEFAULT_MAX_JSON_DEPTH;
    expect(parse(`${'['.repeat(depth)}${']'.repeat(depth)}`).ok).toBe(true);
    expect(parse(`${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`).ok).toBe(true);
    expect(parse(`${'['.repeat(depth + 1)}${']'.repeat(depth + 1)}`)).toEqual({
      ok: false,
      reason: 'too-deep',
      message: 'the request body nests deeper than 32 levels',
    });
  });

  it('takes another depth limit', () => {
    expect(parse('[[1]]', 2).ok).toBe(true);
    expect(parse('[[[1]]]', 2)).toMatchObject({
      ok: false,
      reason: 'too-deep',
      message: 'the request body nests deeper than 2 levels',
    });
    expect(parse('1', 0).ok).toBe(true);
    expect(parse('[]', 0)).toMatchObject({ ok: false, reason: 'too-deep' });
    expect(() => parse('1', -1)).toThrow(RangeError);
    expect(() => parse('1', 1.5)).toThrow(RangeError);
  });

  it('refuses a million nested arrays quickly, without exhausting the stack', () => {
    expect(parse(`${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}`)).toMatchObject({ ok: false, reason: 'too-deep' });
  });
});

describe('parseStrictJson: refused', () => {
  it.each([
    ['{"a":1,"a":2}', 'the request body has a duplicate key "a" at position 7'],
    ['{"a":1,"\\u0061":2}', 'duplicate key "a"'],
    ['{"\\u0041":1,"A":2}', 'duplicate key "A"'],
    ['{"\\n":1,"\\u000a":2}', 'duplicate key "\\n"'],
    ['{"\\/":1,"/":2}', 'duplicate key "/"'],
    ['{"😀":1,"\\ud83d\\ude00":2}', 'duplicate key "😀"'],
    ['{"x":{"a":1,"b":2,"a":3}}', 'duplicate key "a"'],
    ['[1,{"k":[],"k":{}}]', 'duplicate key "k"'],
  ])('duplicate keys: %s', (text, message) => {
    const result = parse(text);
    expect(result).toMatchObject({ ok: false, reason: 'duplicate-key' });
    if (!result.ok) expect(result.message).toContain(message);
  });

  it.each([
    [
      '{"region":"KGL-1","Region":"EVIL-9"}',
      'keys "region" and "Region" that differ only in letter case, at position 18',
    ],
    ['{"WithPublicIp":true,"withPublicIp":false}', 'keys "WithPublicIp" and "withPublicIp"'],
    ['{"hostName":"a","hoſtName":"b"}', 'keys "hostName" and "hoſtName"'], // ſ (U+017F) folds to s
    ['{"k":1,"\u212a":2}', 'keys "k" and "\u212a"'], // the Kelvin sign folds to k
    ['{"ß":1,"SS":2}', 'keys "ß" and "SS"'], // wider than simple folding: refusing more is safe
    ['[{"tags":[{"x":1,"X":2}]}]', 'keys "x" and "X"'],
  ])('keys equal ignoring case: %s', (text, message) => {
    const result = parse(text);
    expect(result).toMatchObject({ ok: false, reason: 'case-colliding-key' });
    if (!result.ok) expect(result.message).toContain(message);
  });

  it.each([
    ['{"n":1e400}', 'the number at position 5 (key "n") cannot be forwarded exactly'],
    ['{"tags":[1208925819614629174706176]}', 'the number at position 9 cannot be forwarded exactly'],
    ['[0.30000000000000001]', 'position 1'],
    ['{"a":-0}', '(key "a")'],
    ['-1e-400', 'position 0'],
  ])('numbers a double does not hold exactly: %s', (text, message) => {
    const result = parse(text);
    expect(result).toMatchObject({ ok: false, reason: 'inexact-number' });
    if (!result.ok) expect(result.message).toContain(message);
  });

  it('names a long duplicate key cut to 64 characters', () => {
    const key = 'k'.repeat(5000);
    const result = parse(`{"${key}":1,"${key}":2}`);
    expect(result).toEqual({
      ok: false,
      reason: 'duplicate-key',
      message: `the request body has a duplicate key ${quoteValue(key)} at position 5006`,
    });
    if (!result.ok) expect(result.message.length).toBeLessThan(130);
  });

  it.each([
    ['', 'the request body is not valid JSON: the body is empty'],
    ['   \n', 'the request body is not valid JSON: the body is empty'],
    ['{', 'unexpected end of input'],
    ['{"a":1', 'unexpected end of input'],
    ['{"a" 1}', 'unexpected character "1" at position 5'],
    ['{"a":1,}', 'unexpected character "}" at position 7'],
    ['[1,]', 'unexpected character "]" at position 3'],
    ['[1 2]', 'unexpected character "2" at position 3'],
    ['{a:1}', 'unexpected character "a" at position 1'],
    ["{'a':1}", 'unexpected character "\'" at position 1'],
    ['{"a":1}}', 'unexpected character "}" at position 7'],
    ['{"a":1} {"a":1}', 'unexpected character "{" at position 8'],
    ['01', 'unexpected character "1" at position 1'],
    ['1.', 'unexpected character "." at position 1'],
    ['.5', 'unexpected character "." at position 0'],
    ['-', 'unexpected end of input'],
    ['-a', 'unexpected character "a" at position 1'],
    ['+1', 'unexpected character "+" at position 0'],
    ['1e', 'unexpected character "e" at position 1'],
    ['NaN', 'unexpected character "N" at position 0'],
    ['Infinity', 'unexpected character "I" at position 0'],
    ['tru', 'unexpected character "t" at position 0'],
    ['True', 'unexpected character "T" at position 0'],
    ['nullx', 'unexpected character "x" at position 4'],
    ['"abc', 'unterminated string starting at position 0'],
    ['"a\nb"', 'a control character (U+000A) must be escaped, at position 2'],
    ['"a\tb"', 'a control character (U+0009) must be escaped'],
    ['"\\x41"', 'invalid escape at position 1'],
    ['"\\u12"', 'a \\u escape needs four hex digits, at position 1'],
    ['"\\u12G4"', 'a \\u escape needs four hex digits'],
    ['"\\', 'invalid escape at position 1'],
    ['\u00a0{}', 'unexpected character U+00A0 at position 0'],
    ['{}\u2028', 'unexpected character U+2028 at position 2'],
    ['// comment\n{}', 'unexpected character "/" at position 0'],
    ['\u{1F600}', 'unexpected character U+1F600 at position 0'],
  ])('syntax: %j', (text, message) => {
    const result = parse(text);
    expect(result).toMatchObject({ ok: false, reason: 'syntax' });
    if (!result.ok) expect(result.message).toContain(message);
  });

  it('refuses a leading byte order mark', () => {
    expect(parseStrictJson(Buffer.from([0xef, 0xbb, 0xbf, 0x7b, 0x7d]))).toEqual({
      ok: false,
      reason: 'syntax',
      message: 'the request body is not valid JSON: a byte order mark (U+FEFF) is not allowed',
    });
    // Anywhere else, U+FEFF is a character like any other: fine in a string, not as whitespace.
    expect(parse('"\ufeff"').ok).toBe(true);
    expect(parse('{}\ufeff')).toMatchObject({ ok: false, reason: 'syntax' });
  });

  it.each([
    ['a lone continuation byte', [0x22, 0x80, 0x22]],
    ['a truncated sequence', [0x22, 0xe2, 0x82, 0x22]],
    ['an overlong encoding of "/"', [0x22, 0xc0, 0xaf, 0x22]],
    ['an encoded surrogate', [0x22, 0xed, 0xa0, 0x80, 0x22]],
    ['a code point above U+10FFFF', [0x22, 0xf4, 0x90, 0x80, 0x80, 0x22]],
    ['0xFF', [0xff]],
  ])('invalid UTF-8: %s', (_name, bytes) => {
    expect(parseStrictJson(Buffer.from(bytes))).toEqual({
      ok: false,
      reason: 'invalid-utf8',
      message: 'the request body is not valid UTF-8',
    });
  });

  it('never echoes a chunk of the body', () => {
    const secret = 'SECRET-'.repeat(100);
    for (const text of [
      `{"a":"${secret}" x}`,
      `{"a":1,"b":"${secret}",}`,
      `["${secret}`,
      `{"${secret}":1,"${secret}":2}`,
    ]) {
      const result = parse(text);
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.message.length).toBeLessThan(150);
    }
  });
});

/** A key spelled entirely with \\u escapes, one per UTF-16 code unit. */
function escapeEvery(key: string): string {
  const units = Array.from({ length: key.length }, (_, i) => `\\u${key.charCodeAt(i).toString(16).padStart(4, '0')}`);
  return `"${units.join('')}"`;
}

/** Whether two keys of one object anywhere in `value` are equal ignoring case (as foldKey folds them). */
function hasCaseCollision(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(hasCaseCollision);
  if (typeof value !== 'object' || value === null) return false;
  const keys = Object.keys(value);
  const folded = new Set(keys.map((key) => key.toLowerCase().toUpperCase().toLowerCase()));
  return folded.size < keys.length || Object.values(value).some(hasCaseCollision);
}

const REFUSALS = ['invalid-utf8', 'syntax', 'duplicate-key', 'case-colliding-key', 'inexact-number', 'too-deep'];
/** Refusals of texts JSON.parse accepts. */
const STRICTER_THAN_JSON_PARSE = ['duplicate-key', 'case-colliding-key', 'inexact-number'];

describe('parseStrictJson: properties', () => {
  const json = fc.jsonValue({ maxDepth: 8 });

  it('agrees with JSON.parse on every valid document without duplicate or case-colliding keys', () => {
    fc.assert(
      fc.property(fc.json({ maxDepth: 8 }), (text) => {
        const value = JSON.parse(text) as unknown;
        if (hasCaseCollision(value)) expect(parse(text)).toMatchObject({ ok: false, reason: 'case-colliding-key' });
        else expect(parse(text)).toEqual({ ok: true, value });
      }),
      { numRuns: 1000 },
    );
  });

  it('agrees with JSON.parse on full Unicode, pretty-printed', () => {
    fc.assert(
      fc.property(
        fc.jsonValue({ maxDepth: 6, stringUnit: 'grapheme' }),
        fc.constantFrom(0, 2, '\t'),
        (value, indent) => {
          const text = JSON.stringify(value, null, indent);
          fc.pre(!hasCaseCollision(value));
          expect(parse(text)).toEqual({ ok: true, value: JSON.parse(text) });
        },
      ),
      { numRuns: 500 },
    );
  });

  it('never throws, and any refusal has a short message', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 64 }),
          fc.string({ maxLength: 64 }).map((s) => Buffer.from(s)),
          fc.json().map((s) => Buffer.from(s.slice(0, -1))),
        ),
        (bytes) => {
          const result = parseStrictJson(Buffer.from(bytes));
          if (!result.ok) {
            expect(REFUSALS).toContain(result.reason);
            expect(result.message.length).toBeLessThan(200);
          } else {
            expect(result.value).toEqual(JSON.parse(Buffer.from(bytes).toString('utf8')));
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('agrees with JSON.parse on which texts are JSON (duplicates and depth aside)', () => {
    const text = fc.oneof(
      fc.json({ maxDepth: 4 }),
      fc.string({ unit: fc.constantFrom(...'{}[]",:0123456789.eE+- truefalsn\\u'.split('')), maxLength: 24 }),
    );
    fc.assert(
      fc.property(text, (candidate) => {
        let jsonParseAccepts = true;
        try {
          JSON.parse(candidate);
        } catch {
          jsonParseAccepts = false;
        }
        const result = parse(candidate, 1000);
        if (result.ok || result.reason === 'syntax') expect(result.ok).toBe(jsonParseAccepts);
        else expect(STRICTER_THAN_JSON_PARSE).toContain(result.reason);
      }),
      { numRuns: 3000 },
    );
  });

  it('agrees with JSON.parse on near-JSON: one character of a document inserted, removed or replaced', () => {
    const edit = fc.tuple(
      fc.json({ maxDepth: 4 }),
      fc.nat(),
      fc.constantFrom('insert', 'remove', 'replace'),
      fc.constantFrom(...'{}[]",:0.eE+-\\u \n\tx\u0000'.split('')),
    );
    fc.assert(
      fc.property(edit, ([text, at, kind, char]) => {
        const index = at % (text.length + 1);
        const edited =
          kind === 'insert'
            ? text.slice(0, index) + char + text.slice(index)
            : text.slice(0, index) + (kind === 'replace' ? char : '') + text.slice(index + 1);
        let jsonParseAccepts = true;
        try {
          JSON.parse(edited);
        } catch {
          jsonParseAccepts = false;
        }
        const result = parse(edited, 1000);
        if (result.ok || result.reason === 'syntax') expect(result.ok).toBe(jsonParseAccepts);
        else expect(STRICTER_THAN_JSON_PARSE).toContain(result.reason);
      }),
      { numRuns: 3000 },
    );
  });

  it('refuses any object with an injected duplicate key, however it is spelled and wherever it sits', () => {
    const withKeys = fc.dictionary(fc.string({ maxLength: 6, unit: 'grapheme' }), json, { minKeys: 1, maxKeys: 5 });
    fc.assert(
      fc.property(
        withKeys,
        fc.nat(),
        json,
        fc.boolean(),
        fc.array(json, { maxLength: 3 }),
        (object, which, value, escaped, siblings) => {
          fc.pre(!hasCaseCollision([object, value, siblings]));
          const keys = Object.keys(object);
          const key = keys[which % keys.length]!;
          const inner = JSON.stringify(object);
          const duplicate = `${escaped ? escapeEvery(key) : JSON.stringify(key)}:${JSON.stringify(value)}`;
          const injected = `${inner.slice(0, -1)},${duplicate}}`;
          const text = `[${[...siblings.map((s) => JSON.stringify(s)), injected].join(',')}]`;
          const result = parse(text);
          expect(result).toMatchObject({ ok: false, reason: 'duplicate-key' });
          if (!result.ok) expect(result.message).toContain(quoteValue(key));
        },
      ),
      { numRuns: 1000 },
    );
  });
});
