import { CATALOG, type OperationId } from '../../../src/catalog/catalog';
import {
  BAD_TARGET_REASONS,
  UNKNOWN_ROUTE_REASONS,
  checkTarget,
  MAX_TARGET_LENGTH,
  type TargetRejectReason,
} from '../../../src/gateway/target';

describe('checkTarget accepts every catalog operation and rebuilds its path', () => {
  const rows: Array<[string, string, OperationId, string, Record<string, string>]> = [
    ['GET', '/api/v1/computes', 'computes.list', '/computes', {}],
    ['POST', '/api/v1/computes', 'computes.create', '/computes', {}],
    ['GET', '/api/v1/computes/42', 'computes.get', '/computes/42', { id: '42' }],
    ['DELETE', '/api/v1/computes/42', 'computes.delete', '/computes/42', { id: '42' }],
    ['POST', '/api/v1/computes/42/start', 'computes.start', '/computes/42/start', { id: '42' }],
    ['POST', '/api/v1/computes/42/stop', 'computes.stop', '/computes/42/stop', { id: '42' }],
    ['POST', '/api/v1/computes/42/reboot', 'computes.reboot', '/computes/42/reboot', { id: '42' }],
    ['PATCH', '/api/v1/computes/42/upsize', 'computes.upsize', '/computes/42/upsize', { id: '42' }],
    ['GET', '/api/v1/computes/specifications', 'specifications.list', '/computes/specifications', {}],
    ['GET', '/api/v1/images', 'images.list', '/images', {}],
    ['GET', '/api/v1/regions', 'regions.list', '/regions', {}],
    ['GET', '/api/v1/health', 'health', '/health', {}],
  ];

  it('covers all twelve operations', () => {
    expect(new Set(rows.map((r) => r[2]))).toEqual(new Set(CATALOG.map((op) => op.id)));
  });

  it.each(rows)('%s %s → %s %s', (method, target, id, upstreamPath, params) => {
    const decision = checkTarget(method, target);
    expect(decision).toEqual({ ok: true, operation: expect.objectContaining({ id }), params, query: [], upstreamPath });
  });
});

describe('checkTarget accepts the query in any order, within its bounds, with one canonical result', () => {
  it.each([
    [
      'GET',
      '/api/v1/computes?page=2&limit=50',
      '/computes?page=2&limit=50',
      [
        ['page', '2'],
        ['limit', '50'],
      ],
    ],
    [
      'GET',
      '/api/v1/computes?limit=50&page=2',
      '/computes?page=2&limit=50',
      [
        ['page', '2'],
        ['limit', '50'],
      ],
    ],
    // The document's bounds, at their edges: limit 1–100, page from 1 (to 2^31 − 1, see query-value.ts).
    ['GET', '/api/v1/computes?limit=100', '/computes?limit=100', [['limit', '100']]],
    [
      'GET',
      '/api/v1/computes?limit=1&page=1',
      '/computes?page=1&limit=1',
      [
        ['page', '1'],
        ['limit', '1'],
      ],
    ],
    ['GET', '/api/v1/computes?page=999999999', '/computes?page=999999999', [['page', '999999999']]],
    ['GET', '/api/v1/computes?page=2147483647', '/computes?page=2147483647', [['page', '2147483647']]],
    ['GET', '/api/v1/computes?', '/computes', []],
    ['POST', '/api/v1/computes/9223372036854775807/start', '/computes/9223372036854775807/start', []],
  ])('%s %s → %s', (method, target, upstreamPath, query) => {
    expect(checkTarget(method, target)).toMatchObject({ ok: true, upstreamPath, query });
  });
});

const BAD = 400;
const NOT_FOUND = 404;

