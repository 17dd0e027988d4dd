/** `retire` (limits: auto): waiters of a schedule the limits no longer use take new slots under the new ones. */
import { createRateSchedule, type RateSchedule } from '../../../src/schedule';
import type { AccountRateLimits } from '../../../src/schedule';
import { granted, requestsWaitingAtMost } from '../../helpers/schedule-requests';

const T0 = 1_800_000_000_000;

describe('RateSchedule.retire', () => {
  let schedule: RateSchedule;
  let limits: AccountRateLimits;
  const request = requestsWaitingAtMost(5000);

  beforeEach(() => {
    jest.useFakeTimers({ now: T0 });
    limits = { read: 30, write: 5 };
    schedule = createRateSchedule({ limits: () => limits, safety: 0.95, expectedReplicas: 1, now: () => Date.now() });
  });

  afterEach(async () => {
    await schedule.close();
    jest.useRealTimers();
  });

  test('a waiter on a retired schedule answers late at once; the next reservation goes to the new schedule', async () => {
    granted(await schedule.reserve(request()));
    const queued = granted(await schedule.reserve(request()));
    expect(queued.slotAtMs).toBeGreaterThan(T0);
    const waiting = schedule.waitForSlot(queued);
    limits = { all: 2 };
    await schedule.retire('prod', 'read', 0);
    await expect(waiting).resolves.toMatchObject({ kind: 'late', lateMs: 0 });
    const next = granted(await schedule.reserve(request()));
    expect(next.scheduleClass).toBe('all');
  });

  test('with a pause: the retired schedule holds new slots back until it ends, and serves again once the limits map to it', async () => {
    granted(await schedule.reserve(request()));
    await schedule.retire('prod', 'read', 1500);
    // The limits map reads here again (a reload back, or a replica that has not switched yet): after the pause.
    const after = granted(await schedule.reserve(request()));
    expect(after.scheduleClass).toBe('read');
    expect(after.slotAtMs).toBeGreaterThanOrEqual(T0 + 1500);
    const outcome = schedule.waitForSlot(after);
    await jest.advanceTimersByTimeAsync(after.slotAtMs - Date.now() + 1);
    await expect(outcome).resolves.toMatchObject({ kind: 'ready' });
  });

  test('a schedule never used here: nothing to do', async () => {
    await expect(schedule.retire('prod', 'all', 1000)).resolves.toBeUndefined();
  });
});
