/**
 * The most recent samples of one measurement (a ring of at most `capacity`), each with the instant
 * it was taken, and their quantiles. Pure: the caller passes the clock.
 */
export class SampleWindow {
  private readonly atMs: number[] = [];
  private readonly values: number[] = [];
  /** Index of the oldest sample once the ring is full. */
  private head = 0;

  constructor(private readonly capacity: number) {
    if (!(capacity >= 1) || !Number.isInteger(capacity))
      throw new RangeError(`capacity must be an integer ≥ 1, got ${capacity}`);
  }

  get size(): number {
    return this.values.length;
  }

  add(atMs: number, value: number): void {
    if (this.values.length < this.capacity) {
      this.atMs.push(atMs);
      this.values.push(value);
      return;
    }
    this.atMs[this.head] = atMs;
    this.values[this.head] = value;
    this.head = (this.head + 1) % this.capacity;
  }

  /** Forgets samples taken before `sinceMs`. */
  dropBefore(sinceMs: number): void {
    const keep: number[] = [];
    for (let i = 0; i < this.values.length; i++) if (this.atMs[i]! >= sinceMs) keep.push(i);
    if (keep.length === this.values.length) return;
    // Rebuilt in age order, so the ring starts over at index 0.
    const order = [...keep].sort((a, b) => this.atMs[a]! - this.atMs[b]!);
    const atMs = order.map((i) => this.atMs[i]!);
    const values = order.map((i) => this.values[i]!);
    this.atMs.length = 0;
    this.values.length = 0;
    this.atMs.push(...atMs);
    this.values.push(...values);
    this.head = 0;
  }

  /**
   * The q-quantile (0 < q ≤ 1) by the nearest-rank method: the smallest sample with at least
   * q × n samples at or below it, so p99 of 100 samples is the largest but one. NaN when empty.
   */
  quantile(q: number): number {
    if (!(q > 0 && q <= 1)) throw new RangeError(`quantile must be in (0, 1], got ${q}`);
    if (this.values.length === 0) return NaN;
    const sorted = [...this.values].sort((a, b) => a - b);
    const rank = Math.ceil(q * sorted.length - 1e-9);
    return sorted[Math.max(0, rank - 1)]!;
  }
}
