import fc from 'fast-check';
import { API_BASE_PATH, CATALOG } from '../../../src/catalog/catalog';
import {
  BAD_TARGET_REASONS,
  UNKNOWN_ROUTE_REASONS,
  checkTarget,
  describeRequirement,
  publicMessageFor,
} from '../../../src/gateway/target';

const RUNS = { numRuns: 500 };

const method = fc.constantFrom('GET', 'POST', 'PATCH', 'DELETE', 'PUT', 'HEAD', 'OPTIONS', 'get');

/** Pieces chosen to hit every branch: real routes, traversal spellings, encodings, junk. */
const segment = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.constantFrom(
      'computes',
      '42',
      '7',
      'start',
      'stop',
      'reboot',
      'upsize',
      'specifications',
      'images',
      'regions',
      'health',
    ),
  },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      '',
      '.',
      '..',
      '...',
      '%2e',
      '%2E',
      '.%2e',
      '%2e%2E',
      '%2f',
      '%2F',
      '%5c',
      '%5C',
      '%25',
      '%252e',
      ';x',
      'a;b',
      '\\',
      '..\\',
      '0',
      '007',
      '-1',
      'x',
      'a.b',
      '~',
      '%41',
      '%7e',
      '%7E',
      '%34%32',
      '%00',
      '%0a',
      '%ff',
      '%c0%ae',
      '%',
      '%4',
      '%zz',
      ':',
      '@',
      '\u00e9',
      '\u0000',
      '\r\n',
      ' ',
      'api',
      'v1',
      'v2',
      'API',
      '*',
      'http:',
      '#',
      '?',
    ),
  },
  {
    weight: 2,
    arbitrary: fc.string({ unit: fc.constantFrom(...'abcz09._~-%2eEfF/;\\?#&=+'.split('')), maxLength: 8 }),
  },
);
const queryPair = fc.oneof(
  fc.constantFrom(
    'page=1',
    'page=2',
    'limit=50',
    'limit=100',
    'page=0',
    'page=',
    'page',
    '=1',
    '',
    'page=1+1',
    'x=1',
    'Page=1',
    'page=%31',
    'p%61ge=2',
    'page=01',
    'limit=%2e',
    'limit=1%00',
    'page=1;',
    'limit=101',
    'limit=1000000',
    'limit=0',
    'page=-1',
    'page=2147483648',
  ),
  fc.string({ unit: fc.constantFrom(...'pagelimt019=&%2e;+'.split('')), maxLength: 10 }),
);
const latin1Target = fc
  .uint8Array({ maxLength: 64 })
  .map((bytes) => `${API_BASE_PATH}/${Buffer.from(bytes).toString('latin1')}`);
const prefix = fc.constantFrom(
  API_BASE_PATH,
  API_BASE_PATH,
  API_BASE_PATH,
  '/api/v2',
  '/API/v1',
  '',
  '/api',
  'http://host/api/v1',
  '/api/%761',
  '//',
);
const optional = <T>(arbitrary: fc.Arbitrary<T>, weightOfNull: number) =>
  fc.oneof({ weight: weightOfNull, arbitrary: fc.constant(null) }, { weight: 1, arbitrary });
const randomTarget = fc
  .tuple(
    prefix,
    fc.array(segment, { maxLength: 4 }),
    optional(fc.array(queryPair, { maxLength: 3 }), 1),
    optional(fc.constantFrom('', 'x'), 15),
  )
  .map(([head, segments, query, fragment]) => {
    let target = `${head}${segments.map((s) => `/${s}`).join('')}`;
    if (query !== null) target += `?${query.join('&')}`;
    if (fragment !== null) target += `#${fragment}`;
    return target;
  });

/** A valid request for a random catalog operation (with its own method), query in any order. */
const validRequest = fc
  .tuple(
    fc.constantFrom(...CATALOG),
    fc.integer({ min: 1, max: 999999 }),
    fc.subarray(['page', 'limit']),
    // Inside the document's bounds of both `page` and `limit` (1–100): a valid request stays valid.
    fc.integer({ min: 1, max: 100 }),
  )
  .map(([operation, id, names, value]) => {
    const path = operation.segments.map((s) => (s.kind === 'literal' ? s.value : String(id))).join('/');
    const declared = names.filter((n) => operation.queryParameters.some((p) => p.name === n));
    const query = declared.length > 0 ? `?${declared.map((n) => `${n}=${value}`).join('&')}` : '';
    return [operation.method as string, `${API_BASE_PATH}/${path}${query}`] as const;
  });
/** A valid request with one piece inserted somewhere: most become refusals of every kind. */
const mutatedRequest = fc
  .tuple(validRequest, fc.nat(), fc.oneof(segment, queryPair), fc.boolean())
  .map(([[m, target], pick, piece, withSlash]) => {
    const at = pick % (target.length + 1);
    return [m, `${target.slice(0, at)}${withSlash ? '/' : ''}${piece}${target.slice(at)}`] as const;
  });
/** A valid request with one more query pair: exercises the query semantics. */
const extendedRequest = fc
  .tuple(validRequest, queryPair)
  .map(([[m, target], pair]) => [m, `${target}${target.includes('?') ? '&' : '?'}${pair}`] as const);
