/**
 * Whether a JSON number token survives the gateway's parse-and-reserialise unchanged in value.
 * The gateway forwards the value it checked, written by JavaScript; a token a double cannot hold
 * exactly would reach the provider as another number (`1e400` → `null`, 2^80 →
 * `1.2089258196146292e+24`, `0.30000000000000001` → `0.3`), and a decimal-exact parser upstream
 * would have read the caller's own token differently from the gateway. So the token's decimal value
 * must equal the value of the double's shortest decimal form, compared exactly as digit strings.
 */

interface Decimal {
  negative: boolean;
  /** Significant digits without leading or trailing zeros; '' for zero. */
  digits: string;
  /** The value is `digits × 10^exponent`. */
  exponent: bigint;
}

const NUMBER_TOKEN = /^(-?)([0-9]+)(?:\.([0-9]+))?(?:[eE]([+-]?[0-9]+))?$/;

/** The exact decimal value of a JSON number token (or of `String(n)` for a finite double). */
function decimalOf(token: string): Decimal | undefined {
  const match = NUMBER_TOKEN.exec(token);
  if (!match) return undefined;
  const [, sign, whole, fraction = '', exponent = '0'] = match;
  const all = `${whole}${fraction}`;
  const leading = all.length - all.replace(/^0+/, '').length;
  const significant = all.slice(leading);
  const trimmed = significant.replace(/0+$/, '');
  return {
    negative: sign === '-',
    digits: trimmed,
    // BigInt: an exponent of thousands of digits must compare exactly, not as Infinity.
    exponent: BigInt(exponent) - BigInt(fraction.length) + BigInt(significant.length - trimmed.length),
  };
}

/**
 * True when `token` (a JSON number, as the caller wrote it) and `JSON.parse(token)` written back are
 * the same decimal value. Zero must be written without a sign: `-0` would be forwarded as `0`.
 */
export function isExactJsonNumber(token: string): boolean {
  const written = decimalOf(token);
  if (written === undefined) return false;
  const parsed = Number(token);
  if (!Number.isFinite(parsed)) return false;
  if (written.digits === '') return !written.negative;
  const forwarded = decimalOf(String(parsed).replace('+', ''));
  return (
    forwarded !== undefined &&
    forwarded.negative === written.negative &&
    forwarded.digits === written.digits &&
    forwarded.exponent === written.exponent
  );
}
