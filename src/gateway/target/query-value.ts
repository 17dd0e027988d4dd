/**
 * One query value against its parameter's schema in the vendored OpenAPI document (`type`,
 * `minimum`, `maximum`, `enum`), read by the catalog: the bounds are the document's, not a list
 * kept here. A value that is not written as its type is malformed (400 `BAD_REQUEST`); a
 * well-formed value outside the documented bounds is refused the way the provider refuses it
 * (400 `VALIDATION_ERROR`), so it is never forwarded for the upstream to clamp, wrap or ignore.
 */
import type { QueryParameter } from '../../catalog/catalog';

/**
 * An integer the document leaves unbounded is held to 32 bits, so no upstream parser can overflow
 * on a value the gateway accepted.
 */
export const INT32_MIN = -(2 ** 31);
export const INT32_MAX = 2 ** 31 - 1;

/** Canonical decimal: no sign on zero, no `+`, no leading zeros, no exponent or fraction. */
const INTEGER_VALUE = /^(0|-?[1-9][0-9]*)$/;
/** The catalog declares no string query parameter today; bound any future one tightly. */
const STRING_VALUE = /^[A-Za-z0-9._~-]{1,256}$/;

export type QueryValueCheck =
  | { ok: true }
  | { ok: false; reason: 'invalid-query-value' }
  /** `requirement` is built from the catalog only, e.g. `a whole number from 1 to 100`. */
  | { ok: false; reason: 'query-value-out-of-bounds'; requirement: string };

/** The range an integer parameter accepts: the document's bounds, else 32 bits. */
export function integerRange(parameter: QueryParameter): { minimum: number; maximum: number } {
  return { minimum: parameter.minimum ?? INT32_MIN, maximum: parameter.maximum ?? INT32_MAX };
}

/** What a value of `parameter` must be, in words for the public message. */
export function describeRequirement(parameter: QueryParameter): string {
  if (parameter.type === 'integer') {
    const { minimum, maximum } = integerRange(parameter);
    return `a whole number from ${minimum} to ${maximum}`;
  }
  return parameter.enum ? `one of ${parameter.enum.join(', ')}` : 'a string of unreserved characters';
}

export function checkQueryValue(parameter: QueryParameter, value: string | undefined): QueryValueCheck {
  if (value === undefined) return { ok: false, reason: 'invalid-query-value' };
  const outOfBounds: QueryValueCheck = {
    ok: false,
    reason: 'query-value-out-of-bounds',
    requirement: describeRequirement(parameter),
  };
  if (parameter.type === 'integer') {
    if (!INTEGER_VALUE.test(value)) return { ok: false, reason: 'invalid-query-value' };
    // BigInt: exact for any length of digits, where Number would round a huge value.
    const { minimum, maximum } = integerRange(parameter);
    const number = BigInt(value);
    return number < BigInt(minimum) || number > BigInt(maximum) ? outOfBounds : { ok: true };
  }
  if (!STRING_VALUE.test(value)) return { ok: false, reason: 'invalid-query-value' };
  return parameter.enum && !parameter.enum.includes(value) ? outOfBounds : { ok: true };
}
