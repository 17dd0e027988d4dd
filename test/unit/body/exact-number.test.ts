import fc from 'fast-check';
import { isExactJsonNumber } from '../../../src/gateway/body/exact-number';

/**
 * The exact integer value of what JavaScript writes for `Number(token)` (e.g. `1.1920928955078125e+23`),
 * or undefined when that is not a whole number. Not `BigInt(Number(token))`: that is the double's
 * binary value, while the gateway forwards the double's shortest decimal form.
 */
function integerWrittenBack(token: string): bigint | undefined {
  const [mantissa = '', exponent = '0'] = String(Number(token)).toLowerCase().split('e');
  const negative = mantissa.startsWith('-');
  const [whole = '', fraction = ''] = mantissa.replace('-', '').split('.');
  const scale = Number(exponent) - fraction.length;
  let digits = BigInt(`${whole}${fraction}`);
  if (scale >= 0) digits *= 10n ** BigInt(scale);
  else if (digits % 10n ** BigInt(-scale) === 0n) digits /= 10n ** BigInt(-scale);
  else return undefined;
  return negative ? -digits : digits;
}

describe('isExactJsonNumber', () => {
  it.each([
    '0',
    '1',
    '-1',
    '12',
    '1.0',
    '1.50',
    '1e2',
    '100',
    '1E+2',
    '0.1',
    '-0.5e-3',
    '0.000',
    '1e21',
    '9007199254740991',
    '9007199254740993.0e-16', // = 0.9007199254740993, which a double holds in its shortest form
    '5e-324',
    '1.7976931348623157e308',
  ])('%s is forwarded with the same value', (token) => {
    expect(isExactJsonNumber(token)).toBe(true);
  });

  it.each([
    ['1e400', 'out of range: JSON.stringify writes null'],
    ['-1e400', 'out of range'],
    ['1e-400', 'underflows to 0'],
    ['1208925819614629174706176', '2^80: forwarded as 1.2089258196146292e+24'],
    ['9007199254740993', '2^53 + 1: forwarded as 9007199254740992'],
    ['0.30000000000000001', 'forwarded as 0.3'],
    ['-0', 'forwarded as 0'],
    ['-0.0e5', 'a negative zero, however written'],
    [`1e${'9'.repeat(400)}`, 'an exponent of 400 digits'],
    ['1.5', 'fine', true],
  ])('%s is refused (%s)', (token, _why, exact = false) => {
    expect(isExactJsonNumber(token)).toBe(exact);
  });

  it('every finite double written by JavaScript is exact, with or without the + of its exponent', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (n) => {
        fc.pre(!Object.is(n, -0));
        const written = String(n);
        expect(isExactJsonNumber(written)).toBe(true);
        expect(isExactJsonNumber(written.replace('+', ''))).toBe(true);
      }),
    );
  });

  it('a token is exact exactly when JavaScript writes back the same decimal value (safe integers ± digits)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }), (n) => {
        fc.pre(n !== 0n);
        const token = n.toString();
        expect(isExactJsonNumber(token)).toBe(integerWrittenBack(token) === n);
      }),
    );
  });
});
