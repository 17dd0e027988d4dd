/**
 * Sandbox options: validated once, every problem reported with its path, the result frozen.
 * Plain settings live apart from the injected clock, random source and logger.
 */
import type { Logger } from '../gateway/observability/logger';
import { z } from 'zod';
import { NO_FAULTS, MAX_DELAY_MS, type FaultSettings } from './faults';
import { DEMO_KEYS, keyProblem, type SandboxKey } from './keys';
import { RATE_PROFILES, resolveLimits, type LimitOverrides, type RateProfile } from './rate-profiles';
import type { RateLimitSettings } from './rate-limit';
import { WINDOW_MODELS, type WindowModel } from './rate-windows';
import type { RandomSource } from './random';

export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

export interface SandboxOptions {
  /** Default: the demo keys (DEMO_KEYS). Given keys replace them. */
  keys?: SandboxKey[];
  /** Default `launch` (30 reads/s + 5 writes/s per key); `current` is 2 requests/s per key. */
  profile?: RateProfile;
  /** Override the profile's numbers: read/write for `launch`, all for `current`. */
  limits?: LimitOverrides;
  /** Default `fixed`. */
  window?: WindowModel;
  /** Where fixed windows start within each second, 0-999. Default 0. */
  windowPhaseMs?: number;
  /** Added to every API response. Default 0. */
  latencyMs?: number;
  /** Uniform extra delay in [0, jitterMs). Default 0. */
  jitterMs?: number;
  /** CREATING → RUNNING. Default 2000. */
  createDelayMs?: number;
  /** STARTING/STOPPING/REBOOTING/DESTROYING → next state. Default 1000. */
  transitionDelayMs?: number;
  faults?: { errorRate?: number; dropRate?: number; slowRate?: number; slowMs?: number };
  /** Largest accepted request body. Default 64 KiB. */
  bodyLimitBytes?: number;
  clock?: Clock;
  random?: RandomSource;
  logger?: Logger;
}

export interface SandboxSettings {
  keys: readonly SandboxKey[];
  rateLimit: Readonly<RateLimitSettings>;
  faults: Readonly<FaultSettings>;
  createDelayMs: number;
  transitionDelayMs: number;
  bodyLimitBytes: number;
}

export const DEFAULTS = Object.freeze({
  profile: 'launch' as RateProfile,
  window: 'fixed' as WindowModel,
  windowPhaseMs: 0,
  createDelayMs: 2000,
  transitionDelayMs: 1000,
  bodyLimitBytes: 64 * 1024,
});

export class SandboxOptionsError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid sandbox options: ${problems.join('; ')}`);
    this.name = 'SandboxOptionsError';
  }
}

const rate = z.number().min(0).max(1);
const delayMs = z.number().int().min(0).max(MAX_DELAY_MS);
/** A day: a lifecycle step longer than that is a typo. */
const stepMs = z.number().int().min(0).max(86_400_000);
const perSecond = z.number().int().min(1).max(1_000_000);

const plainOptionsSchema = z.strictObject({
  keys: z.array(z.strictObject({ key: z.string(), team: z.string(), role: z.string() })).optional(),
  profile: z.enum(RATE_PROFILES).optional(),
  limits: z
    .strictObject({
      readPerSecond: perSecond.optional(),
      writePerSecond: perSecond.optional(),
      allPerSecond: perSecond.optional(),
    })
    .optional(),
  window: z.enum(WINDOW_MODELS).optional(),
  windowPhaseMs: z.number().int().min(0).max(999).optional(),
  latencyMs: delayMs.optional(),
  jitterMs: delayMs.optional(),
  createDelayMs: stepMs.optional(),
  transitionDelayMs: stepMs.optional(),
  faults: z
    .strictObject({
      errorRate: rate.optional(),
      dropRate: rate.optional(),
      slowRate: rate.optional(),
      slowMs: delayMs.optional(),
    })
    .optional(),
  bodyLimitBytes: z
    .number()
    .int()
    .min(1)
    .max(100 * 1024 * 1024)
    .optional(),
});

export function resolveOptions(options: SandboxOptions): SandboxSettings {
  const { clock: _clock, random: _random, logger: _logger, ...plain } = options;
  const parsed = plainOptionsSchema.safeParse(plain);
  if (!parsed.success) {
    throw new SandboxOptionsError(
      parsed.error.issues.map((i) => `${i.path.map(String).join('.') || 'options'}: ${i.message}`),
    );
  }
  const o = parsed.data;
  const problems: string[] = [];
  const keys = (o.keys as SandboxKey[] | undefined) ?? [...DEMO_KEYS];
  keys.forEach((key, i) => {
    const problem = keyProblem(key);
    if (problem) problems.push(`keys.${i}: ${problem}`);
    else if (keys.findIndex((k) => k.key === key.key) !== i) problems.push(`keys.${i}: duplicate key`);
  });
  const profile = o.profile ?? DEFAULTS.profile;
  const limits = resolveLimits(profile, o.limits);
  if (!limits.ok) problems.push(...limits.problems);
  if (problems.length > 0 || !limits.ok) throw new SandboxOptionsError(problems);
  const faults: FaultSettings = { ...NO_FAULTS, ...definedOnly(o.faults ?? {}) };
  if (o.latencyMs !== undefined) faults.latencyMs = o.latencyMs;
  if (o.jitterMs !== undefined) faults.jitterMs = o.jitterMs;
  return Object.freeze({
    keys: Object.freeze(keys.map((k) => Object.freeze({ ...k }))),
    rateLimit: Object.freeze({
      profile,
      window: o.window ?? DEFAULTS.window,
      windowPhaseMs: o.windowPhaseMs ?? DEFAULTS.windowPhaseMs,
      limitsPerSecond: Object.freeze(limits.limitsPerSecond),
    }),
    faults: Object.freeze(faults),
    createDelayMs: o.createDelayMs ?? DEFAULTS.createDelayMs,
    transitionDelayMs: o.transitionDelayMs ?? DEFAULTS.transitionDelayMs,
    bodyLimitBytes: o.bodyLimitBytes ?? DEFAULTS.bodyLimitBytes,
  });
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
