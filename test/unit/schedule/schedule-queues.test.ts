/** `queues()`: what the status page reads of each schedule — sends, waiting requests, 429s, pauses — on fake timers. */
import { createRateSchedule, type RateSchedule } from '../../../src/schedule';
import { granted, requestsWaitingAtMost } from '../../helpers/schedule-requests';

const T0 = 1_800_000_000_000;
const READ_IV = 1000 / (10 * 0.9);

describe('RateSchedule.queues', () => {
  let schedule: RateSchedule;
  const request = requestsWaitingAtMost(5000);

  beforeEach(() => {
    jest.useFakeTimers({ now: T0 });
    schedule = createRateSchedule({
      limits: (id) => (id === 'prod' ? { read: 10, write: 2 } : undefined),
      safety: 0.9,
      expectedReplicas: 2,
      now: () => Date.now(),
    });
  });

  afterEach(async () => {
    await schedule.close();
    jest.useRealTimers();
  });

  it('lists only the schedules used, at their scheduled rate', async () => {
    expect(schedule.queues()).toEqual([]);
    granted(await schedule.reserve(request()));
    expect(schedule.queues()).toEqual([
      expect.objectContaining({ accountId: 'prod', scheduleClass: 'read', ratePerSecond: expect.closeTo(9, 9) }),
    ]);
  });

  it('counts the waiting requests and the oldest wait while they wait, and each release as a send', async () => {
    const reservations = [];
    for (let i = 0; i < 4; i += 1) reservations.push(granted(await schedule.reserve(request())));
    const outcomes = reservations.map((r) => schedule.waitForSlot(r));
    // The first slot is now: released at once. Three wait.
    expect(schedule.queues()[0]).toMatchObject({ waiting: 3, oldestWaitMs: 0, sentTotal: 1 });

    await jest.advanceTimersByTimeAsync(166); // 1.5 intervals of 111.1 ms
    // The first two slots (now and one interval later) are released; two still wait.
    expect(schedule.queues()[0]).toMatchObject({ waiting: 2, sentTotal: 2 });
    expect(schedule.queues()[0]!.oldestWaitMs).toBe(166);

    await jest.advanceTimersByTimeAsync(Math.ceil(READ_IV * 2));
    expect((await Promise.all(outcomes)).map((o) => o.kind)).toEqual(['ready', 'ready', 'ready', 'ready']);
    const view = schedule.queues()[0]!;
    expect(view).toMatchObject({ waiting: 0, sentTotal: 4, sentLast10s: 4 });
    expect(view.oldestWaitMs).toBeUndefined();
    // Sends of the current second are not in the completed seconds yet.
    await jest.advanceTimersByTimeAsync(1000);
    expect(schedule.queues()[0]!.sendsPerSecond.reduce((a, b) => a + b, 0)).toBe(4);
    expect(schedule.queues()[0]!.sendsPerSecond).toHaveLength(60);
  });

  it('does not count an aborted or expired wait as a send', async () => {
    granted(await schedule.reserve(request()));
    const queued = granted(await schedule.reserve(request()));
    const abort = new AbortController();
    const outcome = schedule.waitForSlot(queued, { signal: abort.signal });
    abort.abort();
    expect((await outcome).kind).toBe('aborted');
    expect(schedule.queues()[0]).toMatchObject({ waiting: 0, sentTotal: 0 });
  });

  it('shows an upstream 429 and the pause it caused', async () => {
    granted(await schedule.reserve(request()));
    await schedule.observe('prod', 'read', { pauseUntilMs: T0 + 3000 }, { status: 429 });
    const view = schedule.queues()[0]!;
    expect(view).toMatchObject({ upstreamRefusals: 1, lastRefusalAtMs: T0 });
    expect(view.pausedUntilMs).toBeGreaterThan(T0 + 1900);
    await jest.advanceTimersByTimeAsync(4000);
    expect(schedule.queues()[0]!.pausedUntilMs).toBeUndefined();
  });
});
