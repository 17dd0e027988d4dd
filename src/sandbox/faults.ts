/**
 * Latency and fault injection. Every response waits `latencyMs` plus a uniform extra in
 * [0, jitterMs). Requests past authentication and rate limiting may also be hit by a fault:
 * - error: a 500 INTERNAL_SERVER_ERROR, and the operation is NOT performed;
 * - drop: the operation IS performed, then the socket is destroyed without a response (the case
 *   idempotent retries exist for);
 * - slow: `slowMs` more delay.
 * Each such request draws three numbers (error, drop, slow) in that order and every response one
 * more for jitter when jitterMs > 0, so a seeded source replays the same faults.
 */
import { z } from 'zod';
import type { RandomSource } from './random';

export interface FaultSettings {
  errorRate: number;
  dropRate: number;
  slowRate: number;
  slowMs: number;
  latencyMs: number;
  jitterMs: number;
}

export const NO_FAULTS: Readonly<FaultSettings> = Object.freeze({
  errorRate: 0,
  dropRate: 0,
  slowRate: 0,
  slowMs: 0,
  latencyMs: 0,
  jitterMs: 0,
});

/** Ten minutes: longer delays would only hang clients. */
export const MAX_DELAY_MS = 600_000;

const rate = z.number().min(0).max(1);
const delayMs = z.number().int().min(0).max(MAX_DELAY_MS);

export const faultPatchSchema = z.strictObject({
  errorRate: rate.optional(),
  dropRate: rate.optional(),
  slowRate: rate.optional(),
  slowMs: delayMs.optional(),
  latencyMs: delayMs.optional(),
  jitterMs: delayMs.optional(),
});
export type FaultPatch = z.infer<typeof faultPatchSchema>;

export interface ResponsePlan {
  error: boolean;
  drop: boolean;
  slow: boolean;
  delayMs: number;
}

/** `faultable`: false for responses given before admission (404, 401, 429…), which only get latency. */
export function planResponse(settings: FaultSettings, random: RandomSource, faultable: boolean): ResponsePlan {
  let error = false;
  let drop = false;
  let slow = false;
  if (faultable) {
    error = random() < settings.errorRate;
    drop = random() < settings.dropRate && !error;
    slow = random() < settings.slowRate;
  }
  const jitterMs = settings.jitterMs > 0 ? Math.floor(random() * settings.jitterMs) : 0;
  return { error, drop, slow, delayMs: settings.latencyMs + jitterMs + (slow ? settings.slowMs : 0) };
}

/** Runtime-adjustable fault settings (`PUT /_sandbox/faults`), restorable to the startup values. */
export class FaultControl {
  private current: FaultSettings;

  constructor(private readonly initial: Readonly<FaultSettings>) {
    this.current = { ...initial };
  }

  get(): FaultSettings {
    return { ...this.current };
  }

  apply(patch: FaultPatch): FaultSettings {
    for (const [name, value] of Object.entries(patch)) {
      if (value !== undefined) this.current[name as keyof FaultSettings] = value;
    }
    return this.get();
  }

  reset(): void {
    this.current = { ...this.initial };
  }
}
