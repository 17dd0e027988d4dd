/**
 * What the referee records of a received request: method, target exactly as received and the
 * headers, with credentials described instead of shown. A raw API key never reaches the stats:
 * `authorization` (and `proxy-authorization`) become `Bearer key(<label>)` for a known key or
 * `unrecognised(sha256=<8 hex>)` otherwise (hash of the bearer token, or of the whole value when it
 * is not a bearer token); any known key appearing anywhere else becomes `key(<label>)`.
 */
import { bearerToken, sha256Hex, type KeyRing } from './keys';

export interface RecordedRequest {
  receivedAt: string;
  method: string;
  /** Path and query exactly as on the request line (known keys scrubbed). */
  target: string;
  /** Lower-case names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  /** Every header line in order, names as sent, so duplicates stay visible. */
  rawHeaders: [string, string][];
  /** Label of the authenticated key, or null. */
  key: string | null;
  /**
   * The body bytes as received, base64 (known keys scrubbed), once the body is read: what a
   * provider would parse, so tests judge the forwarded body by it (issue #11). Absent before.
   */
  bodyBase64?: string;
}

const CREDENTIAL_HEADERS = new Set(['authorization', 'proxy-authorization']);

export function describeCredential(value: string, keys: Pick<KeyRing, 'lookup'>): string {
  const token = bearerToken(value);
  const known = token === undefined ? undefined : keys.lookup(token);
  if (known) return `Bearer key(${known.label})`;
  return `unrecognised(sha256=${sha256Hex(token ?? value).slice(0, 8)})`;
}

/** A received body as the referee keeps it: base64 of the exact bytes, any known key replaced. */
export function describeBody(bytes: Buffer, keys: Pick<KeyRing, 'scrub'>): string {
  // Latin-1 maps bytes to characters one to one, so scrubbing (keys are ASCII) keeps the rest exact.
  return Buffer.from(keys.scrub(bytes.toString('latin1')), 'latin1').toString('base64');
}

export function describeRequest(
  request: { method: string; target: string; rawHeaders: readonly string[]; receivedAt: string },
  keys: Pick<KeyRing, 'lookup' | 'scrub'>,
): RecordedRequest {
  const rawHeaders: [string, string][] = [];
  // No prototype: a header may legally be called `__proto__`.
  const headers = Object.create(null) as Record<string, string>;
  for (let i = 0; i + 1 < request.rawHeaders.length; i += 2) {
    const name = request.rawHeaders[i]!;
    const lower = name.toLowerCase();
    const raw = request.rawHeaders[i + 1]!;
    const value = CREDENTIAL_HEADERS.has(lower) ? describeCredential(raw, keys) : keys.scrub(raw);
    rawHeaders.push([name, value]);
    headers[lower] = Object.hasOwn(headers, lower) ? `${headers[lower]}, ${value}` : value;
  }
  return {
    receivedAt: request.receivedAt,
    method: request.method,
    target: keys.scrub(request.target),
    headers,
    rawHeaders,
    key: null,
  };
}
