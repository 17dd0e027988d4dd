/** Pure summaries of one measured phase: percentiles by nearest rank, throughput, medians. */

export interface PhaseSummary {
  /** Completed with the expected status. */
  okCount: number;
  errorCount: number;
  elapsedMs: number;
  requestsPerSecond: number;
  /** The mean: what a caller with one request in flight waits on average. */
  meanMs: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** Nearest-rank percentile of an ascending array; NaN when empty. */
export function percentile(sortedAscending: ArrayLike<number>, fraction: number): number {
  const count = sortedAscending.length;
  if (count === 0) return Number.NaN;
  const rank = Math.min(count, Math.max(1, Math.ceil(fraction * count)));
  return sortedAscending[rank - 1]!;
}

export function summarizePhase(latenciesMs: readonly number[], errorCount: number, elapsedMs: number): PhaseSummary {
  const sorted = Float64Array.from(latenciesMs).sort();
  return {
    okCount: sorted.length,
    errorCount,
    elapsedMs,
    requestsPerSecond: elapsedMs > 0 ? (sorted.length * 1000) / elapsedMs : 0,
    meanMs: sorted.length > 0 ? sorted.reduce((sum, ms) => sum + ms, 0) / sorted.length : Number.NaN,
    p50Ms: percentile(sorted, 0.5),
    p90Ms: percentile(sorted, 0.9),
    p99Ms: percentile(sorted, 0.99),
    maxMs: sorted.length > 0 ? sorted[sorted.length - 1]! : Number.NaN,
  };
}

/** The element whose `by` value is the median (the lower one for an even count): one whole round, not a blend. */
export function medianBy<T>(items: readonly T[], by: (item: T) => number): T {
  if (items.length === 0) throw new Error('medianBy: no items');
  const sorted = [...items].sort((a, b) => by(a) - by(b));
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

/** The median of the values (the mean of the middle two for an even count); NaN when empty. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}
