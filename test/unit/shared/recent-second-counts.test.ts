import { PerSecondCounts } from '../../../src/shared/per-second-counts';
import { RecentSecondCounts } from '../../../src/shared/recent-second-counts';

const T0 = 1_800_000_000_000; // a whole second

describe('RecentSecondCounts', () => {
  it('counts the last n seconds, the current partial one included', () => {
    const counts = new RecentSecondCounts(5);
    counts.add(T0 + 100);
    counts.add(T0 + 999, 2);
    counts.add(T0 + 1000);
    counts.add(T0 + 3500);
    expect(counts.lastSeconds(T0 + 3600, 1)).toBe(1);
    expect(counts.lastSeconds(T0 + 3600, 3)).toBe(2);
    expect(counts.lastSeconds(T0 + 3600, 4)).toBe(5);
    expect(counts.lastSeconds(T0 + 3600, 100)).toBe(5);
    expect(counts.total()).toBe(5);
  });

  it('forgets seconds beyond its history, but not the total', () => {
    const counts = new RecentSecondCounts(3);
    for (let s = 0; s < 10; s += 1) counts.add(T0 + s * 1000, s + 1);
    expect(counts.lastSeconds(T0 + 9000, 100)).toBe(8 + 9 + 10);
    expect(counts.lastSeconds(T0 + 20_000, 3)).toBe(0);
    expect(counts.total()).toBe(55);
  });

  it('agrees with the per-second ring on a random history', () => {
    let seed = 7;
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    const ring = new PerSecondCounts(60);
    const sparse = new RecentSecondCounts(60);
    let now = T0;
    for (let i = 0; i < 5000; i += 1) {
      now += Math.floor(random() * (random() < 0.1 ? 20_000 : 400));
      ring.add(now);
      sparse.add(now);
      const n = 1 + Math.floor(random() * 60);
      expect(sparse.lastSeconds(now, n)).toBe(ring.lastSeconds(now, n));
    }
    expect(sparse.total()).toBe(ring.total());
  });

  it('keeps a clock that steps back in its latest second, never out of order', () => {
    const counts = new RecentSecondCounts(60);
    counts.add(T0 + 5000);
    counts.add(T0 + 2000);
    expect(counts.lastSeconds(T0 + 5000, 1)).toBe(2);
    expect(counts.total()).toBe(2);
  });

  it('refuses a history that is not a whole number of seconds', () => {
    expect(() => new RecentSecondCounts(0)).toThrow(RangeError);
    expect(() => new RecentSecondCounts(2.5)).toThrow(RangeError);
  });
});
