/** Redis's clock on this process's clock: the tightest bracket wins, and it ages. */
import { StoreClock } from '../../../src/schedule/store-clock';

test('no estimate before the first sample', () => {
  expect(new StoreClock().estimate(0)).toBeUndefined();
});

test('a sample brackets the store time between send and reply: the midpoint, with half the round trip as the error', () => {
  const clock = new StoreClock();
  // Store clock 5000 ms ahead; sent at 100, replied at 110, the store read its clock at 5105.
  clock.observe(100, 110, 5105);
  expect(clock.estimate(110)).toEqual({ offsetMs: 5000, uncertaintyMs: 5 });
});

test('a slow reply (a cold or stalled process) does not replace a tight sample: slots stay where the store put them', () => {
  const clock = new StoreClock();
  clock.observe(100, 101, 5100.5);
  // 40 ms to read this reply, although the store answered at once: the naive offset would be 40 ms off.
  clock.observe(200, 240, 5200);
  const estimate = clock.estimate(240)!;
  expect(estimate.offsetMs).toBeCloseTo(5000, 6);
  expect(estimate.uncertaintyMs).toBeLessThan(1);
});

test('an old sample ages (drift allowance), so a fresh one of similar quality takes over', () => {
  const clock = new StoreClock();
  clock.observe(0, 1, 5000.5);
  expect(clock.estimate(60_001)!.uncertaintyMs).toBeCloseTo(0.5 + 60_000 * 2e-4, 6);
  // One minute later the clocks have drifted 3 ms apart; a 2 ms round trip beats the aged sample.
  clock.observe(60_000, 60_002, 65_004);
  expect(clock.estimate(60_002)).toEqual({ offsetMs: 5003, uncertaintyMs: 1 });
});

test('reset forgets the store (a failover to another machine)', () => {
  const clock = new StoreClock();
  clock.observe(0, 1, 10);
  clock.reset();
  expect(clock.estimate(1)).toBeUndefined();
});
