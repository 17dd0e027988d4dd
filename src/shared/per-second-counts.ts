/**
 * Counts per wall-clock second over a bounded history: a ring of `seconds` buckets, each tagged
 * with the second it holds, so a bucket left from a previous lap reads as zero without a timer.
 * Adding is O(1) and allocation-free (it sits on the request path); reading is O(seconds).
 */
export class PerSecondCounts {
  private readonly counts: Float64Array;
  private readonly secondOf: Float64Array;
  private totalCount = 0;

  constructor(private readonly seconds: number) {
    if (!(seconds >= 1) || !Number.isInteger(seconds)) throw new RangeError(`seconds must be an integer ≥ 1`);
    this.counts = new Float64Array(seconds);
    this.secondOf = new Float64Array(seconds).fill(-1);
  }

  add(nowMs: number, count = 1): void {
    const second = Math.floor(nowMs / 1000);
    const i = second % this.seconds;
    if (this.secondOf[i] !== second) {
      this.secondOf[i] = second;
      this.counts[i] = 0;
    }
    this.counts[i]! += count;
    this.totalCount += count;
  }

  /** Everything ever added, beyond the history too. */
  total(): number {
    return this.totalCount;
  }

  /** The last `n` completed seconds before `nowMs`'s, oldest first (the current, partial second excluded). */
  completedSeconds(nowMs: number, n = this.seconds - 1): number[] {
    const current = Math.floor(nowMs / 1000);
    const out: number[] = [];
    for (let second = current - Math.min(n, this.seconds - 1); second < current; second += 1) out.push(this.at(second));
    return out;
  }

  /** "In the last n seconds": the current (partial) second and the n − 1 completed before it. */
  lastSeconds(nowMs: number, n: number): number {
    const current = Math.floor(nowMs / 1000);
    let sum = 0;
    for (let second = current - Math.min(n, this.seconds) + 1; second <= current; second += 1) sum += this.at(second);
    return sum;
  }

  private at(second: number): number {
    const i = second % this.seconds;
    return this.secondOf[i] === second ? this.counts[i]! : 0;
  }
}
