/**
 * The query string: `name=value` pairs joined by `&`, each name and value made of unreserved
 * characters (percent-encoded ones decoded, see percent-encoding.ts). `+`, `;`, `?`, `/` and every
 * other character are refused rather than interpreted, so there is one reading of every query.
 */
import type { Operation, QueryParameter } from '../../catalog/catalog';
import { isUnreserved, readEscape } from './percent-encoding';
import type { BadTargetReason } from './reasons';

/** One decoded pair; `value` is undefined when the pair has no `=`. */
export interface RawQueryPair {
  name: string;
  value: string | undefined;
}

export type QueryRefusal = { ok: false; reason: BadTargetReason; parameter?: string };

/** Integers as the catalog's `page`/`limit`: positive, no sign, no leading zero, bounded. */
const INTEGER_VALUE = /^[1-9][0-9]{0,8}$/;
/** The catalog declares no string query parameter today; bound any future one tightly. */
const STRING_VALUE = /^[A-Za-z0-9._~-]{1,256}$/;

/** Decodes one name or value; `=` is structure, so it is refused inside a part. */
function decodePart(part: string): { ok: true; text: string } | QueryRefusal {
  let text = '';
  for (let i = 0; i < part.length; i++) {
    const char = part[i]!;
    if (char === '%') {
      const read = readEscape(part, i);
      if (!read.ok) return read;
      text += read.char;
      i += 2;
    } else if (isUnreserved(char)) {
      text += char;
    } else {
      return { ok: false, reason: 'forbidden-query-character' };
    }
  }
  return { ok: true, text };
}

/**
 * Syntax only, independent of the route: checked before route matching like the path. An empty
 * query (`?` alone, or none) has no pairs.
 */
export function parseQuery(rawQuery: string): { ok: true; pairs: RawQueryPair[] } | QueryRefusal {
  if (rawQuery === '') return { ok: true, pairs: [] };
  const pairs: RawQueryPair[] = [];
  for (const rawPair of rawQuery.split('&')) {
    const equals = rawPair.indexOf('=');
    const rawName = equals === -1 ? rawPair : rawPair.slice(0, equals);
    const rawValue = equals === -1 ? undefined : rawPair.slice(equals + 1);
    const name = decodePart(rawName);
    if (!name.ok) return name;
    const value = rawValue === undefined ? undefined : decodePart(rawValue);
    if (value !== undefined && !value.ok) return value;
    if (name.text === '') return { ok: false, reason: 'empty-query-name' };
    pairs.push({ name: name.text, value: value?.text });
  }
  return { ok: true, pairs };
}

function valueFits(parameter: QueryParameter, value: string | undefined): value is string {
  if (value === undefined) return false;
  return (parameter.type === 'integer' ? INTEGER_VALUE : STRING_VALUE).test(value);
}

/**
 * Semantics against the matched operation: only declared names, each at most once, each value in
 * its pattern, required ones present. The result is in the catalog's declaration order, which makes
 * the rebuilt query canonical.
 */
export function validateQuery(
  operation: Operation,
  pairs: readonly RawQueryPair[],
): { ok: true; query: Array<[string, string]> } | QueryRefusal {
  const values = new Map<string, string>();
  for (const pair of pairs) {
    const parameter = operation.queryParameters.find((p) => p.name === pair.name);
    if (!parameter) return { ok: false, reason: 'unknown-query-parameter' };
    if (values.has(parameter.name))
      return { ok: false, reason: 'duplicate-query-parameter', parameter: parameter.name };
    if (!valueFits(parameter, pair.value))
      return { ok: false, reason: 'invalid-query-value', parameter: parameter.name };
    values.set(parameter.name, pair.value);
  }
  const query: Array<[string, string]> = [];
  for (const parameter of operation.queryParameters) {
    const value = values.get(parameter.name);
    if (value !== undefined) query.push([parameter.name, value]);
    else if (parameter.required) return { ok: false, reason: 'missing-query-parameter', parameter: parameter.name };
  }
  return { ok: true, query };
}
