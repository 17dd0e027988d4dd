/**
 * Adaptive safety (issue #15), judged by the sandbox's referee (sliding window): three gateways on
 * one real Redis with `safety: auto` start at 0.95, measure their send delays, and move together to
 * a higher safety without an upstream 429; under an injected dispatch jitter (the event loop blocked
 * again and again) the safety drops. Everything shares one event loop in one Jest worker on a busy
 * machine, so the assertions keep margins: the ≥ 99 % figure is printed, not asserted to the unit.
 */
import { drive, fleetsForFile, sleepUntil, untilCalm, watchEventLoop, type Fleet } from '../../helpers/fleet-harness';
import { busyFor } from '../../helpers/stall-loop';

const started = fleetsForFile();
// The sandbox stamps arrivals on the event loop this whole fleet shares: a stall of that loop (a busy
// CI machine, a GC) bunches the stamps of sends that left on time, which the real provider would not
// see. A run with such a stall may be judged again, twice at most; each attempt's failure is logged.
jest.retryTimes(2, { logErrorsBeforeRetry: true });
const LIMIT = 30;
const RUN_MS = 20_000;
/** The load goes on, up to MAX_RUN_MS, until this long of it ran at one safety (a second after a switch). */
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

/** Every replica's switch instants, in order. */
function switchTimes(fleet: Fleet): number[] {
  return switchesOf(fleet)
    .flat()
    .map((s) => Date.parse(s.time))
    .sort((a, b) => a - b);
}

/** A whole second from `fromMs` is judged: after the first switch, no switch in the second before it or in it. */
function isSettled(fromMs: number, times: readonly number[], endMs: number): boolean {
  if (times.length === 0 || fromMs < times[0]! + 1000 || fromMs + 1000 > endMs) return false;
  return times.every((t) => t < fromMs - 1000 || t >= fromMs + 1000);
}

/** How long of the load so far is judged (whole seconds). */
function settledMs(times: readonly number[], endMs: number): number {
  if (times.length === 0) return 0;
  let judged = 0;
  for (let from = Math.ceil(times[0]! / 1000) * 1000; from + 1000 <= endMs; from += 1000)
    if (isSettled(from, times, endMs)) judged += 1000;
  return judged;
}

/** The safety in force at `atMs`: the latest switch before it on any replica (they switch together), else 0.95. */
function safetyAt(switches: ReadonlyArray<ReadonlyArray<{ time: string; toSafety: number }>>, atMs: number): number {
  const before = switches
    .flat()
    .filter((s) => Date.parse(s.time) <= atMs)
    .sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
  return before.at(-1)?.toSafety ?? 0.95;
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
  const timer = setInterval(() => busyFor(blockMs), everyMs);
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
    await untilCalm();
    const loop = watchEventLoop();
    const startMs = Date.now();
    // 20 s of load, longer (up to MAX_RUN_MS) until SETTLED_MS of it ran at one safety, a second
    // after a switch (a busy machine measures longer before the fleet agrees, or raises it twice).
    let endMs = startMs + RUN_MS;
    const load = drive(
      fleet,
      [0, 1, 2].map((gateway) => ({ caller: 'worker', gateway, workers: 6 })),
      () => endMs,
    );
    while (Date.now() < endMs) {
      await sleepUntil(Math.min(endMs, Date.now() + 500));
      // Near the end only; a second to spare, for a switch in the last moments.
      const nearEnd = endMs - Date.now() <= 1000;
      if (nearEnd && settledMs(switchTimes(fleet), endMs) < SETTLED_MS + 1000)
        endMs = Math.min(endMs + 1000, startMs + MAX_RUN_MS);
    }
    await load;
    const stallMs = loop.stop();

    const switches = switchesOf(fleet);
    const safeties = await readSafeties(fleet, 3);
    const stats = fleet.sandbox.referee.stats();
    const key = Object.values(stats.keys)[0]!;
    // Whole seconds after the first switch, none within a second after any switch, before the end;
    // each judged against the safety in force then.
    const times = switchTimes(fleet);
    const settled = stats.timeline
      .filter((e) => e.class === 'read' && isSettled(e.second * 1000, times, endMs))
      .map((e) => ({ admitted: e.admitted, allowed: safetyAt(switches, e.second * 1000) * LIMIT }));
    const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);
    const settledPerSecond = mean(settled.map((e) => e.admitted));
    const allowedPerSecond = mean(settled.map((e) => e.allowed));
    const context = JSON.stringify({ stallMs, safeties, settled, switches });
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
    expect({ settledSeconds: settled.length >= 4, context }).toEqual({ settledSeconds: true, context });
    expect({ delivered: settledPerSecond >= allowedPerSecond - 0.5, context }).toEqual({ delivered: true, context });
  }, 120_000);

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
