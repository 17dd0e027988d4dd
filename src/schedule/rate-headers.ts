/**
 * What an upstream response says about the provider's limit, from either header family:
 *
 * - launch docs: `x-ratelimit-limit-second`, `x-ratelimit-remaining-second`, `x-ratelimit-reset-second`
 * - later docs:  `x-ratelimit-limit`, `x-ratelimit-remaining`, `x-ratelimit-reset`
 *
 * `reset` is a Unix timestamp in seconds (a value below 10^9 cannot be one and is read as seconds
 * from now, as some providers send). `Retry-After` is delta-seconds or an HTTP-date. When any
 * per-second header is present that family is read as a whole: it is the tighter limit. Garbage is ignored, never
 * thrown.
 *
 * `pauseUntilMs` is set when the headers say no request may be sent before a time: a `Retry-After`,
 * or `remaining: 0` with a reset. The later of the two wins.
 */
import type { RateLimitReport } from './types';

export type HeaderValue = string | readonly string[] | number | undefined;
export type HeaderBag = Readonly<Record<string, HeaderValue>> | { get(name: string): string | null };

const UNIX_SECONDS_FLOOR = 1e9;

function header(headers: HeaderBag, name: string): string | undefined {
  if (typeof (headers as { get?: unknown }).get === 'function') {
    const value = (headers as { get(name: string): string | null }).get(name);
    return value === null ? undefined : value;
  }
  const record = headers as Readonly<Record<string, HeaderValue>>;
  let value = record[name];
  if (value === undefined) {
    const key = Object.keys(record).find((k) => k.toLowerCase() === name);
    value = key === undefined ? undefined : record[key];
  }
  if (Array.isArray(value)) value = value[0];
  if (value === undefined) return undefined;
  return String(value).trim();
}

function nonNegativeInteger(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d{1,15}$/.test(value)) return undefined;
  return Number(value);
}

function nonNegativeNumber(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d{1,15}(\.\d{1,6})?$/.test(value)) return undefined;
  return Number(value);
}

/** `reset`: Unix seconds, or (below 10^9) seconds from now. */
export function parseResetMs(value: string | undefined, nowMs: number): number | undefined {
  const seconds = nonNegativeNumber(value);
  if (seconds === undefined) return undefined;
  return seconds >= UNIX_SECONDS_FLOOR ? seconds * 1000 : nowMs + seconds * 1000;
}

/** `Retry-After`: delta-seconds or an HTTP-date (RFC 9110 §10.2.3). */
export function parseRetryAfterMs(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined || value === '') return undefined;
  const seconds = nonNegativeNumber(value);
  if (seconds !== undefined) return nowMs + seconds * 1000;
  // Only date-looking text: Date.parse accepts much that is not an HTTP-date ("1", "x 2").
  if (!/^[A-Za-z]{3},? \d{1,2}[ -][A-Za-z]{3}[ -]\d{2,4} \d{2}:\d{2}:\d{2} GMT$/.test(value)) return undefined;
  const at = Date.parse(value);
  return Number.isFinite(at) ? Math.max(nowMs, at) : undefined;
}

export function parseRateLimitHeaders(headers: HeaderBag, nowMs: number): RateLimitReport {
  // One family as a whole, so limit and remaining never come from different windows.
  const perSecond = ['limit', 'remaining', 'reset'].some(
    (n) => header(headers, `x-ratelimit-${n}-second`) !== undefined,
  );
  const pick = (base: string): string | undefined => header(headers, perSecond ? `${base}-second` : base);
  const report: RateLimitReport = {};
  const limit = nonNegativeInteger(pick('x-ratelimit-limit'));
  const remaining = nonNegativeInteger(pick('x-ratelimit-remaining'));
  const resetAtMs = parseResetMs(pick('x-ratelimit-reset'), nowMs);
  const retryAtMs = parseRetryAfterMs(header(headers, 'retry-after'), nowMs);
  if (limit !== undefined) {
    report.limit = limit;
    report.family = perSecond ? 'per-class' : 'shared';
  }
  if (remaining !== undefined) report.remaining = remaining;
  if (resetAtMs !== undefined) report.resetAtMs = resetAtMs;
  const pauses = [retryAtMs, remaining === 0 ? resetAtMs : undefined].filter(
    (v): v is number => v !== undefined && v > nowMs,
  );
  if (pauses.length > 0) report.pauseUntilMs = Math.max(...pauses);
  return report;
}
