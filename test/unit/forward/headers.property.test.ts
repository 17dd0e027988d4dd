import fc from 'fast-check';
import type { IncomingHttpHeaders } from 'node:http';
import { CATALOG } from '../../../src/catalog/catalog';
import {
  buildUpstreamHeaders,
  FORWARDED_REQUEST_HEADERS,
  GATEWAY_REQUEST_HEADERS,
  HOP_BY_HOP_HEADERS,
  DROPPED_RESPONSE_HEADERS,
  responseHeadersToReturn,
} from '../../../src/gateway/forward/headers';

const RUNS = { numRuns: 500 };
const API_KEY = 'sk_live_SENTINEL';
const CALLER_SECRET = 'caller-secret-SENTINEL';

const headerName = fc.oneof(
  fc.constantFrom(
    ...FORWARDED_REQUEST_HEADERS,
    ...GATEWAY_REQUEST_HEADERS,
    ...HOP_BY_HOP_HEADERS,
    'cookie',
    'x-http-method-override',
    'x-http-method',
    'x-method-override',
    'forwarded',
    'x-forwarded-for',
    'x-real-ip',
    'host',
    'set-cookie',
    'x-ratelimit-remaining',
    'retry-after',
  ),
  fc.string({ unit: fc.constantFrom(...'abcxyz-'.split('')), minLength: 1, maxLength: 12 }),
);
const headerValue = fc.oneof(
  fc.constantFrom(
    CALLER_SECRET,
    `Bearer ${CALLER_SECRET}`,
    '3f2b8c1e-9a4d-4e6f-8b7a-1c2d3e4f5a6b',
    'application/json',
    '12',
    'close, accept',
    'chunked',
    '',
  ),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
);
const inboundHeaders = fc
  .array(
    fc.tuple(
      headerName,
      fc.oneof(
        { weight: 4, arbitrary: headerValue },
        { weight: 1, arbitrary: fc.array(headerValue, { minLength: 2, maxLength: 3 }) },
      ),
    ),
    { maxLength: 10 },
  )
  .map((entries) => Object.fromEntries(entries) as IncomingHttpHeaders);

const ALLOWED_OUT: readonly string[] = [...FORWARDED_REQUEST_HEADERS, ...GATEWAY_REQUEST_HEADERS];

describe('buildUpstreamHeaders properties', () => {
  it('never throws on caller input; sends only allow-listed names, header-safe values, and the gateway’s credential', () => {
    fc.assert(
      fc.property(
        inboundHeaders,
        fc.constantFrom(...CATALOG),
        fc.string({ minLength: 1, maxLength: 12 }),
        fc.option(fc.nat({ max: 100 }), { nil: undefined }),
        (inbound, operation, callerId, bodyBytes) => {
          const decision = buildUpstreamHeaders(inbound, {
            apiKey: API_KEY,
            requestId: 'req-12345678',
            callerId,
            userAgent: 'strettch-gateway/0.1.0',
            operation,
            ...(bodyBytes !== undefined ? { bodyBytes } : {}),
          });
          if (!decision.ok) {
            expect(decision.status).toBe(400);
            expect(decision.message).not.toContain('SENTINEL');
            return;
          }
          const { headers } = decision;
          for (const [name, value] of Object.entries(headers)) {
            expect(ALLOWED_OUT).toContain(name);
            expect(value).toMatch(/^[\t\x20-\x7e]+$/);
            if (name === 'x-request-id' || name === 'user-agent' || name === 'idempotency-key')
              expect(value).not.toContain('SENTINEL');
          }
          expect(headers.authorization).toBe(`Bearer ${API_KEY}`);
          expect(headers['x-request-id']).toBe('req-12345678');
          expect(headers['user-agent']).toBe('strettch-gateway/0.1.0');
          if (operation.class === 'read') expect(headers).not.toHaveProperty('idempotency-key');
          if (headers['idempotency-key'] !== undefined)
            expect(headers['idempotency-key']).not.toBe(String(inbound['idempotency-key']).toLowerCase());
          if (inbound['transfer-encoding'] !== undefined && bodyBytes === undefined)
            expect(headers).not.toHaveProperty('content-length');
          // The gateway's own media type with a body it read, never the caller's (issue #11).
          expect(headers['content-type']).toBe((bodyBytes ?? 0) > 0 ? 'application/json' : undefined);
        },
      ),
      RUNS,
    );
  });
});

describe('responseHeadersToReturn properties', () => {
  it('drops exactly hop-by-hop, connection-named and the listed headers; returns the rest unchanged', () => {
    fc.assert(
      fc.property(inboundHeaders, (upstream) => {
        const returned = responseHeadersToReturn(upstream);
        const connection = [upstream.connection ?? []]
          .flat()
          .flatMap((v) => v.split(','))
          .map((t) => t.trim().toLowerCase());
        for (const [name, value] of Object.entries(upstream)) {
          const dropped =
            (HOP_BY_HOP_HEADERS as readonly string[]).includes(name) ||
            (DROPPED_RESPONSE_HEADERS as readonly string[]).includes(name) ||
            connection.includes(name);
          if (dropped) expect(returned).not.toHaveProperty(name);
          else expect(returned[name]).toEqual(value);
        }
        for (const name of Object.keys(returned)) expect(upstream).toHaveProperty(name);
      }),
      RUNS,
    );
  });
});
