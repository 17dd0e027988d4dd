import { PerSecondCounts } from '../../../src/shared/per-second-counts';

const T0 = 1_800_000_000_000; // a whole second

describe('PerSecondCounts', () => {
  it('counts per wall-clock second; the current, partial second is not a completed one', () => {
    const counts = new PerSecondCounts(5);
    counts.add(T0 + 100);
    counts.add(T0 + 999, 2);
    counts.add(T0 + 1000);
    counts.add(T0 + 3500);
    expect(counts.completedSeconds(T0 + 3600)).toEqual([0, 3, 1, 0]);
    expect(counts.completedSeconds(T0 + 3600, 2)).toEqual([1, 0]);
    expect(counts.lastSeconds(T0 + 3600, 1)).toBe(1);
    expect(counts.lastSeconds(T0 + 3600, 3)).toBe(2);
    expect(counts.lastSeconds(T0 + 3600, 5)).toBe(5);
    expect(counts.total()).toBe(5);
  });

  it('reads a bucket left from an earlier lap of the ring as zero, and reuses it', () => {
    const counts = new PerSecondCounts(3);
    counts.add(T0, 7);
    // Three seconds later the same bucket holds another second.
    expect(counts.completedSeconds(T0 + 3000)).toEqual([0, 0]);
    expect(counts.lastSeconds(T0 + 3000, 3)).toBe(0);
    counts.add(T0 + 3000);
    expect(counts.lastSeconds(T0 + 3000, 1)).toBe(1);
    expect(counts.completedSeconds(T0 + 4000)).toEqual([0, 1]);
    expect(counts.total()).toBe(8);
  });

  it('never reads further back than its history', () => {
    const counts = new PerSecondCounts(3);
    for (let s = 0; s < 10; s += 1) counts.add(T0 + s * 1000);
    expect(counts.completedSeconds(T0 + 10_000, 100)).toEqual([1, 1]);
    expect(counts.lastSeconds(T0 + 9000, 100)).toBe(3);
  });

  it('refuses a history that is not a whole number of seconds', () => {
    expect(() => new PerSecondCounts(0)).toThrow(RangeError);
    expect(() => new PerSecondCounts(1.5)).toThrow(RangeError);
  });
});
