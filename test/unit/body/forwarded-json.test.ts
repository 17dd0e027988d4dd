import fc from 'fast-check';
import iconv from 'iconv-lite';
import { forwardedJsonBytes, writeForwardedJson } from '../../../src/gateway/body/forwarded-json';

/** A JSON value as JSON.parse gives them: finite numbers, any strings (lone surrogates included). */
const jsonValue = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constantFrom(null, true, false),
    fc.double({ noNaN: true, noDefaultInfinity: true }).filter((n) => !Object.is(n, -0)),
    fc.string({ unit: 'binary' }),
    fc.string({ unit: fc.constantFrom('+', 'A', 'C', 'I', '-', '"', '\\', 'é', '\u2028', '\x7f') }),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.string({ unit: 'binary', maxLength: 6 }), tie('value'), { maxKeys: 4 }),
  ),
})).value;

describe('writeForwardedJson', () => {
  it.each([
    [{ a: 'x+y' }, '{"a":"x\\u002by"}'],
    [{ hostName: 'wéb' }, '{"hostName":"w\\u00e9b"}'],
    [['😀'], '["\\ud83d\\ude00"]'],
    [{ n: 1e21, m: -1.5e-7 }, '{"n":1e21,"m":-1.5e-7}'],
    [{ s: 'a\u0000\u007f"\\' }, '{"s":"a\\u0000\\u007f\\"\\\\"}'],
    [{ ['__proto__']: 1 }, '{"__proto__":1}'],
  ])('%j → %s', (value, text) => {
    // As JSON.parse makes it (an own `__proto__` member, say).
    expect(writeForwardedJson(JSON.parse(JSON.stringify(value)))).toBe(text);
  });

  it('refuses what JSON cannot hold (a programming error upstream of it)', () => {
    expect(() => writeForwardedJson(Number.POSITIVE_INFINITY)).toThrow(RangeError);
    expect(() => writeForwardedJson(undefined)).toThrow(TypeError);
  });

  it('any value: printable ASCII without +, and UTF-8, Latin-1 and UTF-7 all read back the same value', () => {
    fc.assert(
      fc.property(jsonValue, (value) => {
        const bytes = forwardedJsonBytes(value);
        expect([...bytes].every((byte) => byte >= 0x20 && byte <= 0x7e && byte !== 0x2b)).toBe(true);
        const expected = JSON.parse(JSON.stringify(value)) as unknown;
        for (const charset of ['utf-8', 'latin1', 'utf-7'])
          expect(JSON.parse(iconv.decode(bytes, charset)) as unknown).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });
});
