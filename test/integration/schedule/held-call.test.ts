/**
 * A held reservation call (`reserveInOrder`'s `whileAlone`: the refill of parked slots) on a real
 * redis-server: written at the end of the turn when alone, at once with the next reservation of the
 * schedule when one arrives first, and taken in arrival order either way.
 */
import type { CalendarReply, CalendarReserveInput } from '../../../src/schedule/calendar';
import { scheduleKeys } from '../../../src/schedule/keys';
import { RedisScheduleStore } from '../../../src/schedule/redis-store';
import { redisPerSuite } from '../../helpers/redis-suite';

const redis = redisPerSuite();

const input = (callerId: string): CalendarReserveInput => ({
  intervalMs: 1,
  callerId,
  weight: 1,
  reservedShare: 0,
  maxWaitMs: 2000,
  maxQueued: 32,
  fairness: { activeWindowMs: 1000, forgetCallerMs: 60_000, lookaheadMs: 0, maxReservedShareTotal: 0.5 },
  knownEpoch: '',
  lossGuardMs: 1000,
  idleTtlMs: 60_000,
});

const store = () => new RedisScheduleStore({ connection: redis.connection, keyPrefix: 'held', idleTtlMs: 60_000 });
const calls = (s: RedisScheduleStore) => s.commandCounts().reserve + s.commandCounts()['reserve-many'];
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));
/** On Redis's clock: replies of different calls measure their wait from different instants. */
const slotOf = (reply: CalendarReply | undefined) =>
  reply?.kind === 'granted' ? reply.storeNowMs + reply.waitMs : Number.NaN;

test('alone, a held call is written once the turn is over', async () => {
  const s = store();
  const keys = scheduleKeys('held', 'alone', 'read');
  const replies = s.reserveInOrder(keys, [input('svc'), input('svc')], undefined, true);
  await Promise.resolve();
  expect(calls(s)).toBe(0);
  await nextTurn();
  expect(calls(s)).toBe(1);
  expect((await replies).map((r) => r.kind)).toEqual(['granted', 'granted']);
});

test('the next reservation of the schedule releases a held call at once and goes in it, after it', async () => {
  const s = store();
  const keys = scheduleKeys('held', 'joined', 'read');
  const held = s.reserveInOrder(keys, [input('svc')], undefined, true);
  expect(calls(s)).toBe(0);
  const next = s.reserveInOrder(keys, [input('other')]);
  expect(calls(s)).toBe(1);
  expect(s.batchedReservationCount()).toBe(2);
  const [[first], [second]] = await Promise.all([held, next]);
  expect(slotOf(first)).toBeLessThan(slotOf(second));
  // Nothing left to write when the turn ends.
  await nextTurn();
  expect(calls(s)).toBe(1);
});

test('nothing is held behind a call that is out: it goes when that one returns', async () => {
  const s = store();
  const keys = scheduleKeys('held', 'behind', 'read');
  const out = s.reserveInOrder(keys, [input('svc')]);
  const queued = s.reserveInOrder(keys, [input('svc')], undefined, true);
  expect(calls(s)).toBe(1);
  const [[a], [b]] = await Promise.all([out, queued]);
  expect(calls(s)).toBe(2);
  expect(slotOf(a)).toBeLessThan(slotOf(b));
});