describe('checkTarget refuses', () => {
  const rows: Array<[TargetRejectReason, string, string, 400 | 404]> = [
    ['too-long', 'GET', `/api/v1/computes?page=1&${'a'.repeat(MAX_TARGET_LENGTH)}`, BAD],
    ['too-long', 'GET', `/api/v1/${'a'.repeat(MAX_TARGET_LENGTH)}`, BAD],
    ['forbidden-byte', 'GET', '/api/v1/computes\u0000', BAD],
    ['forbidden-byte', 'GET', '/api/v1/computes\r\nx-injected: 1', BAD],
    ['forbidden-byte', 'GET', '/api/v1/computes\t', BAD],
    ['forbidden-byte', 'GET', '/api/v1/computes\u007f', BAD],
    ['forbidden-byte', 'GET', '/api/v1/comput\u00e9s', BAD],
    ['forbidden-byte', 'GET', '/api/v1/computes/\u00ff', BAD],
    ['forbidden-byte', 'GET', '/api/v1/computes/\u2025', BAD],
    ['forbidden-byte', 'GET', '/api/v1/computes/\uff0e\uff0e', BAD],
    ['forbidden-byte', 'GET', '/api/v1/computes?page=1\u0085', BAD],
    ['forbidden-byte', 'GET', '/api/v1/computes/%00', BAD],
    ['forbidden-byte', 'GET', '/api/v1/computes/%0a', BAD],
    ['forbidden-byte', 'GET', '/api/v1/computes/%7F', BAD],
    ['forbidden-byte', 'GET', '/api/v1/computes/%c0%ae', BAD],
    ['forbidden-byte', 'GET', '/api/v1/computes?page=%E2%80%A8', BAD],
    ['asterisk-form', 'OPTIONS', '*', BAD],
    ['absolute-form', 'GET', 'http://api.strettch.cloud/api/v1/computes', BAD],
    ['absolute-form', 'GET', 'HTTPS://evil.example/api/v1/computes', BAD],
    ['not-origin-form', 'CONNECT', 'api.strettch.cloud:443', BAD],
    ['not-origin-form', 'GET', 'api/v1/computes', BAD],
    ['not-origin-form', 'GET', '', BAD],
    ['not-origin-form', 'GET', '?page=1', BAD],
    ['fragment', 'GET', '/api/v1/computes#x', BAD],
    ['fragment', 'GET', '/api/v1/computes?page=1#', BAD],
    ['malformed-percent-encoding', 'GET', '/api/v1/computes/%', BAD],
    ['malformed-percent-encoding', 'GET', '/api/v1/computes/%4', BAD],
    ['malformed-percent-encoding', 'GET', '/api/v1/computes/%zz', BAD],
    ['malformed-percent-encoding', 'GET', '/api/v1/computes?page=%3', BAD],
    ['malformed-percent-encoding', 'GET', '/api/v1/computes/%%32%65', BAD],
    ['double-encoding', 'GET', '/api/v1/computes/%252e%252e', BAD],
    ['double-encoding', 'GET', '/api/v1/computes/%25', BAD],
    ['double-encoding', 'GET', '/api/v1/computes?page=%2531', BAD],
    ['encoded-dot', 'GET', '/api/v1/computes/%2e%2e/admin', BAD],
    ['encoded-dot', 'GET', '/api/v1/computes/%2E%2E', BAD],
    ['encoded-dot', 'GET', '/api/v1/computes/.%2e', BAD],
    ['encoded-dot', 'GET', '/api/v1/computes/%2e', BAD],
    ['encoded-dot', 'GET', '/api/v1/computes/a%2Eb', BAD],
    ['encoded-dot', 'GET', '/api/v1/computes?page=1%2e0', BAD],
    ['encoded-separator', 'GET', '/api/v1/computes%2f42', BAD],
    ['encoded-separator', 'GET', '/api/v1/computes%2F42', BAD],
    ['encoded-separator', 'GET', '/api/v1/computes/42%5cstart', BAD],
    ['encoded-separator', 'GET', '/api/v1/computes/42%5Cstart', BAD],
    ['encoded-reserved', 'GET', '/api/v1/computes/42%3bx', BAD],
    ['encoded-reserved', 'GET', '/api/v1/computes/42%3F', BAD],
    ['encoded-reserved', 'GET', '/api/v1/computes/42%23', BAD],
    ['encoded-reserved', 'GET', '/api/v1/computes/42%20', BAD],
    ['encoded-reserved', 'GET', '/api/v1/computes?page=1%26limit%3D5', BAD],
    ['encoded-reserved', 'GET', '/api/v1/computes?page=%2B1', BAD],
    // Issue #11: an encoded unreserved character was decoded and served; now nothing is decoded.
    ['encoded-unreserved', 'GET', '/%61pi/v1/computes', BAD],
    ['encoded-unreserved', 'GET', '/api/%761/health', BAD],
    ['encoded-unreserved', 'GET', '/api/v1/c%6Fmputes', BAD],
    ['encoded-unreserved', 'GET', '/api/v1/c%6fmputes', BAD],
    ['encoded-unreserved', 'GET', '/api/v1/computes/%34%32', BAD],
    ['encoded-unreserved', 'GET', '/api/v1/computes/4%32/start', BAD],
    ['encoded-unreserved', 'GET', '/api/v1/%7E', BAD],
    ['encoded-unreserved', 'GET', '/api/v1/computes?p%61ge=2', BAD],
    ['encoded-unreserved', 'GET', '/api/v1/computes?page=%32', BAD],
    ['encoded-unreserved', 'GET', '/api/v1/nope/%41', BAD],
    ['backslash', 'GET', '/api/v1/computes\\42', BAD],
    ['backslash', 'GET', '/api/v1\\computes', BAD],
    ['backslash', 'GET', '/api/v1/computes/42/..\\..\\admin', BAD],
    ['matrix-parameter', 'GET', '/api/v1/computes;jsessionid=1', BAD],
    ['matrix-parameter', 'GET', '/api/v1/computes/42;/start', BAD],
    ['matrix-parameter', 'GET', '/api;v=2/v1/computes', BAD],
    ['matrix-parameter', 'GET', '/api/v1/computes/..;/admin', BAD],
    ['forbidden-path-character', 'GET', '/api/v1/computes/42:start', BAD],
    ['forbidden-path-character', 'GET', '/api/v1/computes/@', BAD],
    ['forbidden-path-character', 'GET', '/api/v1/computes/ 42', BAD],
    ['forbidden-path-character', 'GET', '/api/v1/computes/42+1', BAD],
    ['forbidden-path-character', 'GET', '/api/v1/c(o)mputes', BAD],
    ['forbidden-path-character', 'GET', '/api/v1/computes/{id}', BAD],
    ['empty-segment', 'GET', '/api/v1/computes/', BAD],
    ['empty-segment', 'GET', '/api/v1//computes', BAD],
    ['empty-segment', 'GET', '//api/v1/computes', BAD],
    ['empty-segment', 'GET', '/api/v1/', BAD],
    ['empty-segment', 'GET', '/', BAD],
    ['empty-segment', 'GET', '/api/v1/computes//42', BAD],
    ['empty-segment', 'GET', '//evil.example/api/v1/computes', BAD],
    ['dot-segment', 'GET', '/api/v1/computes/..', BAD],
    ['dot-segment', 'GET', '/api/v1/computes/./42', BAD],
    ['dot-segment', 'GET', '/api/v1/computes/42/../../../admin', BAD],
    ['dot-segment', 'GET', '/api/v2/../v1/computes', BAD],
    ['dot-segment', 'GET', '/./api/v1/health', BAD],
    ['forbidden-query-character', 'GET', '/api/v1/computes?page=1+1', BAD],
    ['forbidden-query-character', 'GET', '/api/v1/computes?page=1;limit=2', BAD],
    ['forbidden-query-character', 'GET', '/api/v1/computes?page=1?', BAD],
    ['forbidden-query-character', 'GET', '/api/v1/computes?page=/1', BAD],
    ['forbidden-query-character', 'GET', '/api/v1/computes?page[]=1', BAD],
    ['forbidden-query-character', 'GET', '/api/v1/computes?page= 1', BAD],
    ['forbidden-query-character', 'GET', '/api/v1/computes?limit=1=2', BAD],
    ['empty-query-name', 'GET', '/api/v1/computes?=1', BAD],
    ['empty-query-name', 'GET', '/api/v1/computes?&page=1', BAD],
    ['empty-query-name', 'GET', '/api/v1/computes?page=1&', BAD],
    ['empty-query-name', 'GET', '/api/v1/computes?page=1&&limit=2', BAD],
    ['bad-path-parameter', 'GET', '/api/v1/computes/abc', BAD],
    ['bad-path-parameter', 'GET', '/api/v1/computes/0', BAD],
    ['bad-path-parameter', 'GET', '/api/v1/computes/042', BAD],
    ['bad-path-parameter', 'POST', '/api/v1/computes/-1/start', BAD],
    ['bad-path-parameter', 'POST', '/api/v1/computes/12345678901234567890/start', BAD],
    ['unknown-query-parameter', 'GET', '/api/v1/computes?status=running', BAD],
    ['unknown-query-parameter', 'GET', '/api/v1/computes?Page=1', BAD],
    ['unknown-query-parameter', 'GET', '/api/v1/computes/42?page=1', BAD],
    ['unknown-query-parameter', 'POST', '/api/v1/computes?_method=DELETE', BAD],
    ['unknown-query-parameter', 'GET', '/api/v1/health?x', BAD],
    ['duplicate-query-parameter', 'GET', '/api/v1/computes?page=1&page=2', BAD],
    ['duplicate-query-parameter', 'GET', '/api/v1/computes?page=1&page=1', BAD],
    ['duplicate-query-parameter', 'GET', '/api/v1/computes?limit=5&limit=500', BAD],
    ['invalid-query-value', 'GET', '/api/v1/computes?page=', BAD],
    ['invalid-query-value', 'GET', '/api/v1/computes?page', BAD],
    ['invalid-query-value', 'GET', '/api/v1/computes?page=01', BAD],
    ['invalid-query-value', 'GET', '/api/v1/computes?page=-0', BAD],
    ['invalid-query-value', 'GET', '/api/v1/computes?page=--1', BAD],
    ['invalid-query-value', 'GET', '/api/v1/computes?page=1.5', BAD],
    ['invalid-query-value', 'GET', '/api/v1/computes?limit=1e3', BAD],
    ['invalid-query-value', 'GET', '/api/v1/computes?limit=0x10', BAD],
    ['invalid-query-value', 'GET', '/api/v1/computes?limit=ten', BAD],
    // Issue #11: `limit=1000000` was forwarded; the document bounds limit to 1–100 and page from 1.
    ['query-value-out-of-bounds', 'GET', '/api/v1/computes?limit=1000000', BAD],
    ['query-value-out-of-bounds', 'GET', '/api/v1/computes?limit=101', BAD],
    ['query-value-out-of-bounds', 'GET', '/api/v1/computes?limit=0', BAD],
    ['query-value-out-of-bounds', 'GET', '/api/v1/computes?limit=-5', BAD],
    ['query-value-out-of-bounds', 'GET', '/api/v1/computes?limit=1000000000', BAD],
    ['query-value-out-of-bounds', 'GET', `/api/v1/computes?limit=${'9'.repeat(40)}`, BAD],
    ['query-value-out-of-bounds', 'GET', '/api/v1/computes?page=0', BAD],
    ['query-value-out-of-bounds', 'GET', '/api/v1/computes?page=-1', BAD],
    ['query-value-out-of-bounds', 'GET', '/api/v1/computes?page=2147483648', BAD],
    ['query-value-out-of-bounds', 'GET', '/api/v1/computes?page=2&limit=101', BAD],
    ['outside-base-path', 'GET', '/api/v1', NOT_FOUND],
    ['outside-base-path', 'GET', '/api/v2/computes', NOT_FOUND],
    ['outside-base-path', 'GET', '/API/v1/computes', NOT_FOUND],
    ['outside-base-path', 'GET', '/computes', NOT_FOUND],
    ['outside-base-path', 'GET', '/api/v1computes', NOT_FOUND],
    ['outside-base-path', 'GET', '/healthz', NOT_FOUND],
    ['no-route', 'GET', '/api/v1/admin', NOT_FOUND],
    ['no-route', 'GET', '/api/v1/Computes', NOT_FOUND],
    ['no-route', 'POST', '/api/v1/computes/42/explode', NOT_FOUND],
    ['no-route', 'GET', '/api/v1/computes/42/start/now', NOT_FOUND],
    ['no-route', 'GET', '/api/v1/a.b', NOT_FOUND],
    ['no-route', 'GET', '/api/v1/nope?anything=1', NOT_FOUND],
    ['method-not-allowed', 'PUT', '/api/v1/computes', NOT_FOUND],
    ['method-not-allowed', 'GET', '/api/v1/computes/42/start', NOT_FOUND],
    ['method-not-allowed', 'HEAD', '/api/v1/health', NOT_FOUND],
    ['method-not-allowed', 'get', '/api/v1/health', NOT_FOUND],
    ['method-not-allowed', 'DELETE', '/api/v1/computes/specifications', NOT_FOUND],
  ];

  it('has a row for every reason (no catalog operation has a required query parameter: see query.test.ts)', () => {
    const reachable = [...BAD_TARGET_REASONS, ...UNKNOWN_ROUTE_REASONS].filter((r) => r !== 'missing-query-parameter');
    expect(new Set(rows.map((r) => r[0]))).toEqual(new Set(reachable));
  });

  const codeFor = (reason: TargetRejectReason, status: number) =>
    status === 404 ? 'ROUTE_NOT_FOUND' : reason === 'query-value-out-of-bounds' ? 'VALIDATION_ERROR' : 'BAD_REQUEST';

  it.each(rows)('%s: %s %j', (reason, method, target, status) => {
    expect(checkTarget(method, target)).toEqual({
      ok: false,
      status,
      code: codeFor(reason, status),
      reason,
      message: expect.any(String),
    });
  });

  it.each([
    ['/api/v1/computes?limit=1000000', 'Query parameter "limit" must be a whole number from 1 to 100.'],
    ['/api/v1/computes?limit=0', 'Query parameter "limit" must be a whole number from 1 to 100.'],
    ['/api/v1/computes?page=0', 'Query parameter "page" must be a whole number from 1 to 2147483647.'],
    ['/api/v1/computes?page=abc', 'Query parameter "page" has an invalid value.'],
  ])('names the parameter and its documented bounds: %s', (target, message) => {
    expect(checkTarget('GET', target)).toMatchObject({ ok: false, message });
  });

  it('refuses a missing target (Node types req.url as optional)', () => {
    expect(checkTarget('GET', undefined)).toMatchObject({ ok: false, status: 400, reason: 'not-origin-form' });
  });

  it('accepts a target of exactly the maximum length and refuses one more byte', () => {
    const base = '/api/v1/computes/';
    const longest = `${base}${'1'.repeat(MAX_TARGET_LENGTH - base.length)}`;
    expect(checkTarget('GET', longest)).toMatchObject({ reason: 'bad-path-parameter' });
    expect(checkTarget('GET', `${longest}1`)).toMatchObject({ reason: 'too-long' });
  });
});

describe('public messages', () => {
  it.each([
    '/api/v1/computes/<script>alert(1)</script>',
    '/api/v1/computes?<script>=1',
    '/api/v1/computes?secret-token-value=1',
    '/api/v1/computes/secret-token-value',
    '/api/v1/secret-token-value',
  ])('never echo the target: %s', (target) => {
    const decision = checkTarget('GET', target);
    expect(decision.ok).toBe(false);
    if (decision.ok) return;
    expect(decision.message).not.toMatch(/script|secret/);
  });

  it('name the catalog parameter where that helps', () => {
    expect(checkTarget('GET', '/api/v1/computes/abc')).toMatchObject({ message: 'Path parameter "id" is not valid.' });
    expect(checkTarget('GET', '/api/v1/computes?limit=1e3')).toMatchObject({
      message: 'Query parameter "limit" has an invalid value.',
    });
  });
});
