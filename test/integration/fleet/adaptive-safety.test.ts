/**
 * Adaptive safety (issue #15), judged by the sandbox's referee (sliding window): three gateways on
 * one real Redis with `safety: auto` start at 0.95, measure their send delays, and move together to
 * a higher safety without an upstream 429; under an injected dispatch jitter (the event loop blocked
 * again and again) the safety drops. Everything shares one event loop in one Jest worker on a busy
 * machine, so the assertions keep margins: the ≥ 99 % figure is printed, not asserted to the unit.
 */
import { drive, fleetsForFile, sleepUntil, watchEventLoop, type Fleet } from '../../helpers/fleet-harness';

const started = fleetsForFile();
// The sandbox stamps arrivals on the event loop this whole fleet shares: a stall of that loop (a busy
// CI machine, a GC) bunches the stamps of sends that left on time, which the real provider would not
// see. A run with such a stall may be judged again, twice at most; each attempt's failure is logged.
jest.retryTimes(2, { logErrorsBeforeRetry: true });
const LIMIT = 30;
const RUN_MS = 20_000;
/** The load goes on, up to MAX_RUN_MS, until this long has passed after the last switch (plus 1 s). */
const SETTLED_MS = 4000;
const MAX_RUN_MS = 40_000;

/** Each gateway's switches of the safety in force, from its log. */
function switchesOf(fleet: Fleet): Array<Array<{ time: string; toSafety: number }>> {
  return fleet.gateways.map((g) =>
    g.logLines
      .filter((line) => line.includes('safety in force changed'))
      .map((line) => JSON.parse(line) as { time: string; toSafety: number }),
  );
}

/** When the last replica switched to the safety it runs at (0: none switched yet). */
function lastSwitchMs(fleet: Fleet): number {
  return Math.max(...switchesOf(fleet).map((s) => Date.parse(s.at(-1)?.time ?? '0')));
}

/** The safety in force on every gateway, from `strettch_gateway_schedule_safety{class=read}`. */
async function readSafeties(fleet: Fleet, gateways: number): Promise<number[]> {
  const safeties: number[] = [];
  for (let g = 0; g < gateways; g += 1)
    safeties.push(
      await fleet.metric(g, 'strettch_gateway_schedule_safety', { account: fleet.accountId, class: 'read' }),
    );
  return safeties;
}

/** Blocks this process's event loop for `blockMs` every `everyMs`: the dispatch jitter of a starved CPU. */
function injectJitter(blockMs: number, everyMs: number): () => void {
  const timer = setInterval(() => {
    const until = Date.now() + blockMs;
    while (Date.now() < until) {
      /* busy */
    }
  }, everyMs);
  return () => clearInterval(timer);
}

