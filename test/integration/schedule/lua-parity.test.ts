/**
 * The Lua script is a port of calendar.ts. With the clock pinned (the script's test-only override),
 * the same operations must give the same answers from Redis and from memory, and keep the same running
 * sums of the callers' weights and reserved shares.
 */
import { createRedisConnection, type RedisConnection } from '../../../src/redis';
import type { CalendarReply, CalendarReserveInput, ScheduleInfo } from '../../../src/schedule/calendar';
import { scheduleKeys } from '../../../src/schedule/keys';
import { MemoryScheduleStore } from '../../../src/schedule/memory-store';
import { RedisScheduleStore } from '../../../src/schedule/redis-store';
import { startRedisServer, type RedisServer } from '../../helpers/redis-server';
import { seededRandom } from '../../helpers/seeded-random';

let server: RedisServer;
let connection: RedisConnection;

beforeAll(async () => {
  server = await startRedisServer();
  connection = createRedisConnection({ url: server.url, commandTimeoutMs: 1000 });
  await new Promise<void>((resolve) => {
    if (connection.status() === 'ready') resolve();
    else connection.onStatusChange((s) => s === 'ready' && resolve());
  });
});

afterAll(async () => {
  await connection.close();
  await server.stop();
});

/** Both stores of one schedule on the same pinned clock: Redis (the script) and memory (calendar.ts). */
function storesOnPinnedClock(prefix: string, clock: () => number, via: RedisConnection = connection) {
  return {
    redis: new RedisScheduleStore({ connection: via, keyPrefix: prefix, idleTtlMs: 60_000, pinnedNow: clock }),
    memory: new MemoryScheduleStore({ now: clock, idleTtlMs: 60_000, epochPrefix: 'm' }),
    keys: scheduleKeys(prefix, 'acct', 'read'),
  };
}

function strip<T extends ScheduleInfo>(reply: T): Omit<T, 'epoch'> {
  const { epoch: _epoch, ...rest } = reply;
  return rest;
}

function expectSame(a: object, b: object, step: string): void {
  const ka = Object.keys(a).sort();
  expect([step, ka]).toEqual([step, Object.keys(b).sort()]);
  for (const k of ka) {
    const va = (a as Record<string, unknown>)[k];
    const vb = (b as Record<string, unknown>)[k];
    if (typeof va === 'number' && typeof vb === 'number') {
      if (Math.abs(va - vb) > 1e-6) throw new Error(`${step}: ${k} differs: redis ${va} vs memory ${vb}`);
    } else expect([step, k, va]).toEqual([step, k, vb]);
  }
}

/** The stored running sums, as the script keeps them in the state hash. */
async function redisSums(
  key: string,
): Promise<{ sumWeights: number; sumReserved: number; counted: number; known: number }> {
  const [sw, sr, nw, nk] = (await server.command('HMGET', key, 'sw', 'sr', 'nw', 'nk')) as (string | null)[];
  return {
    sumWeights: Number(sw ?? 0),
    sumReserved: Number(sr ?? 0),
    counted: Number(nw ?? 0),
    known: Number(nk ?? 0),
  };
}

