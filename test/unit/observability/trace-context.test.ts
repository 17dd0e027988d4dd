import {
  formatTraceparent,
  inboundTraceContext,
  MAX_TRACESTATE_BYTES,
  parseTraceparent,
  parseTracestate,
} from '../../../src/gateway/observability/tracing/trace-context';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN_ID = '00f067aa0ba902b7';
const VALID = `00-${TRACE_ID}-${SPAN_ID}-01`;

describe('parseTraceparent', () => {
  it.each([
    [VALID, { traceId: TRACE_ID, parentSpanId: SPAN_ID, traceFlags: 1 }],
    [`00-${TRACE_ID}-${SPAN_ID}-00`, { traceId: TRACE_ID, parentSpanId: SPAN_ID, traceFlags: 0 }],
    // A later version is read by its first four fields (the specification asks this of a 00 reader).
    [`01-${TRACE_ID}-${SPAN_ID}-01-what-the-future-holds`, { traceId: TRACE_ID, parentSpanId: SPAN_ID, traceFlags: 1 }],
    [`cc-${TRACE_ID}-${SPAN_ID}-09`, { traceId: TRACE_ID, parentSpanId: SPAN_ID, traceFlags: 9 }],
  ])('accepts %s', (value, expected) => {
    expect(parseTraceparent(value)).toEqual(expected);
  });

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['upper-case hex', VALID.toUpperCase()],
    ['version ff', `ff-${TRACE_ID}-${SPAN_ID}-01`],
    ['all-zero trace id', `00-${'0'.repeat(32)}-${SPAN_ID}-01`],
    ['all-zero span id', `00-${TRACE_ID}-${'0'.repeat(16)}-01`],
    ['short trace id', `00-${TRACE_ID.slice(1)}-${SPAN_ID}-01`],
    ['version 00 with more fields', `${VALID}-extra`],
    ['a later version glued to more bytes', `01-${TRACE_ID}-${SPAN_ID}-01x`],
    ['surrounding spaces', ` ${VALID} `],
    ['a CRLF payload', `${VALID}\r\nx-evil: 1`],
    ['two joined lines', `${VALID}, ${VALID}`],
    ['non-hex', `00-${'g'.repeat(32)}-${SPAN_ID}-01`],
    ['an array (repeated header)', [VALID, VALID]],
  ])('refuses %s', (_name, value) => {
    expect(parseTraceparent(value as string | string[] | undefined)).toBeUndefined();
  });

  it('formats version 00 with two-digit flags', () => {
    expect(formatTraceparent(TRACE_ID, SPAN_ID, 1)).toBe(VALID);
    expect(formatTraceparent(TRACE_ID, SPAN_ID, 0)).toBe(`00-${TRACE_ID}-${SPAN_ID}-00`);
  });
});

describe('parseTracestate', () => {
  it.each([
    ['vendor=abc', 'vendor=abc'],
    [' congo=t61rcWkgMzE , rojo=00f067aa0ba902b7 ', 'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7'],
    ['tenant@system=x y', 'tenant@system=x y'],
    ['a=1,,b=2', 'a=1,b=2'],
    [['a=1', 'b=2'], 'a=1,b=2'],
  ])('accepts %j', (value, expected) => {
    expect(parseTracestate(value)).toBe(expected);
  });

  it.each([
    ['empty', ''],
    ['only commas', ' , ,'],
    ['no =', 'vendor'],
    ['empty key', '=abc'],
    ['upper-case key', 'Vendor=abc'],
    ['empty value', 'vendor='],
    ['value with =', 'vendor=a=b'],
    ['a no-break space in a value', 'vendor=a\u00a0b'],
    ['non-ASCII value', 'vendor=é'],
    ['control character', 'vendor=a\u0001b'],
    ['duplicate key', 'a=1,a=2'],
    ['33 members', Array.from({ length: 33 }, (_, i) => `k${i}=v`).join(',')],
    ['over 512 bytes', `a=${'x'.repeat(255)},b=${'x'.repeat(255)}`],
  ])('refuses %s', (_name, value) => {
    expect(parseTracestate(value)).toBeUndefined();
  });

  it('holds the length bound the specification asks platforms to propagate', () => {
    expect(MAX_TRACESTATE_BYTES).toBe(512);
  });
});

describe('inboundTraceContext', () => {
  it('reads both headers, writing traceparent back as version 00', () => {
    expect(inboundTraceContext({ traceparent: `01-${TRACE_ID}-${SPAN_ID}-01-more`, tracestate: 'vendor=abc' })).toEqual(
      {
        traceId: TRACE_ID,
        parentSpanId: SPAN_ID,
        traceFlags: 1,
        traceparent: VALID,
        tracestate: 'vendor=abc',
      },
    );
  });

  it('drops a malformed tracestate and keeps the traceparent', () => {
    expect(inboundTraceContext({ traceparent: VALID, tracestate: 'Evil=1' })).toEqual({
      traceId: TRACE_ID,
      parentSpanId: SPAN_ID,
      traceFlags: 1,
      traceparent: VALID,
    });
  });

  it('ignores a tracestate without a valid traceparent', () => {
    expect(inboundTraceContext({ tracestate: 'vendor=abc' })).toBeUndefined();
    expect(inboundTraceContext({ traceparent: 'garbage', tracestate: 'vendor=abc' })).toBeUndefined();
  });
});
