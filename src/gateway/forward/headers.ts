/**
 * Request-path step 7 (headers) and step 8 (response headers), as pure functions.
 *
 * Outbound is an allow-list: a caller's header reaches the upstream only if it is named here, so
 * its token, cookies, hop-by-hop and method-override headers never do, whatever their spelling.
 * The credential and the identity headers are then set by the gateway, never merged with the
 * caller's (remove, then set). Inbound responses go back unchanged except for the few headers that
 * only make sense on the gateway↔upstream hop.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Operation } from '../../catalog/catalog';
import { FORWARDED_MEDIA_TYPE } from '../body/media-type';
import { inboundTraceContext } from '../observability/tracing/trace-context';
import { namespacedIdempotencyKey, validateIdempotencyKeyHeader } from './idempotency-key';

export { namespacedIdempotencyKey, validateIdempotencyKeyHeader, UUID_V4 } from './idempotency-key';

/**
 * Caller headers that may be copied (after checks) to the upstream. Everything else is dropped.
 * `traceparent` and `tracestate` (W3C Trace Context) are here on purpose (issue #13): the
 * provider's side of a trace can join the caller's. Each is written back from its parsed form, or
 * dropped when malformed; with tracing on, the gateway's attempt span replaces the parent.
 */
export const FORWARDED_REQUEST_HEADERS = [
  'accept',
  'accept-encoding',
  'content-length',
  'idempotency-key',
  'traceparent',
  'tracestate',
] as const;
/**
 * Set by the gateway, replacing whatever the caller sent: `content-type` with every body (the
 * gateway forwards only JSON it wrote itself, so never the caller's charset), the others always.
 */
export const GATEWAY_REQUEST_HEADERS = ['content-type', 'x-request-id', 'user-agent', 'authorization'] as const;

/** RFC 9110 §7.6.1 plus the legacy ones proxies still meet. Never relayed in either direction. */
export const HOP_BY_HOP_HEADERS = [
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'proxy-authenticate',
  'proxy-authorization',
] as const;

/**
 * Upstream response headers not returned, besides hop-by-hop ones:
 * - `set-cookie`: a session with the provider belongs to the gateway's key, not to the caller;
 * - `www-authenticate`: an upstream 401 is about the gateway's key; the caller's token was fine,
 *   and a challenge would send the caller's client to refresh the wrong credential;
 * - `alt-svc`: it advertises the provider's alternative endpoints as if they were the gateway's.
 */
export const DROPPED_RESPONSE_HEADERS = ['set-cookie', 'www-authenticate', 'alt-svc'] as const;

/** Repeatable headers whose values are comma lists: repeated lines join into one value. */
const LIST_HEADERS: ReadonlySet<string> = new Set(['accept', 'accept-encoding']);
/** A field value the upstream can read only one way: visible ASCII, spaces and tabs. */
const SAFE_FIELD_VALUE = /^[\t\x20-\x7e]*$/;
const CONTENT_LENGTH = /^[0-9]{1,15}$/;
/** Methods whose requests are expected to have a body, so an empty one is sent as `0`. */
const BODY_METHODS: ReadonlySet<string> = new Set(['POST', 'PATCH', 'PUT']);

export interface UpstreamHeaderContext {
  /** The real upstream key of the caller's account; absent for public operations (`health`). */
  apiKey: string | undefined;
  /** The gateway's request id (accepted from the caller or minted). */
  requestId: string;
  callerId: string;
  /** The gateway's own product token, e.g. `strettch-gateway/0.1.0`. */
  userAgent: string;
  operation: Operation;
  /**
   * Length of the body the forwarder will send, when the gateway has already read it. When given,
   * `content-length` is set from it rather than copied from the caller, and a body (`> 0`) is
   * sent as `content-type: application/json`.
   */
  bodyBytes?: number;
}

