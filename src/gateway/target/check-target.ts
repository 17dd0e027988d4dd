/**
 * Request-path steps 2 and 3: check the raw request-target and match it against the catalog.
 *
 * The target is refused (400), never normalized: a target the gateway would have to rewrite is one
 * the upstream might read differently, and scope checks must see exactly what is forwarded. An
 * accepted target yields an `upstreamPath` rebuilt from the catalog template, the validated path
 * parameters and the validated query; nothing of the raw target is copied into it.
 */
import { API_BASE_PATH, matchRoute, type Operation } from '../../catalog/catalog';
import { encodeCanonical, isUnreserved, readEscape } from './percent-encoding';
import { parseQuery, validateQuery } from './query';
import { isUnknownRouteReason, publicMessageFor, type TargetRejectReason } from './reasons';

/** Longer targets are refused before any parsing; the longest canonical one is far shorter. */
export const MAX_TARGET_LENGTH = 2048;

export interface TargetAccepted {
  ok: true;
  operation: Operation;
  /** Decoded, pattern-checked path parameters, e.g. `{ id: '42' }`. */
  params: Readonly<Record<string, string>>;
  /** Decoded, validated query parameters, in the catalog's declaration order. */
  query: ReadonlyArray<[string, string]>;
  /** Below the base path, rebuilt: `/computes/42/start`, `/computes?page=2&limit=50`. */
  upstreamPath: string;
}

export interface TargetRejected {
  ok: false;
  status: 400 | 404;
  code: 'BAD_REQUEST' | 'ROUTE_NOT_FOUND';
  /** For logs and metrics. */
  reason: TargetRejectReason;
  /** Safe to show: never contains bytes of the target. */
  message: string;
}

export type TargetDecision = TargetAccepted | TargetRejected;

const BASE_SEGMENTS = API_BASE_PATH.split('/').slice(1);
const ABSOLUTE_FORM = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;

function reject(reason: TargetRejectReason, catalogName?: string): TargetRejected {
  const unknownRoute = isUnknownRouteReason(reason);
  return {
    ok: false,
    status: unknownRoute ? 404 : 400,
    code: unknownRoute ? 'ROUTE_NOT_FOUND' : 'BAD_REQUEST',
    reason,
    message: publicMessageFor(reason, catalogName),
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

/** Splits `/a/b` into decoded segments, refusing the first offence from left to right. */
function decodePath(path: string): { ok: true; segments: string[] } | { ok: false; reason: TargetRejectReason } {
  const segments: string[] = [];
  for (const raw of path.slice(1).split('/')) {
    let segment = '';
    for (let i = 0; i < raw.length; i++) {
      const char = raw[i]!;
      if (char === '%') {
        const read = readEscape(raw, i);
        if (!read.ok) return read;
        segment += read.char;
        i += 2;
      } else if (char === '\\') {
        return { ok: false, reason: 'backslash' };
      } else if (char === ';') {
        return { ok: false, reason: 'matrix-parameter' };
      } else if (isUnreserved(char)) {
        segment += char;
      } else {
        return { ok: false, reason: 'forbidden-path-character' };
      }
    }
    // Encoded dots were refused above, so a dot segment can only be written plainly here.
    if (segment === '') return { ok: false, reason: 'empty-segment' };
    if (segment === '.' || segment === '..') return { ok: false, reason: 'dot-segment' };
    segments.push(segment);
  }
  return { ok: true, segments };
}

function rebuildPath(
  operation: Operation,
  params: Readonly<Record<string, string>>,
  query: ReadonlyArray<[string, string]>,
): string {
  const path = operation.segments
    .map((s) => encodeCanonical(s.kind === 'literal' ? s.value : params[s.name]!))
    .join('/');
  const search = query.map(([name, value]) => `${encodeCanonical(name)}=${encodeCanonical(value)}`).join('&');
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
  const path = decodePath(rawPath);
  if (!path.ok) return reject(path.reason);
  const pairs = parseQuery(rawQuery);
  if (!pairs.ok) return reject(pairs.reason);

  // Step 3: base path, then the catalog on validated, decoded segments.
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
  if (!query.ok) return reject(query.reason, query.parameter);
  return {
    ok: true,
    operation,
    params: Object.freeze({ ...params }),
    query: Object.freeze(query.query),
    upstreamPath: rebuildPath(operation, params, query.query),
  };
}
