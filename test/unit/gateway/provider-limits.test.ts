/** The `limits: auto` follower without Redis: what it adopts, logs, exports and asks of the schedule. */
import { createMetrics } from '../../../src/gateway/observability/metrics';
import { createProviderLimits } from '../../../src/gateway/provider-limits';
import type { AccountLimits } from '../../../src/gateway/policy/types';
import type { ScheduleClass } from '../../../src/schedule';

const AUTO: AccountLimits = {
  read: 30,
  write: 5,
  safety: 0.95,
  auto: { bounds: { minPerSecond: 1, maxPerSecond: 30 } },
};
const FIXED: AccountLimits = { read: 30, write: 5, safety: 0.95 };
const SHARED = { limit: 2, remaining: 1, family: 'shared' as const };
const LAUNCH_READ = { limit: 30, remaining: 20, family: 'per-class' as const };

function follower(options: { failHolds?: boolean } = {}) {
  let nowMs = 1_000_000;
  const lines: Array<{ obj: Record<string, unknown>; msg: string }> = [];
  const calls: string[] = [];
  const metrics = createMetrics();
  const limits = createProviderLimits({
    configured: (id) => (id === 'prod' ? AUTO : id === 'fixed' ? FIXED : undefined),
    autoAccounts: () => ['prod'],
    schedule: {
      retire: (accountId: string, scheduleClass: ScheduleClass, pauseMs: number) => {
        calls.push(`retire ${accountId} ${scheduleClass} ${pauseMs}`);
        return options.failHolds && pauseMs > 0 ? Promise.reject(new Error('store down')) : Promise.resolve();
      },
      pause: (accountId: string, operationClass: string, untilMs: number) => {
        calls.push(`pause ${accountId} ${operationClass} +${untilMs - nowMs}`);
        return Promise.resolve();
      },
    },
    replica: 'test-replica',
    now: () => nowMs,
    logger: {
      info: (obj, msg) => lines.push({ obj: obj as Record<string, unknown>, msg }),
      warn: (obj, msg) => lines.push({ obj: obj as Record<string, unknown>, msg }),
    },
    metrics,
  });
  const settle = () => new Promise((r) => setImmediate(r));
  const gauge = async () =>
    Object.fromEntries(
      (await metrics.limitPerSecond.get()).values.map((v) => [
        `${String(v.labels.account)}/${String(v.labels.class)}`,
        v.value,
      ]),
    );
  return { limits, lines, calls, metrics, settle, gauge, advance: (ms: number) => (nowMs += ms) };
}

describe('createProviderLimits (no Redis)', () => {
  test('starts at the initial limits and exports them', async () => {
    const f = follower();
    expect(f.limits.limitsFor('prod')).toEqual(AUTO);
    expect(await f.gauge()).toEqual({ 'prod/read': 30, 'prod/write': 5, 'prod/all': 0 });
    f.limits.close();
  });

  test('launch → current: adopted at once, the old schedules retired with a hold, the new one paused a window', async () => {
    const f = follower();
    f.limits.observe('prod', 'read', SHARED, 200);
    expect(f.limits.limitsFor('prod')).toEqual({ all: 2, safety: 0.95, auto: AUTO.auto });
    await f.settle();
    expect(f.calls).toEqual([
      'retire prod read 0',
      'retire prod write 0',
      'retire prod read 1250',
      'retire prod write 1250',
      'pause prod read +1000',
    ]);
    expect(f.lines).toEqual([
      {
        msg: 'limits: adopted the provider limits it advertises',
        obj: {
          account: 'prod',
          from: 'read 30/s, write 5/s',
          to: 'all 2/s',
          reason: 'lower',
          headers: 'x-ratelimit-limit',
          replica: 'test-replica',
        },
      },
    ]);
    expect((await f.metrics.limitsAdopted.get()).values).toEqual([{ labels: { account: 'prod' }, value: 1 }]);
    expect(await f.gauge()).toEqual({ 'prod/read': 0, 'prod/write': 0, 'prod/all': 2 });
    f.limits.close();
  });

  test('a hold that fails is warned about; the change is still adopted, logged and counted', async () => {
    const f = follower({ failHolds: true });
    f.limits.observe('prod', 'read', SHARED, 200);
    await f.settle();
    expect(f.limits.limitsFor('prod')).toMatchObject({ all: 2 });
    expect(f.lines.map((l) => l.msg)).toEqual([
      'limits: auto could not share or apply a change',
      'limits: auto could not share or apply a change',
      'limits: adopted the provider limits it advertises',
    ]);
    expect((await f.metrics.limitsAdopted.get()).values).toEqual([{ labels: { account: 'prod' }, value: 1 }]);
    f.limits.close();
  });

  test('an answer decided before the change (old headers, in flight) does not undo it; a raise needs a window', async () => {
    const f = follower();
    f.limits.observe('prod', 'read', SHARED, 200);
    await f.settle();
    f.limits.observe('prod', 'read', LAUNCH_READ, 200);
    f.advance(10);
    f.limits.observe('prod', 'read', LAUNCH_READ, 200);
    expect(f.limits.limitsFor('prod')).toMatchObject({ all: 2 });
    // The current answers in between reset the pending raise.
    f.limits.observe('prod', 'read', SHARED, 200);
    f.advance(1000);
    f.limits.observe('prod', 'read', LAUNCH_READ, 200);
    expect(f.limits.limitsFor('prod')).toMatchObject({ all: 2 });
    // The provider really went back: confirmed one window later, no hold (a raise is safe to take as it comes).
    f.advance(1000);
    f.limits.observe('prod', 'read', LAUNCH_READ, 200);
    expect(f.limits.limitsFor('prod')).toEqual(AUTO);
    await f.settle();
    expect(f.calls.slice(-1)).toEqual(['retire prod all 0']);
    expect(f.lines.map((l) => [l.obj.to, l.obj.reason])).toEqual([
      ['all 2/s', 'lower'],
      ['read 30/s, write 5/s', 'confirmed'],
    ]);
    f.limits.close();
  });

  test('fixed limits and unknown accounts are left alone; garbage headers teach nothing', async () => {
    const f = follower();
    f.limits.observe('fixed', 'read', SHARED, 200);
    f.limits.observe('nobody', 'read', SHARED, 200);
    f.limits.observe('prod', 'read', { remaining: 1 }, 200);
    f.limits.observe('prod', 'read', { limit: 0, family: 'shared' }, 429);
    expect(f.limits.limitsFor('fixed')).toBe(FIXED);
    expect(f.limits.limitsFor('nobody')).toBeUndefined();
    expect(f.limits.limitsFor('prod')).toEqual(AUTO);
    await f.settle();
    expect(f.calls).toEqual([]);
    expect(f.lines).toEqual([]);
    f.limits.close();
  });
});