test('random operation sequences give identical replies from the Lua script and calendar.ts', async () => {
  let now = 1_800_000_000_000;
  const { redis, memory, keys } = storesOnPinnedClock('parity', () => now);
  const rand = seededRandom(7);
  const callers = [
    { id: 'a', weight: 3, reservedShare: 0 },
    { id: 'b', weight: 1, reservedShare: 0 },
    { id: 'c', weight: 2, reservedShare: 0.2 },
  ];
  // Occasional callers: they go idle, stop counting, are forgotten and come back; some reserve a share.
  const occasional = Array.from({ length: 40 }, (_, i) => ({
    id: `o${i}`,
    weight: 1 + (i % 4),
    reservedShare: i % 7 === 0 ? 0.05 : 0,
  }));
  const fairness = { activeWindowMs: 1000, forgetCallerMs: 5000, lookaheadMs: 70, maxReservedShareTotal: 0.5 };
  const counts = {
    granted: 0,
    idle: 0,
    kept: 0,
    deadline: 0,
    backlog: 0,
    paused: 0,
    refused: 0,
    shifted: 0,
    anchored: 0,
  };
  const memoryCounts = { stoppedCounting: 0, forgotten: 0, sumsCompared: 0 };
  const steps = 3000;
  for (let step = 0; step < steps; step += 1) {
    // Now and then a quiet spell, long enough for callers to stop counting or be forgotten.
    now += rand() < 0.01 ? 1000 + Math.floor(rand() * 6000) : Math.floor(rand() * 60);
    const r = rand();
    const label = `step ${step}`;
    // The interval changes with the limit once, mid-run; before that it moves between the sliding-safe
    // and the learning rate every 40 steps (re-grids that keep the old grid's free slots), from the step.
    const iv = step >= 1500 ? 1000 / 19 : step >= 600 && Math.floor(step / 40) % 2 === 1 ? 1000 / 28.4 : 1000 / 28.5;
    // The least interval of an old grid whose free points are kept: the sliding-safe one in force; none
    // now and then (fallback); now and then a lowered safety's (the old grid too dense to keep).
    const minKeptIntervalMs =
      step % 13 === 0 ? undefined : step % 7 === 0 ? 1000 / 27 : step >= 1500 ? 1000 / 19 : 1000 / 28.5;
    const before = memory.inspect(keys);
    const counted = before?.countedIds.size ?? 0;
    const known = before?.callers.size ?? 0;
    if (r < 0.9) {
      const c =
        rand() < 0.7
          ? callers[Math.floor(rand() * callers.length)]!
          : occasional[Math.floor(rand() * occasional.length)]!;
      const wasKnown = before?.callers.has(c.id) ?? false;
      const wasCounted = before?.countedIds.has(c.id) ?? false;
      if (rand() < 0.03) c.weight = 1 + Math.floor(rand() * 5); // weights change
      const input: CalendarReserveInput = {
        intervalMs: iv,
        callerId: c.id,
        weight: c.weight,
        reservedShare: c.reservedShare,
        maxWaitMs: [0, 100, 500, 2000][Math.floor(rand() * 4)]!,
        maxQueued: c.id === 'a' ? 3 : 12,
        fairness,
        knownEpoch: '',
        lossGuardMs: 1000,
        idleTtlMs: 60_000,
        ...(minKeptIntervalMs === undefined ? {} : { minKeptIntervalMs }),
      };
      // Steps 200–499 are anchored (a learnt fixed-window phase); the anchor moves at 300, and
      // replicas' anchors differ by fractions of a millisecond (within or beyond the slack) or by more now and then.
      if (step >= 200 && step < 500) {
        // From the step, not from rand(): the rest of the sequence stays the one the counts below were set for.
        const jitter = step % 37 === 0 ? 13 : (step % 9) * 0.1;
        input.anchorMs = 1_800_000_000_000 + (step < 300 ? 7.25 : 19.5) + jitter;
        input.anchorSlackMs = step % 2 === 0 ? 0.5 : 0;
        // Mostly with the windows the anchor sits in (a re-grid onto it counts their old slots).
        if (step % 5 !== 0) input.anchorWindow = { windowMs: 1000, leadMs: 62 };
        counts.anchored += 1;
      }
      if (rand() < 0.05) {
        // A replica that remembers another incarnation (lost state): both stores take the same branch.
        input.knownEpoch = 'gone';
        input.hintOffsetMs = Math.floor(rand() * 600) - 300;
      }
      const a: CalendarReply = await redis.reserve(keys, input);
      const b: CalendarReply = memory.reserveNow(keys, input);
      expectSame(strip(a), strip(b), label);
      if (a.kind === 'granted') {
        counts.granted += 1;
        if (a.idleCapacity) counts.idle += 1;
        if (a.keptGridIntervalMs !== undefined) counts.kept += 1;
      } else counts[a.reason] += 1;
      const after = memory.inspect(keys)!;
      // This reservation counts its caller: fewer than that means others stopped counting or were forgotten.
      if (after.countedIds.size < counted + (wasCounted ? 0 : 1)) memoryCounts.stoppedCounting += 1;
      if (after.callers.size < known + (wasKnown ? 0 : 1)) memoryCounts.forgotten += 1;
    } else if (r < 0.92) {
      const delay = Math.floor(rand() * 400);
      const a = await redis.pause(keys, delay);
      expectSame(strip(a), strip(memory.pauseNow(keys, delay)), label);
      if (a.shiftedMs > 0) counts.shifted += 1;
    } else if (r < 0.95) {
      // Upstream 429s, often two in one provider window (the second waits for its reset).
      const refusal = {
        resetKey: rand() < 0.2 ? '' : String(Math.floor(now / 1000) + 1),
        resetDelayMs: Math.floor(rand() * 1000),
      };
      expectSame(strip(await redis.refused(keys, iv, refusal)), strip(memory.refusedNow(keys, iv, refusal)), label);
      counts.refused += 1;
    } else if (r < 0.98) {
      const report = { remaining: Math.floor(rand() * 30), limit: 30, resetKey: String(Math.floor(now / 1000) + 1) };
      expectSame(strip(await redis.report(keys, report, 2)), strip(await memory.report(keys, report, 2)), label);
    } else {
      const offset = Math.floor(rand() * 300);
      expectSame(strip(await redis.seed(keys, offset, 100)), strip(memory.seedNow(keys, offset, 100)), label);
    }
    if (step % 10 === 0 || step === steps - 1) {
      // The running sums themselves, not only the replies they lead to.
      const state = memory.inspect(keys)!;
      const stored = await redisSums(keys.state);
      expectSame(
        stored,
        {
          sumWeights: state.sumWeights,
          sumReserved: state.sumReserved,
          counted: state.countedIds.size,
          known: state.callers.size,
        },
        `${label} sums`,
      );
      memoryCounts.sumsCompared += 1;
    }
  }
  // The sequence exercised every branch.
  expect(counts.granted).toBeGreaterThan(800);
  expect(counts.idle).toBeGreaterThan(0);
  expect(counts.kept).toBeGreaterThan(10);
  expect(counts.deadline).toBeGreaterThan(0);
  expect(counts.backlog).toBeGreaterThan(0);
  expect(counts.paused).toBeGreaterThan(0);
  expect(counts.refused).toBeGreaterThan(20);
  expect(counts.shifted).toBeGreaterThan(20);
  expect(memoryCounts.stoppedCounting).toBeGreaterThan(100);
  expect(memoryCounts.forgotten).toBeGreaterThan(50);
  expect(memoryCounts.sumsCompared).toBeGreaterThan(100);
  expect(counts.anchored).toBeGreaterThan(200);
}, 60_000);