describe('adaptive safety on a sliding-window provider', () => {
  test('three gateways raise it together and use what it allows, with no upstream 429', async () => {
    const redis = await started.redis();
    const fleet = await started.fleet({
      gateways: 3,
      redisUrl: redis.url,
      limits: { read: LIMIT, write: 5, safety: 'auto' },
      sandbox: { profile: 'launch', window: 'sliding', latencyMs: 2 },
      callers: { worker: { maxWaitMs: 2000 } },
    });
    await fleet.warmUp();
    expect(await readSafeties(fleet, 3)).toEqual([0.95, 0.95, 0.95]);
    const loop = watchEventLoop();
    const startMs = Date.now();
    // 20 s of load, longer while the last switch leaves fewer than SETTLED_MS after it (a busy
    // machine measures longer before the fleet agrees): the throughput is judged once settled.
    let endMs = startMs + RUN_MS;
    const load = drive(
      fleet,
      [0, 1, 2].map((gateway) => ({ caller: 'worker', gateway, workers: 6 })),
      () => endMs,
    );
    while (Date.now() < endMs) {
      await sleepUntil(Math.min(endMs, Date.now() + 500));
      const wanted = lastSwitchMs(fleet) + SETTLED_MS + 1000;
      if (wanted > endMs) endMs = Math.min(wanted, startMs + MAX_RUN_MS);
    }
    await load;
    const stallMs = loop.stop();

    const switches = switchesOf(fleet);
    const safeties = await readSafeties(fleet, 3);
    const stats = fleet.sandbox.referee.stats();
    const key = Object.values(stats.keys)[0]!;
    // Full seconds from one second after the last replica switched to its final safety.
    const settledFromMs = lastSwitchMs(fleet) + 1000;
    const settled = stats.timeline.filter(
      (e) => e.class === 'read' && e.second * 1000 >= settledFromMs && (e.second + 1) * 1000 <= endMs,
    );
    const settledPerSecond = settled.reduce((sum, e) => sum + e.admitted, 0) / Math.max(1, settled.length);
    const context = JSON.stringify({ stallMs, safeties, settled: settled.map((e) => e.admitted), switches });
    process.stdout.write(
      `adaptive-safety: safeties ${safeties.join(', ')}; settled ${settled.length} s at ` +
        `${settledPerSecond.toFixed(2)}/s (${((100 * settledPerSecond) / LIMIT).toFixed(1)} % of ${LIMIT}); ` +
        `upstream 429s ${key.classes.read.rejected}; stall ${stallMs} ms\n`,
    );

    expect({ upstream429: key.classes.read.rejected, context }).toEqual({ upstream429: 0, context });
    expect({ maxInSlidingWindow: key.classes.read.maxAdmittedInSlidingWindow <= LIMIT, context }).toEqual({
      maxInSlidingWindow: true,
      context,
    });
    // Every replica runs at the same safety, raised from 0.95 (its budget covers what was measured).
    expect(new Set(safeties).size).toBe(1);
    expect(safeties[0]).toBeGreaterThan(0.95);
    expect(safeties[0]).toBeLessThanOrEqual(0.995);
    // The three switched within a moment of each other: one announced instant, not one each.
    for (const s of switches) expect(s.length).toBeGreaterThanOrEqual(1);
    // The schedule delivers what the raised safety allows (above the 28.5/s of a fixed 0.95), less
    // half a slot per second for counting whole seconds on a busy machine.
    expect(settled.length).toBeGreaterThanOrEqual(4);
    expect({ settledPerSecond: settledPerSecond >= safeties[0]! * LIMIT - 0.5, context }).toEqual({
      settledPerSecond: true,
      context,
    });
  }, 90_000);

  test('an injected dispatch jitter lowers it below the default, and the provider still sees no 429', async () => {
    const redis = await started.redis();
    const fleet = await started.fleet({
      gateways: 1,
      redisUrl: redis.url,
      limits: { read: LIMIT, write: 5, safety: { min: 0.8 } },
      sandbox: { profile: 'launch', window: 'sliding', latencyMs: 2 },
      callers: { worker: { maxWaitMs: 2000 } },
    });
    await fleet.warmUp();
    const startMs = Date.now();
    const RUN_MS = 9000;
    const load = drive(fleet, [{ caller: 'worker', gateway: 0, workers: 8 }], startMs + RUN_MS);
    // Blocks of 60 ms every 150 ms: releases up to 60 ms late, beyond the 52.6 ms budget of 0.95.
    const stopJitter = injectJitter(60, 150);
    await sleepUntil(startMs + RUN_MS);
    stopJitter();
    await load;

    const ownChanges = fleet.gateways[0]!.logLines.filter((line) => line.includes('adaptive safety changed')).map(
      (line) => JSON.parse(line) as { toSafety: number; releaseLateMs: number; neededMs: number },
    );
    const [safety] = await readSafeties(fleet, 1);
    const key = Object.values(fleet.sandbox.referee.stats().keys)[0]!;
    const context = JSON.stringify({ ownChanges, safety });
    process.stdout.write(`adaptive-safety jitter: ${context}; upstream 429s ${key.classes.read.rejected}\n`);
    expect({ lowered: ownChanges.some((c) => c.toSafety < 0.95), context }).toEqual({ lowered: true, context });
    expect({ safety: safety! < 0.95, context }).toEqual({ safety: true, context });
    expect(safety).toBeGreaterThanOrEqual(0.8);
    expect({ upstream429: key.classes.read.rejected, context }).toEqual({ upstream429: 0, context });
  }, 60_000);
});
