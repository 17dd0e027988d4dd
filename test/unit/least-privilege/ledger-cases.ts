/**
 * The behaviour of a compute ledger, as one case table run against every implementation: the memory
 * ledger (unit tier) and the Redis ledger on a real redis-server (integration tier). Each case gets a
 * fresh, empty ledger whose clock starts at T0 and moves only by `advance`; the per-hour window is
 * the real hour.
 */
import { StoreUnavailableError } from '../../../src/redis';
import type {
  ComputeLedger,
  CreateReservation,
  CreateReservationRequest,
} from '../../../src/gateway/least-privilege/types';

export const T0 = 1_800_000_000_000;
export const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;
const HOLD_MS = 60_000;

export interface LedgerHarness {
  ledger: ComputeLedger;
  /** Moves the ledger's clock forward. */
  advance(ms: number): void;
}

export interface LedgerCase {
  name: string;
  run(h: LedgerHarness): Promise<void>;
}

type Overrides = Partial<CreateReservationRequest>;

const reserve = (h: LedgerHarness, reservationId: string, overrides: Overrides = {}): Promise<CreateReservation> =>
  h.ledger.reserveCreate({
    accountId: 'acct',
    callerId: 'alice',
    reservationId,
    enforce: true,
    holdMs: HOLD_MS,
    ...overrides,
  });

/** Reserves (expecting a grant) and commits. */
async function create(
  h: LedgerHarness,
  reservationId: string,
  computeId: string,
  overrides: Overrides = {},
): Promise<void> {
  expect(await reserve(h, reservationId, overrides)).toEqual({ ok: true });
  await h.ledger.commitCreate(overrides.accountId ?? 'acct', overrides.callerId ?? 'alice', reservationId, computeId);
}

const counts = (h: LedgerHarness, callerId = 'alice', accountId = 'acct') => h.ledger.counts(accountId, callerId);

const tally = (callerLive: number, accountLive: number, callerCreatesLastHour: number) => ({
  callerLive,
  accountLive,
  callerCreatesLastHour,
});