test('a state written before the caller index (no sums) is indexed once: its callers count, or are forgotten', async () => {
  const now = 1_900_000_000_000;
  const redis = new RedisScheduleStore({ connection, keyPrefix: 'legacy', idleTtlMs: 60_000, pinnedNow: () => now });
  const keys = scheduleKeys('legacy', 'acct', 'read');
  const fairness = { activeWindowMs: 5000, forgetCallerMs: 300_000, lookaheadMs: 70, maxReservedShareTotal: 0.5 };
  const record = (tat: number, weight: number, reserved: number, seenAt: number) =>
    `${tat}|${weight}|${reserved}|${seenAt}|0|`;
  // As the script before issue #15 left it: scalars and caller fields, no sums, no index.
  await server.command(
    ...['HSET', keys.state, 'epoch', '1.1', 'floor', '0', 'shift', '0', 'n', '3'],
    ...['c:recent', record(now - 100, 3, 0.1, now - 1000)], // seen 1 s ago: counts
    ...['c:quiet', record(now - 60_000, 2, 0.2, now - 60_000)], // seen a minute ago: known, not counted
    ...['c:gone', record(now - 400_000, 5, 0, now - 400_000)], // past forgetCallerMs: forgotten
  );
  const reply = await redis.reserve(keys, {
    intervalMs: 1000 / 28.5,
    callerId: 'new',
    weight: 1,
    reservedShare: 0,
    maxWaitMs: 2000,
    maxQueued: 8,
    fairness,
    knownEpoch: '',
    lossGuardMs: 1000,
    idleTtlMs: 60_000,
  });
  expect(reply.kind).toBe('granted');
  expect(await redisSums(keys.state)).toEqual({
    sumWeights: 4,
    sumReserved: expect.closeTo(0.3, 9),
    counted: 2,
    known: 3,
  });
  expect(Number(await server.command('HEXISTS', keys.state, 'c:gone'))).toBe(0);
  expect(((await server.command('ZRANGE', keys.callers, 0, -1)) as string[]).sort()).toEqual([
    'new',
    'quiet',
    'recent',
  ]);
});

