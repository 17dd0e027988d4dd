import type { AuthFailure } from './failure-reasons';

export type BearerResult = { ok: true; token: string } | (AuthFailure & { reason: 'missing' | 'malformed' });

/** RFC 7235 token68, which every compact JWT satisfies; anything else (commas, quotes, spaces) is not one token. */
const TOKEN68 = /^[A-Za-z0-9\-._~+/]+=*$/;
const BEARER = /^Bearer +(\S+)$/i;

/**
 * Extracts the one bearer token from an `Authorization` header value. A header sent twice (an array
 * from the framework, or values joined with a comma) is malformed rather than "pick the first": two
 * credentials on one request mean some hop is confused, and guessing would hide it.
 */
export function parseBearer(header: string | readonly string[] | undefined): BearerResult {
  if (Array.isArray(header)) {
    if (header.length === 0) return { ok: false, reason: 'missing' };
    if (header.length > 1) return { ok: false, reason: 'malformed', detail: 'repeated Authorization header' };
  }
  const value = (typeof header === 'string' ? header : header?.[0])?.trim();
  if (value === undefined || value === '') return { ok: false, reason: 'missing' };
  const match = BEARER.exec(value);
  if (!match) return { ok: false, reason: 'malformed', detail: 'not a single Bearer credential' };
  const token = match[1]!;
  if (!TOKEN68.test(token)) return { ok: false, reason: 'malformed', detail: 'not a single Bearer credential' };
  return { ok: true, token };
}