const request = fc.oneof(
  validRequest,
  mutatedRequest,
  extendedRequest,
  mutatedRequest,
  fc.tuple(method, randomTarget),
  fc.tuple(method, fc.oneof(fc.string({ maxLength: 80 }), fc.string({ unit: 'binary', maxLength: 80 }), latin1Target)),
);
const originFormRequest = fc.oneof(validRequest, mutatedRequest, extendedRequest, fc.tuple(method, randomTarget));

const KNOWN_REASONS: readonly string[] = [...BAD_TARGET_REASONS, ...UNKNOWN_ROUTE_REASONS];
const CANONICAL = /^\/[a-z0-9]+(\/[a-z0-9]+)*(\?[a-z]+=[0-9]+(&[a-z]+=[0-9]+)*)?$/;

describe('checkTarget properties', () => {
  it('never throws and always answers with a known reason and a fixed public message', () => {
    fc.assert(
      fc.property(request, ([m, target]) => {
        const decision = checkTarget(m, target);
        if (decision.ok) return;
        expect(KNOWN_REASONS).toContain(decision.reason);
        expect([400, 404]).toContain(decision.status);
        const templated = ['id', 'page', 'limit'].map((name) => publicMessageFor(decision.reason, name));
        const bounded = CATALOG.flatMap((op) => op.queryParameters).map((p) =>
          publicMessageFor(decision.reason, p.name, describeRequirement(p)),
        );
        expect([publicMessageFor(decision.reason), ...templated, ...bounded]).toContain(decision.message);
      }),
      RUNS,
    );
  });

  it('never accepts a target with traversal, encoded separators, double encoding, matrix parameters or odd bytes', () => {
    fc.assert(
      fc.property(request, ([m, target]) => {
        const decision = checkTarget(m, target);
        if (!decision.ok) return;
        const lower = target.toLowerCase();
        for (const forbidden of ['..', '%', '//', ';', '\\', '#']) expect(lower).not.toContain(forbidden);
        expect(target).toMatch(/^\/[\x21-\x7e]*$/);
        expect(target.startsWith(`${API_BASE_PATH}/`)).toBe(true);
        expect(decision.upstreamPath).toMatch(CANONICAL);
      }),
      RUNS,
    );
  });

  it('never accepts a query value outside the bounds the document declares for it', () => {
    fc.assert(
      fc.property(request, ([m, target]) => {
        const decision = checkTarget(m, target);
        if (!decision.ok) return;
        for (const [name, value] of decision.query) {
          const parameter = decision.operation.queryParameters.find((p) => p.name === name)!;
          if (parameter.minimum !== undefined) expect(Number(value)).toBeGreaterThanOrEqual(parameter.minimum);
          if (parameter.maximum !== undefined) expect(Number(value)).toBeLessThanOrEqual(parameter.maximum);
        }
      }),
      RUNS,
    );
  });

  it('gives a canonical upstreamPath: re-checking it under the base path yields the same decision', () => {
    fc.assert(
      fc.property(originFormRequest, ([m, target]) => {
        const decision = checkTarget(m, target);
        if (!decision.ok) return;
        expect(checkTarget(m, `${API_BASE_PATH}${decision.upstreamPath}`)).toEqual(decision);
      }),
      RUNS,
    );
  });

  it('never decodes: percent-encoding one unreserved character of an accepted target gets it refused', () => {
    // Positions of plain characters that are not part of an existing `%XX` escape.
    const plainPositions = (target: string): number[] => {
      const positions: number[] = [];
      for (let i = 0; i < target.length; i++) {
        if (target[i] === '%') i += 2;
        else if (/^[A-Za-z0-9_~-]$/.test(target[i]!)) positions.push(i);
      }
      return positions;
    };
    fc.assert(
      fc.property(originFormRequest, fc.nat(), fc.boolean(), ([m, target], pick, lowerHex) => {
        // A scheme cannot be percent-encoded (RFC 3986 §3.1), so only origin-form targets have equivalents.
        fc.pre(target.startsWith('/'));
        const positions = plainPositions(target.split('#')[0]!);
        fc.pre(positions.length > 0);
        const at = positions[pick % positions.length]!;
        const hex = target.charCodeAt(at).toString(16).padStart(2, '0');
        const encoded = `${target.slice(0, at)}%${lowerHex ? hex : hex.toUpperCase()}${target.slice(at + 1)}`;
        const original = checkTarget(m, target);
        const decision = checkTarget(m, encoded);
        // A refused target stays refused (possibly for an earlier offence); an accepted one now has one.
        expect(decision.ok).toBe(false);
        if (original.ok) expect(decision).toMatchObject({ status: 400, reason: 'encoded-unreserved' });
      }),
      RUNS,
    );
  });

  it('refuses every percent-encoded dot, consistently, wherever it stands', () => {
    fc.assert(
      fc.property(originFormRequest, fc.nat(), fc.constantFrom('%2e', '%2E'), ([m, target], pick, dot) => {
        const head = target.split(/[?#]/)[0]!;
        const at = head.length === 0 ? 0 : pick % head.length;
        const decision = checkTarget(m, `${target.slice(0, at)}${dot}${target.slice(at)}`);
        expect(decision.ok).toBe(false);
      }),
      RUNS,
    );
  });
});
