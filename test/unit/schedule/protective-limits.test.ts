import { createProtectiveLimits } from '../../../src/schedule/protective-limits';

describe('protective limits (memory)', () => {
  beforeEach(() => jest.useFakeTimers({ now: 1_800_000_000_000 }));
  afterEach(() => jest.useRealTimers());

  test('requests per minute per caller: the quota is per caller and refills after the minute', async () => {
    const limits = createProtectiveLimits({ callerRequestsPerMinute: 3 });
    for (let i = 0; i < 3; i += 1) await expect(limits.consumeCaller('a')).resolves.toEqual({ allowed: true });
    const denied = await limits.consumeCaller('a');
    expect(denied).toMatchObject({ allowed: false });
    expect(denied.allowed === false && denied.retryAfterMs).toBeGreaterThan(59_000);
    await expect(limits.consumeCaller('b')).resolves.toEqual({ allowed: true });
    jest.advanceTimersByTime(60_001);
    await expect(limits.consumeCaller('a')).resolves.toEqual({ allowed: true });
  });

  test('lockout after N bad tokens within the window, for the lockout time', async () => {
    const limits = createProtectiveLimits({ badTokens: { maxFailures: 3, windowSec: 10, lockoutSec: 300 } });
    await expect(limits.recordBadToken('10.0.0.1')).resolves.toEqual({ allowed: true });
    await expect(limits.recordBadToken('10.0.0.1')).resolves.toEqual({ allowed: true });
    await expect(limits.checkSource('10.0.0.1')).resolves.toEqual({ allowed: true });
    const locked = await limits.recordBadToken('10.0.0.1');
    expect(locked).toMatchObject({ allowed: false });
    expect(locked.allowed === false && locked.retryAfterMs).toBeGreaterThan(299_000);
    await expect(limits.checkSource('10.0.0.1')).resolves.toMatchObject({ allowed: false });
    await expect(limits.checkSource('10.0.0.2')).resolves.toEqual({ allowed: true });
    jest.advanceTimersByTime(300_001);
    await expect(limits.checkSource('10.0.0.1')).resolves.toEqual({ allowed: true });
  });

  test('failures spread beyond the window do not lock out', async () => {
    const limits = createProtectiveLimits({ badTokens: { maxFailures: 2, windowSec: 10, lockoutSec: 300 } });
    await limits.recordBadToken('s');
    jest.advanceTimersByTime(10_001);
    await expect(limits.recordBadToken('s')).resolves.toEqual({ allowed: true });
    await expect(limits.checkSource('s')).resolves.toEqual({ allowed: true });
  });

  test('no limits configured: everything allowed', async () => {
    const limits = createProtectiveLimits({});
    await expect(limits.consumeCaller('a')).resolves.toEqual({ allowed: true });
    await expect(limits.recordBadToken('s')).resolves.toEqual({ allowed: true });
    await expect(limits.checkSource('s')).resolves.toEqual({ allowed: true });
  });
});
