/**
 * Counts per wall-clock second over a bounded history, holding only the seconds that had counts:
 * one per-second ring per caller (`PerSecondCounts`, two 60-slot arrays) cost about 3 KB a caller,
 * 30 MB at 10,000 callers who each send a request a minute. Here a caller costs what it used: two
 * short arrays of (second, count), never longer than the history. Adding is amortised O(1) and
 * reading O(seconds held); both sit off the hot part of the request path (once per answer).
 */
export class RecentSecondCounts {
  /** Seconds with counts, ascending, from index `head` on; older entries are dropped lazily. */
  private seconds: number[] = [];
  private counts: number[] = [];
  private head = 0;
  private totalCount = 0;

  constructor(private readonly historySeconds: number) {
    if (!(historySeconds >= 1) || !Number.isInteger(historySeconds))
      throw new RangeError(`historySeconds must be an integer ≥ 1`);
  }

  add(nowMs: number, count = 1): void {
    const second = Math.floor(nowMs / 1000);
    this.totalCount += count;
    const last = this.seconds.length - 1;
    if (last >= this.head && this.seconds[last] === second) {
      this.counts[last]! += count;
      return;
    }
    // A clock step back lands in the latest second held: the history stays ascending.
    if (last >= this.head && this.seconds[last]! > second) {
      this.counts[last]! += count;
      return;
    }
    this.seconds.push(second);
    this.counts.push(count);
    this.forgetBefore(second - this.historySeconds + 1);
  }

  /** Everything ever added, beyond the history too. */
  total(): number {
    return this.totalCount;
  }

  /** "In the last n seconds": the current (partial) second and the n − 1 completed before it. */
  lastSeconds(nowMs: number, n: number): number {
    const current = Math.floor(nowMs / 1000);
    const from = current - Math.min(n, this.historySeconds) + 1;
    let sum = 0;
    for (let i = this.seconds.length - 1; i >= this.head; i -= 1) {
      const second = this.seconds[i]!;
      if (second < from) break;
      if (second <= current) sum += this.counts[i]!;
    }
    return sum;
  }

  private forgetBefore(oldestKept: number): void {
    while (this.head < this.seconds.length && this.seconds[this.head]! < oldestKept) this.head += 1;
    // Compact once the dropped prefix is as long as what is kept, so the arrays stay within twice the history.
    if (this.head > 0 && this.head * 2 >= this.seconds.length) {
      this.seconds = this.seconds.slice(this.head);
      this.counts = this.counts.slice(this.head);
      this.head = 0;
    }
  }
}
