/**
 * Properties of `matchRoute` (the catalog lookup on decoded segments below the base path): it never
 * throws, it accepts only the canonical spelling of an operation's path, and its decision is a
 * function of the method and the path alone.
 */
import fc from 'fast-check';
import {
  CATALOG,
  PATH_PARAMETER_PATTERNS,
  matchRoute,
  type HttpMethod,
  type Operation,
  type RouteLookup,
} from '../../../src/catalog/catalog';

const RUNS = { numRuns: 1000 };
const METHODS: readonly HttpMethod[] = ['GET', 'POST', 'PATCH', 'DELETE'];
const LITERALS = [
  ...new Set(CATALOG.flatMap((op) => op.segments.flatMap((s) => (s.kind === 'literal' ? [s.value] : [])))),
];

const method = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...METHODS) },
  {
    weight: 2,
    arbitrary: fc.constantFrom('PUT', 'HEAD', 'OPTIONS', 'TRACE', 'CONNECT', 'get', 'Get', 'post', '', ' GET', 'GET '),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 10 }) },
);

/** Ids, near-ids and things that only look like ids. */
const idLike = fc.oneof(
  fc.bigInt({ min: 1n, max: 10n ** 19n - 1n }).map(String),
  fc.constantFrom(
    '0',
    '00',
    '01',
    '-1',
    '+1',
    '1.0',
    '1e3',
    '0x1',
    ' 1',
    '1 ',
    '1\n',
    '١',
    '１',
    `1${'0'.repeat(19)}`,
    '9'.repeat(20),
  ),
);
const segment = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...LITERALS) },
  { weight: 3, arbitrary: idLike },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '',
      '.',
      '..',
      '__proto__',
      'constructor',
      'toString',
      'COMPUTES',
      'Computes',
      'computes ',
      'health\u0000',
      'api',
      'v1',
    ),
  },
  { weight: 2, arbitrary: fc.string({ maxLength: 12 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }) },
);
const anySegments = fc.array(segment, { maxLength: 5 });

/** An operation's path with a random id (valid or not), and maybe one segment replaced. */
const nearOperation = fc
  .tuple(fc.constantFrom(...CATALOG), idLike, fc.option(fc.tuple(fc.nat(), segment), { freq: 3 }))
  .map(([operation, id, replacement]) => {
    const segments = operation.segments.map((s) => (s.kind === 'literal' ? s.value : id));
    if (replacement && segments.length > 0) segments[replacement[0] % segments.length] = replacement[1];
    return segments;
  });
const segments = fc.oneof(anySegments, nearOperation, nearOperation);

/** The operation's template with its parameters filled in: the one canonical path of a match. */
function render(operation: Operation, params: Readonly<Record<string, string>>): string[] {
  return operation.segments.map((s) => (s.kind === 'literal' ? s.value : params[s.name]!));
}

/** A comparable summary of a decision (the operation by id, not by object identity). */
function summary(lookup: RouteLookup): unknown {
  return lookup.kind === 'match'
    ? { kind: 'match', id: lookup.match.operation.id, params: lookup.match.params }
    : lookup;
}

describe('matchRoute properties', () => {
  it('never throws, and answers one of the four kinds', () => {
    fc.assert(
      fc.property(method, segments, (m, path) => {
        const lookup = matchRoute(m, path);
        expect(['match', 'method-not-allowed', 'no-route', 'bad-parameter']).toContain(lookup.kind);
      }),
      RUNS,
    );
  });

  it('accepts only canonical paths: a match re-rendered from its template and parameters is the input', () => {
    fc.assert(
      fc.property(method, segments, (m, path) => {
        const lookup = matchRoute(m, path);
        if (lookup.kind !== 'match') return;
        const { operation, params } = lookup.match;
        expect(operation.method).toBe(m);
        expect(render(operation, params)).toEqual(path);
        // Exactly the template's parameters, each within its pattern.
        const names = operation.segments.flatMap((s) => (s.kind === 'param' ? [s.name] : []));
        expect(Object.keys(params).sort()).toEqual(names.sort());
        for (const name of names) expect(params[name]).toMatch(PATH_PARAMETER_PATTERNS[name]!);
      }),
      RUNS,
    );
  });

  it('decides on the method and the path alone: equal inputs, however built and whenever asked, get equal decisions', () => {
    fc.assert(
      fc.property(method, segments, segments, (m, path, other) => {
        const first = summary(matchRoute(m, path));
        // Another lookup in between must not matter (no hidden state), nor may the input be touched.
        matchRoute(m, other);
        const rebuilt = Object.freeze(path.join('\u0000').split('\u0000'));
        fc.pre(rebuilt.length === path.length);
        expect(summary(matchRoute(String(m), rebuilt))).toEqual(first);
        // The canonical rendering of a match matches again, to the same operation.
        const lookup = matchRoute(m, path);
        if (lookup.kind === 'match')
          expect(summary(matchRoute(m, render(lookup.match.operation, lookup.match.params)))).toEqual(first);
      }),
      RUNS,
    );
  });

  it('method-not-allowed lists exactly the methods that would match the same path', () => {
    fc.assert(
      fc.property(method, segments, (m, path) => {
        const lookup = matchRoute(m, path);
        const matching = METHODS.filter((other) => matchRoute(other, path).kind === 'match');
        if (lookup.kind === 'method-not-allowed') {
          expect([...lookup.allowed].sort()).toEqual([...matching].sort());
          expect(lookup.allowed).not.toContain(m);
        } else if (lookup.kind === 'no-route' || lookup.kind === 'bad-parameter') {
          expect(matching).toEqual([]);
        }
      }),
      RUNS,
    );
  });

  it('bad-parameter names a parameter of a template whose literals all fit and whose pattern it breaks', () => {
    fc.assert(
      fc.property(method, segments, (m, path) => {
        const lookup = matchRoute(m, path);
        if (lookup.kind !== 'bad-parameter') return;
        const culprit = CATALOG.find(
          (op) =>
            op.segments.length === path.length &&
            op.segments.every((s, i) => (s.kind === 'literal' ? s.value === path[i] : true)) &&
            op.segments.some((s, i) => s.kind === 'param' && s.name === lookup.name && !s.pattern.test(path[i]!)),
        );
        expect(culprit).toBeDefined();
      }),
      RUNS,
    );
  });

  it('compares methods case-sensitively and never folds the case of a literal', () => {
    fc.assert(
      fc.property(nearOperation, fc.constantFrom(...METHODS), (path, m) => {
        expect(matchRoute(m.toLowerCase(), path).kind).not.toBe('match');
        const upper = path.map((s) => s.toUpperCase());
        if (upper.some((s, i) => s !== path[i] && LITERALS.includes(path[i]!)))
          expect(matchRoute(m, upper).kind).not.toBe('match');
      }),
      RUNS,
    );
  });
});
