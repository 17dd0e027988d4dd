/**
 * Request-path steps 2 and 3: check the raw request-target and match it against the catalog.
 *
 * The target is refused (400), never normalized: nothing is decoded (every percent-encoding is
 * refused), so scope checks see exactly what is forwarded and no upstream decoder can read it
 * differently. An accepted target yields an `upstreamPath` rebuilt from the catalog template, the
 * validated path parameters and the validated query; nothing of the raw target is copied into it.
 */
import { API_BASE_PATH, matchRoute, type Operation } from '../../catalog/catalog';
import { isUnreserved, refusalOfEscape } from './percent-encoding';
import { parseQuery, validateQuery } from './query';
import { codeOf, publicMessageFor, type TargetRejectReason } from './reasons';

/** Longer targets are refused before any parsing; the longest canonical one is far shorter. */
export const MAX_TARGET_LENGTH = 2048;

export interface TargetAccepted {
  ok: true;
  operation: Operation;
  /** Pattern-checked path parameters, e.g. `{ id: '42' }`. */
  params: Readonly<Record<string, string>>;
  /** Validated query parameters, in the catalog's declaration order. */
  query: ReadonlyArray<[string, string]>;
  /** Below the base path, rebuilt: `/computes/42/start`, `/computes?page=2&limit=50`. */
  upstreamPath: string;
}

export interface TargetRejected {
  ok: false;
  status: 400 | 404;
  /** 400 `VALIDATION_ERROR` (the provider's code) for a value outside the document's bounds. */
  code: 'BAD_REQUEST' | 'VALIDATION_ERROR' | 'ROUTE_NOT_FOUND';
  /** For logs and metrics. */
  reason: TargetRejectReason;
  /** Safe to show: never contains bytes of the target. */
  message: string;
}

export type TargetDecision = TargetAccepted | TargetRejected;

const BASE_SEGMENTS = API_BASE_PATH.split('/').slice(1);
const ABSOLUTE_FORM = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;

/** `catalogName` and `catalogRequirement` come from the catalog, never from the request. */
function reject(reason: TargetRejectReason, catalogName?: string, catalogRequirement?: string): TargetRejected {
  const code = codeOf(reason);
  return {
    ok: false,
    status: code === 'ROUTE_NOT_FOUND' ? 404 : 400,
    code,
    reason,
    message: publicMessageFor(reason, catalogName, catalogRequirement),
  };
}

/** Control bytes (C0, DEL) and anything beyond ASCII, however Node decoded the request line. */
function hasForbiddenByte(target: string): boolean {
  for (let i = 0; i < target.length; i++) {
    const code = target.charCodeAt(i);
    if (code < 0x20 || code > 0x7e) return true;
  }
  return false;
}

/** Splits `/a/b` into segments, refusing the first offence from left to right. */
function splitPath(path: string): { ok: true; segments: string[] } | { ok: false; reason: TargetRejectReason } {
  const segments: string[] = [];
  for (const segment of path.slice(1).split('/')) {
    for (let i = 0; i < segment.length; i++) {
      const char = segment[i]!;
      if (char === '%') {
        return { ok: false, reason: refusalOfEscape(segment, i) };
      } else if (char === '\\') {
        return { ok: false, reason: 'backslash' };
      } else if (char === ';') {
        return { ok: false, reason: 'matrix-parameter' };
      } else if (!isUnreserved(char)) {
        return { ok: false, reason: 'forbidden-path-character' };
      }
    }
    if (segment === '') return { ok: false, reason: 'empty-segment' };
    if (segment === '.' || segment === '..') return { ok: false, reason: 'dot-segment' };
    segments.push(segment);
  }
  return { ok: true, segments };
}

/** Every part is a catalog literal or a value made of unreserved characters only: nothing to encode. */
function rebuildPath(
  operation: Operation,
  params: Readonly<Record<string, string>>,
  query: ReadonlyArray<[string, string]>,
): string {
  const path = operation.segments.map((s) => (s.kind === 'literal' ? s.value : params[s.name]!)).join('/');
  const search = query.map(([name, value]) => `${name}=${value}`).join('&');
  return `/${path}${search === '' ? '' : `?${search}`}`;
}

/**
 * Decides one request. `rawTarget` is the request-target exactly as received (Node's `req.url`
 * before any router touched it); `method` is compared case-sensitively, as HTTP defines it.
 */
export function checkTarget(method: string, rawTarget: string | undefined): TargetDecision {
  const target = rawTarget ?? '';
  if (target.length > MAX_TARGET_LENGTH) return reject('too-long');
  if (hasForbiddenByte(target)) return reject('forbidden-byte');
  if (target === '*') return reject('asterisk-form');
  if (ABSOLUTE_FORM.test(target)) return reject('absolute-form');
  if (!target.startsWith('/')) return reject('not-origin-form');
  if (target.includes('#')) return reject('fragment');

  const questionMark = target.indexOf('?');
  const rawPath = questionMark === -1 ? target : target.slice(0, questionMark);
  const rawQuery = questionMark === -1 ? '' : target.slice(questionMark + 1);

  // Step 2: syntax of the whole target, before anything depends on the route.
  const path = splitPath(rawPath);
  if (!path.ok) return reject(path.reason);
  const pairs = parseQuery(rawQuery);
  if (!pairs.ok) return reject(pairs.reason);

  // Step 3: base path, then the catalog on validated segments.
  const { segments } = path;
  const underBase = segments.length > BASE_SEGMENTS.length && BASE_SEGMENTS.every((s, i) => segments[i] === s);
  if (!underBase) return reject('outside-base-path');
  const lookup = matchRoute(method, segments.slice(BASE_SEGMENTS.length));
  switch (lookup.kind) {
    case 'no-route':
      return reject('no-route');
    // Not 405: the gateway keeps one code for "no such operation" (see docs/request-path.md).
    case 'method-not-allowed':
      return reject('method-not-allowed');
    case 'bad-parameter':
      return reject('bad-path-parameter', lookup.name);
    case 'match':
      break;
  }
  const { operation, params } = lookup.match;
  const query = validateQuery(operation, pairs.pairs);
  if (!query.ok) return reject(query.reason, query.parameter, query.requirement);
  return {
    ok: true,
    operation,
    params: Object.freeze({ ...params }),
    query: Object.freeze(query.query),
    upstreamPath: rebuildPath(operation, params, query.query),
  };
}