// Together: the reservations after each quiet spell go in one call (the first alone, the rest in one
// reserve-many), whose later reservations must go on settling where the earlier ones stopped.
test.each([
  ['one by one', false],
  ['together', true],
])(
  'after a quiet spell with more callers due than one reservation settles, both settle the same ones (%s)',
  async (_, together) => {
    let now = 1_850_000_000_000;
    const clock = (): number => now;
    const prefix = together ? 'drain-many' : 'drain';
    const redis = new RedisScheduleStore({ connection, keyPrefix: prefix, idleTtlMs: 600_000, pinnedNow: clock });
    const memory = new MemoryScheduleStore({ now: clock, idleTtlMs: 600_000, epochPrefix: 'm' });
    const keys = scheduleKeys(prefix, 'acct', 'read');
    const fairness = { activeWindowMs: 1000, forgetCallerMs: 5000, lookaheadMs: 70, maxReservedShareTotal: 0.5 };
    const input = (callerId: string, weight: number, reservedShare: number): CalendarReserveInput => ({
      intervalMs: 0.5,
      callerId,
      weight,
      reservedShare,
      maxWaitMs: 2000,
      maxQueued: 8,
      fairness,
      knownEpoch: '',
      lossGuardMs: 1000,
      idleTtlMs: 600_000,
    });
    const expectSameSums = async (label: string) => {
      const state = memory.inspect(keys)!;
      const mine = { sumWeights: state.sumWeights, sumReserved: state.sumReserved };
      expectSame(
        await redisSums(keys.state),
        { ...mine, counted: state.countedIds.size, known: state.callers.size },
        label,
      );
    };
    const reserve = async (callerId: string, weight: number, reservedShare: number, label: string) => {
      const one = input(callerId, weight, reservedShare);
      expectSame(strip(await redis.reserve(keys, one)), strip(memory.reserveNow(keys, one)), label);
      await expectSameSums(label);
    };
    // 700 callers, three to a millisecond (ties in the index are ordered by id), with different weights and
    // reserved shares, so settling other callers than the script would show in the sums.
    for (let i = 0; i < 700; i += 1) {
      if (i % 3 === 0) now += 1;
      await reserve(`c${i}`, 1 + (i % 3), (i % 7) * 0.0001, `fill ${i}`);
    }
    let maxCounted = 0;
    for (const quiet of [1500, 6000]) {
      now += quiet; // first every caller stops counting, then every one is forgotten
      if (together) {
        const inputs = Array.from({ length: 6 }, () => input('z', 1, 0));
        const replies = await Promise.all(inputs.map((one) => redis.reserve(keys, one)));
        for (const [r, one] of inputs.entries()) {
          expectSame(strip(replies[r]!), strip(memory.reserveNow(keys, one)), `after ${quiet} ms, reservation ${r}`);
          maxCounted = Math.max(maxCounted, memory.inspect(keys)!.countedIds.size);
        }
        await expectSameSums(`after ${quiet} ms, the batch`);
        continue;
      }
      for (let r = 0; r < 6; r += 1) {
        now += 1;
        await reserve('z', 1, 0, `after ${quiet} ms, reservation ${r}`);
        maxCounted = Math.max(maxCounted, memory.inspect(keys)!.countedIds.size);
      }
    }
    expect(maxCounted).toBeGreaterThan(300); // the limit held some back for the next reservations
    expect(memory.inspect(keys)!.callers.size).toBe(1);
    if (together) expect(redis.batchedReservationCount()).toBe(10);
  },
);

