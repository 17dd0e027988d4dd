import { RateLimiter, rateLimitHeaders } from '../../../src/sandbox/rate-limit';
import { resolveLimits } from '../../../src/sandbox/rate-profiles';

const launch = () =>
  new RateLimiter({ profile: 'launch', window: 'fixed', windowPhaseMs: 0, limitsPerSecond: { read: 30, write: 5 } });

describe('RateLimiter', () => {
  it('launch: reads and writes have their own counters', () => {
    const limiter = launch();
    for (let i = 0; i < 5; i++) expect(limiter.tryAdmit('k', 'write', 0).admitted).toBe(true);
    expect(limiter.tryAdmit('k', 'write', 0)).toMatchObject({ admitted: false, bucket: 'write', limitPerSecond: 5 });
    expect(limiter.tryAdmit('k', 'read', 0)).toMatchObject({ admitted: true, bucket: 'read', remaining: 29 });
  });

  it('current: one counter for everything', () => {
    const limiter = new RateLimiter({
      profile: 'current',
      window: 'sliding',
      windowPhaseMs: 0,
      limitsPerSecond: { all: 2 },
    });
    expect(limiter.tryAdmit('k', 'read', 0).admitted).toBe(true);
    expect(limiter.tryAdmit('k', 'write', 0)).toMatchObject({ admitted: true, bucket: 'all', remaining: 0 });
    expect(limiter.tryAdmit('k', 'read', 0).admitted).toBe(false);
  });
});

describe('rateLimitHeaders', () => {
  it('launch family, reset in Unix seconds, no Retry-After when admitted', () => {
    expect(
      rateLimitHeaders('launch', {
        admitted: true,
        bucket: 'read',
        limitPerSecond: 30,
        remaining: 29,
        resetAtMs: 1_776_144_940_000,
      }),
    ).toEqual({
      'x-ratelimit-limit-second': '30',
      'x-ratelimit-remaining-second': '29',
      'x-ratelimit-reset-second': '1776144940',
    });
  });

  it('current family; Retry-After rounds up to whole seconds, at least 1', () => {
    const refused = {
      admitted: false,
      bucket: 'all' as const,
      limitPerSecond: 2,
      remaining: 0,
      resetAtMs: 1_776_144_940_250,
    };
    expect(rateLimitHeaders('current', { ...refused, retryAfterMs: 10 })).toEqual({
      'x-ratelimit-limit': '2',
      'x-ratelimit-remaining': '0',
      'x-ratelimit-reset': '1776144941',
      'retry-after': '1',
    });
    expect(rateLimitHeaders('current', { ...refused, retryAfterMs: 1001 })['retry-after']).toBe('2');
  });
});

describe('resolveLimits', () => {
  it.each([
    ['launch', {}, { read: 30, write: 5 }],
    ['launch', { readPerSecond: 28 }, { read: 28, write: 5 }],
    ['current', {}, { all: 2 }],
    ['current', { allPerSecond: 10 }, { all: 10 }],
  ] as const)('%s with %j → %j', (profile, overrides, expected) => {
    expect(resolveLimits(profile, overrides)).toEqual({ ok: true, limitsPerSecond: expected });
  });

  it('refuses an override the profile has no counter for', () => {
    expect(resolveLimits('current', { writePerSecond: 5 })).toEqual({
      ok: false,
      problems: ['limits.writePerSecond: the current profile has no write limit'],
    });
    expect(resolveLimits('launch', { allPerSecond: 5 })).toMatchObject({ ok: false });
  });
});