export const HEADER_REJECT_REASONS = [
  'duplicate-header',
  'invalid-header-value',
  'missing-idempotency-key',
  'invalid-idempotency-key',
] as const;
export type HeaderRejectReason = (typeof HEADER_REJECT_REASONS)[number];

const HEADER_MESSAGES: Record<HeaderRejectReason, string> = {
  'duplicate-header': 'A single-valued header is repeated.',
  'invalid-header-value': 'A header has an invalid value.',
  'missing-idempotency-key': 'The Idempotency-Key header is required for this operation.',
  'invalid-idempotency-key': 'The Idempotency-Key header must be a UUID v4.',
};

export interface HeadersRejected {
  ok: false;
  status: 400;
  code: 'BAD_REQUEST';
  reason: HeaderRejectReason;
  message: string;
}

export type UpstreamHeadersDecision = { ok: true; headers: Record<string, string> } | HeadersRejected;

function reject(reason: HeaderRejectReason): HeadersRejected {
  return { ok: false, status: 400, code: 'BAD_REQUEST', reason, message: HEADER_MESSAGES[reason] };
}

/** Lower-cased header names listed in `Connection` (RFC 9110 §7.6.1): hop-by-hop for this message. */
export function connectionTokens(value: string | string[] | undefined): Set<string> {
  const values = value === undefined ? [] : Array.isArray(value) ? value : [value];
  const tokens = new Set<string>();
  for (const line of values) {
    for (const token of line.split(',')) {
      const name = token.trim().toLowerCase();
      if (name !== '') tokens.add(name);
    }
  }
  return tokens;
}

/** One value per header: lists join, a single-valued header given twice is refused. */
function singleValue(name: string, value: string | string[]): { ok: true; value: string } | HeadersRejected {
  if (Array.isArray(value)) {
    if (!LIST_HEADERS.has(name)) return reject('duplicate-header');
    value = value.join(', ');
  }
  return SAFE_FIELD_VALUE.test(value) ? { ok: true, value } : reject('invalid-header-value');
}

function requireHeaderSafe(what: string, value: string, pattern: RegExp): void {
  // Configuration or programming errors, not caller denials; the message never holds the value.
  if (!pattern.test(value)) throw new Error(`buildUpstreamHeaders: ${what} is not a valid header value`);
}

function declaresIdempotencyKey(operation: Operation): { declared: boolean; required: boolean } {
  const parameter = operation.headerParameters.find((p) => p.name.toLowerCase() === 'idempotency-key');
  return { declared: parameter !== undefined, required: parameter?.required === true };
}

/**
 * The complete header set for the upstream request, or why the caller's headers are refused.
 *
 * - `accept`, `accept-encoding`: copied (the proxy streams response bodies unchanged, so the caller
 *   decodes what it asked for);
 * - `content-type`: `application/json` with a body the gateway read (`ctx.bodyBytes > 0`), else
 *   none; the caller's own (its charset above all) is never copied;
 * - `content-length`: from `ctx.bodyBytes` when given; otherwise copied, unless the caller framed
 *   the body with `Transfer-Encoding` (which is dropped; the forwarder frames its own request);
 * - `idempotency-key`: on writes only, must be a UUID v4, namespaced per caller; required where
 *   the catalog says so (`computes.create`);
 * - `traceparent`, `tracestate`: a valid caller trace context, in canonical form (version 00,
 *   trimmed list members); a malformed `traceparent` drops both, a malformed `tracestate` itself;
 * - `x-request-id`, `user-agent`, `authorization: Bearer <apiKey>`: the gateway's own values.
 * A header the caller lists in `Connection` is never copied, even when allowed.
 */
