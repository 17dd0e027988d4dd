/**
 * Exact "most requests in one second" figures over a set of admitted instants, as a provider that
 * counts in fixed windows (of a given phase) or in a sliding window would see them.
 */
import { WINDOW_MS } from './rate-windows';

/** The largest number of instants inside any half-open span [s, s + spanMs), for every real s. */
export function maxInAnySpan(sortedMs: readonly number[], spanMs: number = WINDOW_MS): number {
  let best = 0;
  let first = 0;
  for (let last = 0; last < sortedMs.length; last++) {
    while (sortedMs[last]! - sortedMs[first]! >= spanMs) first++;
    best = Math.max(best, last - first + 1);
  }
  return best;
}

/** The largest count in one fixed window [phase + k·span, phase + (k+1)·span). */
export function maxInFixedWindows(instantsMs: readonly number[], phaseMs: number, spanMs: number = WINDOW_MS): number {
  const counts = new Map<number, number>();
  let best = 0;
  for (const t of instantsMs) {
    const index = Math.floor((t - phaseMs) / spanMs);
    const count = (counts.get(index) ?? 0) + 1;
    counts.set(index, count);
    best = Math.max(best, count);
  }
  return best;
}

export function mergeSorted(a: readonly number[], b: readonly number[]): number[] {
  const merged: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (j >= b.length || (i < a.length && a[i]! <= b[j]!)) merged.push(a[i++]!);
    else merged.push(b[j++]!);
  }
  return merged;
}