export const LEDGER_CASES: readonly LedgerCase[] = [
  {
    name: 'a reservation within every quota is pending: it counts as live and in the hour',
    async run(h) {
      expect(await reserve(h, 'r1', { callerLiveMax: 5, accountLiveMax: 5, callerPerHourMax: 5 })).toEqual({
        ok: true,
      });
      expect(await counts(h)).toEqual(tally(1, 1, 1));
      expect(await counts(h, 'bob')).toEqual(tally(0, 1, 0));
      expect(await counts(h, 'alice', 'other')).toEqual(tally(0, 0, 0));
    },
  },
  {
    name: 'commit makes the compute live and owned; ownerOf and ownersOf answer in order',
    async run(h) {
      await create(h, 'r1', '101');
      await create(h, 'r2', '102', { callerId: 'bob' });
      expect(await counts(h)).toEqual(tally(1, 2, 1));
      expect(await h.ledger.ownerOf('acct', '101')).toBe('alice');
      expect(await h.ledger.ownerOf('acct', '999')).toBeUndefined();
      expect(await h.ledger.ownerOf('other', '101')).toBeUndefined();
      expect(await h.ledger.ownersOf('acct', ['999', '102', '101', '999', '101'])).toEqual([
        undefined,
        'bob',
        'alice',
        undefined,
        'alice',
      ]);
      expect(await h.ledger.ownersOf('acct', [])).toEqual([]);
    },
  },
  {
    name: 'caller.liveComputes: live and pending count, a refusal records nothing, other callers are not affected',
    async run(h) {
      const limits = { callerLiveMax: 2 };
      await create(h, 'r1', '1', limits);
      expect(await reserve(h, 'r2', limits)).toEqual({ ok: true });
      expect(await reserve(h, 'r3', limits)).toEqual({
        ok: false,
        quota: 'caller.liveComputes',
        limit: 2,
        recorded: false,
      });
      expect(await counts(h)).toEqual(tally(2, 2, 2));
      expect(await reserve(h, 'r4', { ...limits, callerId: 'bob' })).toEqual({ ok: true });
    },
  },
  {
    name: 'account.liveComputes counts every caller of the account, live and pending',
    async run(h) {
      await create(h, 'r1', '1');
      expect(await reserve(h, 'r2', { callerId: 'bob' })).toEqual({ ok: true });
      expect(await reserve(h, 'r3', { callerId: 'carol', accountLiveMax: 2 })).toEqual({
        ok: false,
        quota: 'account.liveComputes',
        limit: 2,
        recorded: false,
      });
      expect(await counts(h, 'carol')).toEqual(tally(0, 2, 0));
      expect(await reserve(h, 'r4', { accountId: 'other', callerId: 'carol', accountLiveMax: 2 })).toEqual({
        ok: true,
      });
    },
  },
  {
    name: 'several quotas full: the first in order is reported (caller live, account live, creates per hour)',
    async run(h) {
      await create(h, 'r1', '1');
      const refused = (quota: string) => ({ ok: false, quota, limit: 1, recorded: false });
      expect(await reserve(h, 'r2', { callerLiveMax: 1, accountLiveMax: 1, callerPerHourMax: 1 })).toEqual(
        refused('caller.liveComputes'),
      );
      expect(await reserve(h, 'r2', { accountLiveMax: 1, callerPerHourMax: 1 })).toEqual(
        refused('account.liveComputes'),
      );
      expect(await reserve(h, 'r2', { callerPerHourMax: 1 })).toEqual({
        ...refused('caller.createsPerHour'),
        retryAfterMs: HOUR_MS,
      });
      expect(await counts(h)).toEqual(tally(1, 1, 1));
    },
  },
  {
    name: 'createsPerHour is a rolling hour; retryAfterMs is when the oldest counted create leaves it',
    async run(h) {
      const limits = { callerPerHourMax: 2 };
      await create(h, 'r1', '1', limits);
      h.advance(10 * MINUTE_MS);
      await create(h, 'r2', '2', limits);
      h.advance(5 * MINUTE_MS);
      expect(await reserve(h, 'r3', limits)).toEqual({
        ok: false,
        quota: 'caller.createsPerHour',
        limit: 2,
        recorded: false,
        retryAfterMs: 45 * MINUTE_MS,
      });
      h.advance(45 * MINUTE_MS - 1);
      expect(await reserve(h, 'r3', limits)).toMatchObject({ ok: false, retryAfterMs: 1 });
      h.advance(1);
      expect(await reserve(h, 'r3', limits)).toEqual({ ok: true });
      expect(await counts(h)).toEqual(tally(3, 3, 2));
      // Deleting computes does not give creates back.
      await h.ledger.recordDeleted('acct', '2');
      expect(await reserve(h, 'r4', limits)).toEqual({
        ok: false,
        quota: 'caller.createsPerHour',
        limit: 2,
        recorded: false,
        retryAfterMs: 10 * MINUTE_MS,
      });
    },
  },
  {
    name: 'retryAfterMs when a lowered limit is passed by several: the entry that makes room; none for a limit of 0',
    async run(h) {
      await create(h, 'r1', '1');
      h.advance(MINUTE_MS);
      await create(h, 'r2', '2');
      h.advance(MINUTE_MS);
      await create(h, 'r3', '3');
      h.advance(MINUTE_MS);
      // 3 counted, limit 2: two must leave, so the second oldest (r2, at +1 min) decides.
      expect(await reserve(h, 'r4', { callerPerHourMax: 2 })).toMatchObject({
        ok: false,
        quota: 'caller.createsPerHour',
        retryAfterMs: HOUR_MS - 2 * MINUTE_MS,
      });
      // Limit 1: all three must leave, so the newest (r3, at +2 min) decides.
      expect(await reserve(h, 'r4', { callerPerHourMax: 1 })).toMatchObject({
        ok: false,
        quota: 'caller.createsPerHour',
        retryAfterMs: HOUR_MS - MINUTE_MS,
      });
      expect(await reserve(h, 'r4', { callerPerHourMax: 0 })).toEqual({
        ok: false,
        quota: 'caller.createsPerHour',
        limit: 0,
        recorded: false,
      });
      expect(await reserve(h, 'r4', { callerId: 'bob', callerLiveMax: 0 })).toEqual({
        ok: false,
        quota: 'caller.liveComputes',
        limit: 0,
        recorded: false,
      });
      expect(await counts(h)).toEqual(tally(3, 3, 3));
    },
  },
  {
    name: 'release frees the place and takes the create out of the hour',
    async run(h) {
      const limits = { callerLiveMax: 1, callerPerHourMax: 1 };
      expect(await reserve(h, 'r1', limits)).toEqual({ ok: true });
      await h.ledger.releaseCreate('acct', 'alice', 'r1');
      expect(await counts(h)).toEqual(tally(0, 0, 0));
      expect(await reserve(h, 'r2', limits)).toEqual({ ok: true });
      await h.ledger.releaseCreate('acct', 'alice', 'unknown');
      await h.ledger.releaseCreate('acct', 'bob', 'r2');
      expect(await counts(h)).toEqual(tally(1, 1, 1));
    },
  },
  {
    name: 'an uncommitted reservation holds its place for holdMs; then only the hour remembers it',
    async run(h) {
      const limits = { callerLiveMax: 1, holdMs: 30_000 };
      expect(await reserve(h, 'r1', limits)).toEqual({ ok: true });
      h.advance(29_999);
      expect(await reserve(h, 'r2', limits)).toMatchObject({ ok: false, quota: 'caller.liveComputes' });
      h.advance(1);
      expect(await counts(h)).toEqual(tally(0, 0, 1));
      expect(await reserve(h, 'r2', limits)).toEqual({ ok: true });
      expect(await counts(h)).toEqual(tally(1, 1, 2));
      // A commit after the hold passed (a slow upstream) still records the compute.
      h.advance(40_000);
      await h.ledger.commitCreate('acct', 'alice', 'r2', '7');
      expect(await counts(h)).toEqual(tally(1, 1, 2));
      expect(await h.ledger.ownerOf('acct', '7')).toBe('alice');
    },
  },
  {
    name: 'commit is idempotent per compute id',
    async run(h) {
      await create(h, 'r1', '1');
      await h.ledger.commitCreate('acct', 'alice', 'r1', '1');
      await h.ledger.commitCreate('acct', 'alice', 'r1', '1');
      expect(await counts(h)).toEqual(tally(1, 1, 1));
      expect(await h.ledger.ownerOf('acct', '1')).toBe('alice');
    },
  },
  {
    name: 'an Idempotency-Key replay returning a live compute counts it once and takes its own create out of the hour',
    async run(h) {
      await create(h, 'r1', '1');
      expect(await reserve(h, 'r2')).toEqual({ ok: true });
      expect(await counts(h)).toEqual(tally(2, 2, 2));
      await h.ledger.commitCreate('acct', 'alice', 'r2', '1');
      expect(await counts(h)).toEqual(tally(1, 1, 1));
      // And repeating that replay's commit changes nothing either.
      await h.ledger.commitCreate('acct', 'alice', 'r2', '1');
      expect(await counts(h)).toEqual(tally(1, 1, 1));
    },
  },
  {
    name: 'a replay of a create whose compute was deleted does not bring it back',
    async run(h) {
      await create(h, 'r1', '1');
      await h.ledger.recordDeleted('acct', '1');
      expect(await reserve(h, 'r2')).toEqual({ ok: true });
      await h.ledger.commitCreate('acct', 'alice', 'r2', '1');
      expect(await counts(h)).toEqual(tally(0, 0, 1));
      expect(await h.ledger.ownerOf('acct', '1')).toBe('alice');
    },
  },
  {
    name: 'recordDeleted: live counts drop, the owner stays; unknown and repeated deletes change nothing',
    async run(h) {
      await create(h, 'r1', '1');
      await create(h, 'r2', '2');
      await create(h, 'r3', '3', { callerId: 'bob' });
      await h.ledger.recordDeleted('acct', '1');
      expect(await counts(h)).toEqual(tally(1, 2, 2));
      expect(await h.ledger.ownerOf('acct', '1')).toBe('alice');
      await h.ledger.recordDeleted('acct', '1');
      await h.ledger.recordDeleted('acct', '404');
      await h.ledger.recordDeleted('other', '2');
      expect(await counts(h)).toEqual(tally(1, 2, 2));
      await h.ledger.recordDeleted('acct', '3');
      expect(await counts(h, 'bob')).toEqual(tally(0, 1, 1));
      expect(await reserve(h, 'r4', { callerLiveMax: 2 })).toEqual({ ok: true });
    },
  },
  {
    name: 'shadow mode records the reservation although a quota is full, and reports the first that fails',
    async run(h) {
      const shadow = { enforce: false, callerLiveMax: 1, callerPerHourMax: 1 };
      expect(await reserve(h, 'r1', shadow)).toEqual({ ok: true });
      expect(await reserve(h, 'r2', shadow)).toEqual({
        ok: false,
        quota: 'caller.liveComputes',
        limit: 1,
        recorded: true,
      });
      expect(await reserve(h, 'r3', { enforce: false, callerPerHourMax: 1 })).toEqual({
        ok: false,
        quota: 'caller.createsPerHour',
        limit: 1,
        recorded: true,
        retryAfterMs: HOUR_MS,
      });
      expect(await counts(h)).toEqual(tally(3, 3, 3));
      await h.ledger.commitCreate('acct', 'alice', 'r2', '2');
      expect(await counts(h)).toEqual(tally(3, 3, 3));
      expect(await h.ledger.ownerOf('acct', '2')).toBe('alice');
    },
  },
  {
    name: 'the same reservation id reserved again holds one place, not two, and its hold is renewed',
    async run(h) {
      const limits = { callerLiveMax: 1, callerPerHourMax: 1 };
      expect(await reserve(h, 'r1', limits)).toEqual({ ok: true });
      h.advance(HOLD_MS - 1);
      expect(await reserve(h, 'r1', limits)).toEqual({ ok: true });
      expect(await counts(h)).toEqual(tally(1, 1, 1));
      h.advance(2);
      expect(await counts(h)).toEqual(tally(1, 1, 1));
      expect(await reserve(h, 'r2', limits)).toMatchObject({ ok: false, quota: 'caller.liveComputes' });
    },
  },
  {
    name: 'a compute id live under another caller (reused upstream) moves to the caller whose create returned it',
    async run(h) {
      await create(h, 'r1', '5', { callerId: 'bob' });
      await create(h, 'r2', '5');
      expect(await h.ledger.ownerOf('acct', '5')).toBe('alice');
      expect(await counts(h)).toEqual(tally(1, 1, 1));
      expect(await counts(h, 'bob')).toEqual(tally(0, 1, 1));
      // Deleted, then reused for bob again.
      await h.ledger.recordDeleted('acct', '5');
      await create(h, 'r3', '5', { callerId: 'bob' });
      expect(await h.ledger.ownerOf('acct', '5')).toBe('bob');
      expect(await counts(h, 'bob')).toEqual(tally(1, 1, 2));
    },
  },
  {
    name: 'accounts and callers with look-alike or odd ids are kept apart',
    async run(h) {
      const accounts = ['a{1}', 'a%7B1%7D', 'a:b', 'a', 'ä'];
      const callers = ['x y', 'x%20y', 'x', 'x}', '{x'];
      for (const [i, accountId] of accounts.entries()) {
        for (const [j, callerId] of callers.entries())
          await create(h, `r-${i}-${j}`, `${j}`, {
            accountId,
            callerId,
            callerLiveMax: 1,
            accountLiveMax: callers.length,
          });
      }
      for (const accountId of accounts) {
        expect(
          await h.ledger.ownersOf(
            accountId,
            callers.map((_, j) => `${j}`),
          ),
        ).toEqual(callers);
        for (const callerId of callers)
          expect(await h.ledger.counts(accountId, callerId)).toEqual(tally(1, callers.length, 1));
      }
    },
  },
  {
    name: 'invalid arguments are refused before anything is recorded',
    async run(h) {
      await expect(reserve(h, 'r1', { holdMs: 0 })).rejects.toThrow(RangeError);
      await expect(reserve(h, 'r1', { holdMs: Number.NaN })).rejects.toThrow(RangeError);
      await expect(reserve(h, 'r1', { callerLiveMax: -1 })).rejects.toThrow(RangeError);
      await expect(reserve(h, 'r1', { callerPerHourMax: 1.5 })).rejects.toThrow(RangeError);
      await expect(reserve(h, '')).rejects.toThrow(TypeError);
      await expect(reserve(h, 'r1', { callerId: '' })).rejects.toThrow(TypeError);
      await expect(h.ledger.commitCreate('acct', 'alice', 'r1', '')).rejects.toThrow(TypeError);
      await expect(h.ledger.ownersOf('acct', ['1', ''])).rejects.toThrow(TypeError);
      expect(await counts(h)).toEqual(tally(0, 0, 0));
    },
  },
  {
    name: 'liveComputes lists each live compute with its creator (odd caller ids round-trip); deleted ones leave',
    async run(h) {
      await create(h, 'r1', '1');
      await create(h, 'r2', '2', { callerId: 'b{o}b %41 :x' });
      await create(h, 'r3', '3');
      await h.ledger.recordDeleted('acct', '3');
      expect(await h.ledger.liveComputes('acct')).toEqual(
        new Map([
          ['1', 'alice'],
          ['2', 'b{o}b %41 :x'],
        ]),
      );
      expect(await h.ledger.liveComputes('other')).toEqual(new Map());
    },
  },
  {
    name: 'applyRepairs sets owners and live computes where the ledger holds what was expected, then recounts',
    async run(h) {
      await create(h, 'r1', '1');
      await create(h, 'r2', '2');
      const result = await h.ledger.applyRepairs('acct', [
        { kind: 'owner', computeId: '7', expected: undefined, owner: 'bob' },
        { kind: 'live', computeId: '7', expected: undefined, caller: 'bob' },
        { kind: 'live', computeId: '2', expected: 'alice', caller: undefined },
        { kind: 'live', computeId: '1', expected: 'alice', caller: 'bob' },
        { kind: 'owner', computeId: '1', expected: 'alice', owner: 'bob' },
      ]);
      expect(result).toEqual({ applied: 5, stale: 0 });
      expect(await h.ledger.ownersOf('acct', ['1', '2', '7'])).toEqual(['bob', 'alice', 'bob']);
      expect(await h.ledger.liveComputes('acct')).toEqual(
        new Map([
          ['1', 'bob'],
          ['7', 'bob'],
        ]),
      );
      expect(await counts(h)).toEqual(tally(0, 2, 2));
      expect(await counts(h, 'bob')).toEqual(tally(2, 2, 0));
      // The restored computes count against the quotas like any other.
      expect(await reserve(h, 'r3', { callerId: 'bob', callerLiveMax: 2 })).toMatchObject({
        ok: false,
        quota: 'caller.liveComputes',
      });
      // A restored compute deleted through the gateway frees its place.
      await h.ledger.recordDeleted('acct', '7');
      expect(await counts(h, 'bob')).toEqual(tally(1, 1, 0));
    },
  },
  {
    name: 'applyRepairs skips a change whose expected value is no longer there (a create or delete ran since)',
    async run(h) {
      await create(h, 'r1', '1');
      const plannedWhileEmpty = [
        { kind: 'live', computeId: '1', expected: undefined, caller: 'bob' },
        { kind: 'owner', computeId: '1', expected: undefined, owner: 'bob' },
        { kind: 'live', computeId: '9', expected: 'alice', caller: undefined },
      ] as const;
      expect(await h.ledger.applyRepairs('acct', plannedWhileEmpty)).toEqual({ applied: 0, stale: 3 });
      expect(await h.ledger.ownerOf('acct', '1')).toBe('alice');
      expect(await h.ledger.liveComputes('acct')).toEqual(new Map([['1', 'alice']]));
      // No changes at all still recounts (and changes nothing that is right).
      expect(await h.ledger.applyRepairs('acct', [])).toEqual({ applied: 0, stale: 0 });
      expect(await counts(h)).toEqual(tally(1, 1, 1));
    },
  },
  {
    name: 'applyRepairs refuses empty ids before writing anything',
    async run(h) {
      await expect(
        h.ledger.applyRepairs('acct', [
          { kind: 'owner', computeId: '1', expected: undefined, owner: 'bob' },
          { kind: 'owner', computeId: '', expected: undefined, owner: 'bob' },
        ]),
      ).rejects.toThrow(TypeError);
      await expect(
        h.ledger.applyRepairs('acct', [{ kind: 'live', computeId: '1', expected: '', caller: 'bob' }]),
      ).rejects.toThrow(TypeError);
      expect(await h.ledger.ownerOf('acct', '1')).toBeUndefined();
    },
  },
  {
    name: 'a closed ledger rejects every method with StoreUnavailableError',
    async run(h) {
      await create(h, 'r1', '1');
      await h.ledger.close();
      const calls: (() => Promise<unknown>)[] = [
        () => reserve(h, 'r2'),
        () => h.ledger.commitCreate('acct', 'alice', 'r1', '1'),
        () => h.ledger.releaseCreate('acct', 'alice', 'r1'),
        () => h.ledger.ownerOf('acct', '1'),
        () => h.ledger.ownersOf('acct', ['1']),
        () => h.ledger.recordDeleted('acct', '1'),
        () => counts(h),
        () => h.ledger.liveComputes('acct'),
        () => h.ledger.applyRepairs('acct', []),
      ];
      for (const call of calls) await expect(call()).rejects.toBeInstanceOf(StoreUnavailableError);
      await h.ledger.close();
    },
  },
];