export function buildUpstreamHeaders(
  inbound: IncomingHttpHeaders,
  ctx: UpstreamHeaderContext,
): UpstreamHeadersDecision {
  if (ctx.apiKey !== undefined) requireHeaderSafe('the upstream API key', ctx.apiKey, /^[\x21-\x7e]+$/);
  requireHeaderSafe('the request id', ctx.requestId, /^[\x21-\x7e]+$/);
  requireHeaderSafe('the user agent', ctx.userAgent, /^[\x21-\x7e][\x20-\x7e]*$/);

  const hopByHop = connectionTokens(inbound.connection);
  const read = (
    name: (typeof FORWARDED_REQUEST_HEADERS)[number],
  ): { ok: true; value: string | undefined } | HeadersRejected => {
    const raw = inbound[name];
    if (raw === undefined || hopByHop.has(name)) return { ok: true, value: undefined };
    const single = singleValue(name, raw);
    if (!single.ok) return single;
    return { ok: true, value: single.value === '' ? undefined : single.value };
  };

  const headers: Record<string, string> = {};
  for (const name of ['accept', 'accept-encoding'] as const) {
    const value = read(name);
    if (!value.ok) return value;
    if (value.value !== undefined) headers[name] = value.value;
  }

  // Never refused: a trace context the gateway cannot read is dropped whole, never forwarded.
  const trace = hopByHop.has('traceparent') ? undefined : inboundTraceContext(inbound);
  if (trace) {
    headers['traceparent'] = trace.traceparent;
    if (trace.tracestate !== undefined && !hopByHop.has('tracestate')) headers['tracestate'] = trace.tracestate;
  }

  if (ctx.bodyBytes !== undefined) {
    if (!Number.isSafeInteger(ctx.bodyBytes) || ctx.bodyBytes < 0)
      throw new Error('buildUpstreamHeaders: bodyBytes must be a non-negative integer');
    if (ctx.bodyBytes > 0 || BODY_METHODS.has(ctx.operation.method)) headers['content-length'] = String(ctx.bodyBytes);
    if (ctx.bodyBytes > 0) headers['content-type'] = FORWARDED_MEDIA_TYPE;
  } else if (inbound['transfer-encoding'] === undefined) {
    const value = read('content-length');
    if (!value.ok) return value;
    if (value.value !== undefined) {
      if (!CONTENT_LENGTH.test(value.value)) return reject('invalid-header-value');
      headers['content-length'] = value.value;
    }
  }

  if (ctx.operation.class === 'write') {
    const { required } = declaresIdempotencyKey(ctx.operation);
    const raw = hopByHop.has('idempotency-key') ? undefined : inbound['idempotency-key'];
    if (raw === undefined) {
      if (required) return reject('missing-idempotency-key');
    } else {
      const check = validateIdempotencyKeyHeader(raw);
      if (!check.ok) return reject(check.reason);
      headers['idempotency-key'] = namespacedIdempotencyKey(ctx.callerId, check.key);
    }
  }

  headers['x-request-id'] = ctx.requestId;
  headers['user-agent'] = ctx.userAgent;
  if (ctx.apiKey !== undefined) headers['authorization'] = `Bearer ${ctx.apiKey}`;
  return { ok: true, headers };
}

/**
 * Whether an upstream response header goes back to the caller, given the response's
 * `Connection` tokens. Everything else — `content-type`, `x-ratelimit-*`, `retry-after`,
 * `x-request-id`, `content-length`, `location` … — is returned unchanged.
 */
export function isResponseHeaderReturned(name: string, connection: ReadonlySet<string>): boolean {
  const lower = name.toLowerCase();
  if (lower.startsWith(':')) return false;
  if ((HOP_BY_HOP_HEADERS as readonly string[]).includes(lower)) return false;
  if ((DROPPED_RESPONSE_HEADERS as readonly string[]).includes(lower)) return false;
  return !connection.has(lower);
}

/** The upstream's response headers that are streamed back to the caller. */
export function responseHeadersToReturn(upstream: IncomingHttpHeaders): Record<string, string | string[]> {
  const connection = connectionTokens(upstream.connection);
  const returned: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(upstream)) {
    if (value === undefined || !isResponseHeaderReturned(name, connection)) continue;
    returned[name.toLowerCase()] = Array.isArray(value) ? [...value] : value;
  }
  return returned;
}
