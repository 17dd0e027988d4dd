/**
 * The schedule's default clock: `Date.now()` with its sub-millisecond part. Slots at high limits are
 * microseconds apart (100 000/s at 0.95: 10.5 µs), and on a whole-millisecond clock a slot a few µs
 * ahead reads as ahead until the next millisecond ticks: a request waited up to a millisecond (half
 * of all requests at one in flight, most of them at 32) for no slot of anyone's. Store-clock samples
 * bracketed within one millisecond also read as zero round trips.
 *
 * The monotonic clock (`performance.now()`) gives the fraction; it is anchored to the wall clock and
 * re-anchored whenever the reading leaves the millisecond `Date.now()` reports (the wall clock was
 * stepped or slewed), at that millisecond's start. So `Math.floor(preciseNow()) === Date.now()` on every
 * call, and a reading is never ahead of the true time by more than the drift since the last anchor:
 * each re-anchor only moves the reading back toward the wall clock, never early.
 */
import { performance } from 'node:perf_hooks';

let offsetMs = Date.now() - performance.now();

export function preciseNow(): number {
  const wallMs = Date.now();
  const monotonicMs = performance.now();
  const reading = offsetMs + monotonicMs;
  if (reading >= wallMs && reading < wallMs + 1) return reading;
  offsetMs = wallMs - monotonicMs;
  return wallMs;
}
