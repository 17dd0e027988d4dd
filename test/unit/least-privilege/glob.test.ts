import fc from 'fast-check';
import { globMatches, isGlob, matchesAny } from '../../../src/gateway/least-privilege/glob';

describe('globMatches', () => {
  it.each<[string, string, boolean]>([
    ['pool-*', 'pool-a', true],
    ['pool-*', 'pool-', true],
    ['pool-*', 'pool', false],
    ['pool-*', 'xpool-a', false],
    ['*', '', true],
    ['*', 'anything at all', true],
    ['a*b*c', 'abc', true],
    ['a*b*c', 'aXXbYYc', true],
    ['a*b*c', 'aXXbYYcd', false],
    ['*-prod', 'web-prod', true],
    ['*-prod', 'web-prod-2', false],
    ['a**b', 'ab', true],
    // everything but `*` is literal
    ['pool-.', 'pool-a', false],
    ['pool-.', 'pool-.', true],
    ['pool-?', 'pool-a', false],
    ['[ab]', 'a', false],
    ['^x$', '^x$', true],
    ['exact', 'exact', true],
    ['exact', 'Exact', false],
  ])('%j against %j → %s', (pattern, text, expected) => {
    expect(globMatches(pattern, text)).toBe(expected);
  });

  it('agrees with the equivalent anchored regular expression', () => {
    const alphabet = fc.constantFrom('a', 'b', '-', '.', '*');
    fc.assert(
      fc.property(
        fc.string({ unit: alphabet, maxLength: 8 }),
        fc.string({ unit: fc.constantFrom('a', 'b', '-', '.'), maxLength: 12 }),
        (pattern, text) => {
          const regex = new RegExp(
            `^${pattern
              .split('*')
              .map((part) => part.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&'))
              .join('[\\s\\S]*')}$`,
          );
          expect(globMatches(pattern, text)).toBe(regex.test(text));
        },
      ),
    );
  });

  it('stays fast on a hostile tag and glob', () => {
    // A backtracking regex would take exponential time here; the two-pointer match is O(tag × glob).
    expect(globMatches('*a*a*a*a*a*a*a*a*a*a*b', 'a'.repeat(20_000))).toBe(false);
  });
});

describe('matchesAny / isGlob', () => {
  it('matches exact entries exactly and globs as globs', () => {
    expect(matchesAny(['autoscaler', 'pool-*'], 'autoscaler')).toBe(true);
    expect(matchesAny(['autoscaler', 'pool-*'], 'pool-7')).toBe(true);
    expect(matchesAny(['autoscaler', 'pool-*'], 'autoscaler2')).toBe(false);
    expect(matchesAny([], 'x')).toBe(false);
    expect(isGlob('pool-*')).toBe(true);
    expect(isGlob('pool')).toBe(false);
  });
});