test('reservations sent together (reserve-many) answer exactly as the same reservations one by one', async () => {
  let now = 1_800_000_500_000;
  const { redis, memory, keys } = storesOnPinnedClock('parity-many', () => now);
  const rand = seededRandom(11);
  const fairness = { activeWindowMs: 1000, forgetCallerMs: 5000, lookaheadMs: 70, maxReservedShareTotal: 0.5 };
  const kinds = new Set<string>();
  for (let round = 0; round < 60; round += 1) {
    now += rand() < 0.1 ? 2000 + Math.floor(rand() * 5000) : Math.floor(rand() * 200);
    // 1 to 40 reservations at one instant: the first goes alone, the others wait for it and go in one call.
    const inputs: CalendarReserveInput[] = Array.from({ length: 1 + Math.floor(rand() * 40) }, () => ({
      // Rounds 1, 4, 7…: the learning rate, a re-grid that keeps the old grid's free points.
      intervalMs: round % 3 === 1 ? 1000 / 28.4 : 1000 / 28.5,
      minKeptIntervalMs: 1000 / 28.5,
      callerId: `c${Math.floor(rand() * 12)}`,
      weight: 1 + Math.floor(rand() * 3),
      reservedShare: rand() < 0.1 ? 0.1 : 0,
      maxWaitMs: [0, 100, 500, 2000][Math.floor(rand() * 4)]!,
      maxQueued: 6,
      fairness,
      knownEpoch: '',
      lossGuardMs: 1000,
      idleTtlMs: 60_000,
    }));
    // Every third round on a learnt fixed-window grid (anchor and slack ride in each reservation's arguments).
    if (round % 3 === 0)
      for (const input of inputs) {
        input.anchorMs = 1_800_000_000_000 + 11.5;
        input.anchorSlackMs = 0.5;
        input.anchorWindow = { windowMs: 1000, leadMs: 62 };
      }
    const together = await Promise.all(inputs.map((input) => redis.reserve(keys, input)));
    for (const [i, input] of inputs.entries()) {
      const one = await memory.reserve(keys, input);
      kinds.add(one.kind === 'granted' ? (one.keptGridIntervalMs === undefined ? 'granted' : 'kept') : one.reason);
      expectSame(strip(together[i]!), strip(one), `round ${round}, reservation ${i}`);
    }
  }
  expect(redis.commandCounts()['reserve-many']).toBeGreaterThan(30);
  expect(redis.batchedReservationCount()).toBeGreaterThan(500);
  // The batches met grants, deadlines and full backlogs alike.
  expect([...kinds].sort()).toEqual(['backlog', 'deadline', 'granted', 'kept']);
});

test('a grid written before the anchored flag (an older script) keeps none of its free slots until a grid is set again', async () => {
  const now = 1_800_000_900_000;
  const { redis, keys } = storesOnPinnedClock('parity-legacy-grid', () => now);
  const base = {
    intervalMs: 1000 / 28.5,
    weight: 1,
    reservedShare: 0,
    maxWaitMs: 10_000,
    maxQueued: 100,
    fairness: { activeWindowMs: 1000, forgetCallerMs: 5000, lookaheadMs: 0, maxReservedShareTotal: 0.5 },
    knownEpoch: '',
    lossGuardMs: 1000,
    idleTtlMs: 60_000,
    minKeptIntervalMs: 1000 / 28.5,
  };
  // Two callers of equal weight: a's queue takes every other slot, b's are free.
  await redis.reserve(keys, { ...base, callerId: 'b' });
  for (let i = 0; i < 6; i += 1) await redis.reserve(keys, { ...base, callerId: 'a' });
  expect(await server.command('HGET', keys.state, 'anc')).toBe('0');
  await server.command('HDEL', keys.state, 'anc');
  const regrid = await redis.reserve(keys, { ...base, callerId: 'b', intervalMs: 1000 / 28.4 });
  expect(regrid).toMatchObject({ kind: 'granted' });
  expect(regrid.kind === 'granted' && regrid.keptGridIntervalMs).toBeUndefined();
  expect(regrid.kind === 'granted' && regrid.waitMs).toBeCloseTo(10 * (1000 / 28.5) + 1000 / 28.4, 3);
  // The grid it set is known unanchored: the next re-grid keeps that grid's free slots.
  expect(await server.command('HGET', keys.state, 'anc')).toBe('0');
});

