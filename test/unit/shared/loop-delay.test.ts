import { watchLoopDelay } from '../../../src/shared/loop-delay';
import { pause, stallLoop } from '../../helpers/stall-loop';

it('reads 0 before its first sample, a stall once sampled, and starts again on reset', async () => {
  const watch = watchLoopDelay();
  try {
    expect(watch.read()).toEqual({ p99Ms: 0, maxMs: 0 });
    await stallLoop(300, 30);
    await pause(30);
    expect(watch.read().maxMs).toBeGreaterThanOrEqual(250);
    watch.reset();
    expect(watch.read()).toEqual({ p99Ms: 0, maxMs: 0 });
    await pause(60);
    // Well below the stall even on a busy machine: the reset dropped it.
    expect(watch.read().maxMs).toBeLessThan(250);
  } finally {
    watch.stop();
  }
});

it('stop() returns what it read until then and stops sampling', async () => {
  const watch = watchLoopDelay();
  await stallLoop(60, 30);
  await pause(30);
  const last = watch.stop();
  expect(last.maxMs).toBeGreaterThanOrEqual(40);
  await stallLoop(150, 30);
  expect(watch.read()).toEqual(last);
});
