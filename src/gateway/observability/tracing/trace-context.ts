/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/): the `traceparent` and `tracestate` a
 * caller may send, checked strictly and written back in one canonical form. Pure, and free of
 * OpenTelemetry, so the upstream allow-list uses it whether tracing is on or off.
 *
 * A malformed header is not an error for the caller: the gateway drops it (a new trace starts when
 * tracing is on) and never forwards a byte of it.
 */

/** A caller's trace context, as the gateway understood it. */
export interface InboundTraceContext {
  /** 32 lower-case hex digits, not all zero. */
  traceId: string;
  /** The caller's span: 16 lower-case hex digits, not all zero. */
  parentSpanId: string;
  /** The trace flags byte (bit 0: sampled). */
  traceFlags: number;
  /** `traceparent` rewritten as version 00. */
  traceparent: string;
  /** The caller's `tracestate`, normalized (members trimmed), when valid and non-empty. */
  tracestate?: string;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ALL_ZERO = /^0+$/;
/** A simple key, or `tenant@system`. */
const TRACESTATE_KEY = /^(?:[a-z][a-z0-9_\-*/]{0,255}|[a-z0-9][a-z0-9_\-*/]{0,240}@[a-z][a-z0-9_\-*/]{0,13})$/;
/** Printable ASCII except `,` and `=`, no trailing space. */
const TRACESTATE_VALUE = /^[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;
const MAX_TRACESTATE_MEMBERS = 32;
/** What the specification asks a platform to propagate at least; longer is dropped, not cut. */
export const MAX_TRACESTATE_BYTES = 512;

export interface TraceParent {
  traceId: string;
  parentSpanId: string;
  traceFlags: number;
}

/**
 * Version 00 exactly as specified; a later version (01–fe) by its first four fields, as the
 * specification asks of a version-00 reader. Upper-case hex, all-zero ids, version ff: invalid.
 */
export function parseTraceparent(value: string | string[] | undefined): TraceParent | undefined {
  // A repeated header is ambiguous; Node joins unknown repeats with ", ", which fails the pattern too.
  if (typeof value !== 'string') return undefined;
  const match = TRACEPARENT.exec(value);
  if (!match) return undefined;
  const [, version, traceId, parentSpanId, flags, rest] = match;
  if (version === 'ff' || ALL_ZERO.test(traceId!) || ALL_ZERO.test(parentSpanId!)) return undefined;
  if (version === '00' && rest !== undefined) return undefined;
  return { traceId: traceId!, parentSpanId: parentSpanId!, traceFlags: parseInt(flags!, 16) };
}

/** `00-<traceId>-<spanId>-<flags>`. */
export function formatTraceparent(traceId: string, spanId: string, traceFlags: number): string {
  return `00-${traceId}-${spanId}-${(traceFlags & 0xff).toString(16).padStart(2, '0')}`;
}

/**
 * The list members trimmed and joined with `,`; undefined when any member is malformed, a key
 * repeats, there are more than 32 members, or the result is empty or over 512 bytes.
 */
export function parseTracestate(value: string | string[] | undefined): string | undefined {
  if (value === undefined) return undefined;
  // Repeated lines are one list (RFC 9110 §5.3): the specification combines them.
  const joined = Array.isArray(value) ? value.join(',') : value;
  const members: string[] = [];
  const keys = new Set<string>();
  for (const raw of joined.split(',')) {
    const member = raw.replace(/^[ \t]+|[ \t]+$/g, '');
    if (member === '') continue;
    const equals = member.indexOf('=');
    if (equals <= 0) return undefined;
    const key = member.slice(0, equals);
    if (!TRACESTATE_KEY.test(key) || !TRACESTATE_VALUE.test(member.slice(equals + 1)) || keys.has(key))
      return undefined;
    keys.add(key);
    members.push(member);
  }
  const normalized = members.join(',');
  if (members.length === 0 || members.length > MAX_TRACESTATE_MEMBERS || normalized.length > MAX_TRACESTATE_BYTES)
    return undefined;
  return normalized;
}

/** The caller's trace context from its headers; `tracestate` counts only beside a valid `traceparent`. */
export function inboundTraceContext(headers: {
  readonly [name: string]: string | string[] | undefined;
}): InboundTraceContext | undefined {
  const parent = parseTraceparent(headers.traceparent);
  if (!parent) return undefined;
  const tracestate = parseTracestate(headers.tracestate);
  return {
    ...parent,
    traceparent: formatTraceparent(parent.traceId, parent.parentSpanId, parent.traceFlags),
    ...(tracestate !== undefined ? { tracestate } : {}),
  };
}