// A busy caller's reservations differ in nothing, so reserve-many sends them as groups (one set of
// arguments and a count); a report rides on one reservation only, so it must start a group and be
// applied once, before that reservation and not before the others of its group.
test('grouped reservations with reports part-way through a batch answer as one by one', async () => {
  let now = 1_800_000_700_000;
  // The groups each reserve-many call sends (its ARGV[6]), to see that the batches were grouped at all.
  let groupsSent = 0;
  const counting: RedisConnection = {
    ...connection,
    runScript: (script, scriptKeys, args) => {
      if (args[0] === 'reserve-many') groupsSent += Number(args[5]);
      return connection.runScript(script, scriptKeys, args);
    },
  };
  const { redis, memory, keys } = storesOnPinnedClock('parity-groups', () => now, counting);
  const rand = seededRandom(23);
  const fairness = { activeWindowMs: 1000, forgetCallerMs: 5000, lookaheadMs: 70, maxReservedShareTotal: 0.5 };
  const busy = (maxWaitMs: number): CalendarReserveInput => ({
    intervalMs: 1000 / 28.5,
    minKeptIntervalMs: 1000 / 28.5,
    callerId: 'busy',
    weight: 2,
    reservedShare: 0,
    maxWaitMs,
    maxQueued: 12,
    fairness,
    knownEpoch: '',
    lossGuardMs: 1000,
    idleTtlMs: 60_000,
  });
  let shifted = 0;
  let reported = 0;
  const kinds = new Set<string>();
  for (let round = 0; round < 40; round += 1) {
    now += Math.floor(rand() * 600);
    // As a replica sends them: each with its lost-state hint (its latest slot, relative to when the
    // reservation was made: later ones less ahead; 5 ms apart here, so that a floor set from the
    // wrong one moves slots by whole grid points). In every fifth round the state was lost; in every
    // other such round the hints rise instead (a reply raised the replica's latest slot meanwhile).
    const knownEpoch = round % 5 === 4 ? 'gone' : '';
    const hintStepMs = round % 10 === 4 ? 5 : -5;
    const batch = Array.from({ length: 2 + Math.floor(rand() * 30) }, (_, i) => {
      // Mostly the same reservation; now and then another wait, another caller or a re-grid (the
      // learning rate, keeping the old grid's free points) breaks the group.
      const r = rand();
      const input =
        r < 0.08
          ? busy(100)
          : r < 0.16
            ? { ...busy(2000), callerId: 'other' }
            : r < 0.22
              ? { ...busy(2000), intervalMs: 1000 / 28.4 }
              : busy(2000);
      Object.assign(input, { knownEpoch, hintOffsetMs: 400 + i * hintStepMs });
      const report =
        rand() < 0.15
          ? {
              counts: { remaining: Math.floor(rand() * 8), limit: 30, resetKey: String(Math.floor(now / 1000) + 1) },
              tolerance: 2,
            }
          : undefined;
      return { input, report };
    });
    const together = await Promise.all(batch.map(({ input, report }) => redis.reserve(keys, input, report)));
    for (const [i, { input, report }] of batch.entries()) {
      if (report !== undefined) {
        reported += 1;
        if ((await memory.report(keys, report.counts, report.tolerance)).shiftedMs > 0) shifted += 1;
      }
      const one = memory.reserveNow(keys, input);
      kinds.add(one.kind === 'granted' ? 'granted' : one.reason);
      expectSame(strip(together[i]!), strip(one), `round ${round}, reservation ${i}`);
    }
  }
  expect(reported).toBeGreaterThan(50);
  expect(shifted).toBeGreaterThan(5); // reports that moved the schedule, inside batches
  expect(redis.batchedReservationCount()).toBeGreaterThan(400);
  expect(groupsSent).toBeLessThan(redis.batchedReservationCount() * 0.6); // one a reservation, ungrouped
  expect([...kinds].sort()).toEqual(['backlog', 'deadline', 'granted', 'paused']);
});
