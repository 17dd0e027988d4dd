import fc from 'fast-check';
import { maxInAnySpan, maxInFixedWindows, mergeSorted } from '../../../src/sandbox/window-stats';

describe('window statistics', () => {
  it.each([
    [[], 0],
    [[0], 1],
    [[0, 999], 2],
    [[0, 1000], 1],
    [[0, 500, 999, 1000, 1499], 4],
  ])('maxInAnySpan(%j) = %i', (instants, expected) => {
    expect(maxInAnySpan(instants)).toBe(expected);
  });

  it.each([
    [[900, 950, 1000, 1050], 0, 2],
    [[900, 950, 1000, 1050], 500, 4],
    [[-1, 0], 0, 1],
  ])('maxInFixedWindows(%j, phase %i) = %i', (instants, phase, expected) => {
    expect(maxInFixedWindows(instants, phase)).toBe(expected);
  });

  it('mergeSorted merges', () => {
    expect(mergeSorted([1, 4, 9], [2, 4, 10])).toEqual([1, 2, 4, 4, 9, 10]);
  });

  const instants = fc.array(fc.integer({ min: 0, max: 5000 }), { maxLength: 60 }).map((a) => a.sort((x, y) => x - y));

  it('the sliding maximum is the worst fixed window over all phases (integer ms)', () => {
    fc.assert(
      fc.property(instants, (sorted) => {
        let worst = 0;
        for (let phase = 0; phase < 1000; phase++) worst = Math.max(worst, maxInFixedWindows(sorted, phase));
        expect(maxInAnySpan(sorted)).toBe(worst);
      }),
      { numRuns: 50 },
    );
  });

  it('agrees with brute force', () => {
    fc.assert(
      fc.property(instants, (sorted) => {
        const brute = Math.max(0, ...sorted.map((s) => sorted.filter((t) => t >= s && t < s + 1000).length));
        expect(maxInAnySpan(sorted)).toBe(brute);
      }),
    );
  });
});
