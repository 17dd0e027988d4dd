/**
 * The query string: `name=value` pairs joined by `&`, each name and value made of unreserved
 * characters only (no percent-encoding, see percent-encoding.ts). `+`, `;`, `?`, `/` and every
 * other character are refused rather than interpreted, so there is one reading of every query.
 */
import type { Operation } from '../../catalog/catalog';
import { isUnreserved, refusalOfEscape } from './percent-encoding';
import { checkQueryValue } from './query-value';
import type { BadTargetReason } from './reasons';

/** One pair; `value` is undefined when the pair has no `=`. */
export interface RawQueryPair {
  name: string;
  value: string | undefined;
}

/** `parameter` and `requirement` come from the catalog (they are shown to the caller). */
export type QueryRefusal = { ok: false; reason: BadTargetReason; parameter?: string; requirement?: string };

/** Checks one name or value; `=` is structure, so it is refused inside a part. */
function checkPart(part: string): { ok: true; text: string } | QueryRefusal {
  for (let i = 0; i < part.length; i++) {
    const char = part[i]!;
    if (char === '%') return { ok: false, reason: refusalOfEscape(part, i) };
    if (!isUnreserved(char)) return { ok: false, reason: 'forbidden-query-character' };
  }
  return { ok: true, text: part };
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
    const name = checkPart(rawName);
    if (!name.ok) return name;
    const value = rawValue === undefined ? undefined : checkPart(rawValue);
    if (value !== undefined && !value.ok) return value;
    if (name.text === '') return { ok: false, reason: 'empty-query-name' };
    pairs.push({ name: name.text, value: value?.text });
  }
  return { ok: true, pairs };
}

/**
 * Semantics against the matched operation: only declared names, each at most once, each value
 * written as its type and inside its documented bounds, required ones present. The result is in
 * the catalog's declaration order, which makes the rebuilt query canonical.
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
    const checked = checkQueryValue(parameter, pair.value);
    if (!checked.ok) return { ...checked, parameter: parameter.name };
    values.set(parameter.name, pair.value!);
  }
  const query: Array<[string, string]> = [];
  for (const parameter of operation.queryParameters) {
    const value = values.get(parameter.name);
    if (value !== undefined) query.push([parameter.name, value]);
    else if (parameter.required) return { ok: false, reason: 'missing-query-parameter', parameter: parameter.name };
  }
  return { ok: true, query };
}
