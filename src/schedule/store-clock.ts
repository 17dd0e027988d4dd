/**
 * Where the store's clock (Redis `TIME`) stands on this process's clock, so a slot the store
 * granted is sent at the right local instant.
 *
 * A reply's offsets are relative to the instant the script ran, somewhere between the command's
 * send and its reply. Reading them relative to the reply, as one would naively, sends every slot
 * late by however long the reply took to be read — at a replica's start (cold JIT, the first EVAL)
 * and on a busy CPU that is 15–50 ms, and late slots bunch with on-time ones at the provider. So
 * every reply is a clock sample (`storeNow` seen between `sentAt` and `replyAt`), and the sample with
 * the shortest round trip — the tightest bracket — is trusted, aged by a drift allowance so a fresh
 * sample eventually replaces an old one. The error bound travels with the estimate.
 */

/** How fast two clocks may drift apart (200 ppm: far above what NTP-disciplined clocks do). */
const DRIFT_PER_MS = 2e-4;

export interface ClockEstimate {
  /** storeClock − localClock, in ms. */
  offsetMs: number;
  /** The most the true offset may differ from `offsetMs`. */
  uncertaintyMs: number;
}

export class StoreClock {
  private best?: { offsetMs: number; halfRoundTripMs: number; atMs: number };

  /** A reply carrying the store's clock arrived; `sentAtMs` and `replyAtMs` are on the local clock. */
  observe(sentAtMs: number, replyAtMs: number, storeNowMs: number): void {
    const halfRoundTripMs = Math.max(0, replyAtMs - sentAtMs) / 2;
    const offsetMs = storeNowMs - (sentAtMs + halfRoundTripMs);
    if (this.best === undefined || halfRoundTripMs <= this.agedUncertainty(replyAtMs))
      this.best = { offsetMs, halfRoundTripMs, atMs: replyAtMs };
  }

  /** Undefined until the first sample. */
  estimate(nowMs: number): ClockEstimate | undefined {
    if (this.best === undefined) return undefined;
    return { offsetMs: this.best.offsetMs, uncertaintyMs: this.agedUncertainty(nowMs) };
  }

  /** The store's clock may have been restarted or replaced (failover): start over. */
  reset(): void {
    this.best = undefined;
  }

  private agedUncertainty(nowMs: number): number {
    const best = this.best!;
    return best.halfRoundTripMs + Math.max(0, nowMs - best.atMs) * DRIFT_PER_MS;
  }
}
