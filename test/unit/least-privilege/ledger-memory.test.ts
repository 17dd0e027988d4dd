/**
 * The memory ledger against the shared case table, plus the pure parts of the Redis ledger (keys,
 * reply parsing, errors) over a scripted fake connection: no I/O.
 */
import {
  createComputeLedger,
  ledgerKeys,
  MemoryComputeLedger,
  RedisComputeLedger,
} from '../../../src/gateway/least-privilege/ledger';
import { StoreUnavailableError, type RedisConnection } from '../../../src/redis';
import { LEDGER_CASES, T0, type LedgerHarness } from './ledger-cases';

function memoryHarness(): LedgerHarness {
  let now = T0;
  return {
    ledger: new MemoryComputeLedger({ now: () => now }),
    advance: (ms) => {
      now += ms;
    },
  };
}

describe('MemoryComputeLedger', () => {
  test.each(LEDGER_CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    await c.run(memoryHarness());
  });

  test('a shortened window and the default clock', async () => {
    const ledger = new MemoryComputeLedger({ windowMs: 50 });
    const request = { accountId: 'acct', callerId: 'alice', enforce: true, holdMs: 10, callerPerHourMax: 1 };
    expect(await ledger.reserveCreate({ ...request, reservationId: 'r1' })).toEqual({ ok: true });
    const refused = await ledger.reserveCreate({ ...request, reservationId: 'r2' });
    expect(refused).toMatchObject({ ok: false, quota: 'caller.createsPerHour' });
    expect(!refused.ok && refused.retryAfterMs).toBeGreaterThan(0);
    expect(!refused.ok && refused.retryAfterMs).toBeLessThanOrEqual(50);
    expect(() => new MemoryComputeLedger({ windowMs: 0 })).toThrow(RangeError);
  });
});

/** A connection whose script replies are scripted; records what was sent. */
function fakeConnection(
  reply: (args: readonly (string | number)[]) => unknown,
): RedisConnection & { sent: { keys: readonly string[]; args: readonly (string | number)[] }[] } {
  const sent: { keys: readonly string[]; args: readonly (string | number)[] }[] = [];
  return {
    sent,
    runScript: (_script, keys, args) => {
      sent.push({ keys, args });
      try {
        return Promise.resolve(reply(args));
      } catch (error) {
        return Promise.reject(error as Error);
      }
    },
    command: () => Promise.reject(new Error('not scripted')),
    status: () => 'ready',
    onStatusChange: () => () => undefined,
    subscribe: () => Promise.resolve(),
    counts: () => ({ total: sent.length, evalsha: 0, eval: sent.length, noscriptRetries: 0 }),
    libraryClient: () => undefined,
    close: () => Promise.resolve(),
  };
}

describe('ledgerKeys', () => {
  test.each([
    ['acct', 'sg:ledger:{acct:acct}'],
    ['a{b}c', 'sg:ledger:{acct:a%7Bb%7Dc}'],
    ['a}:{b', 'sg:ledger:{acct:a%7D%3A%7Bb}'],
    ['a b', 'sg:ledger:{acct:a%20b}'],
  ])('account %j → every key starts with %s and has one hash tag', (accountId, id) => {
    const keys = ledgerKeys('sg:ledger', accountId);
    expect(keys.id).toBe(id);
    const all = [keys.owners, keys.live, keys.liveCounts, keys.pending, keys.hourOf('x}{y'), keys.hourOf('plain')];
    for (const key of all) {
      expect(key.startsWith(`${id}:`)).toBe(true);
      // Exactly one '{' and one '}': the tag cannot be moved by an id.
      expect(key.split('{')).toHaveLength(2);
      expect(key.split('}')).toHaveLength(2);
    }
    expect(new Set(all).size).toBe(all.length);
  });
});

describe('RedisComputeLedger without a server', () => {
  const request = { accountId: 'acct', callerId: 'alice', reservationId: 'r1', enforce: true, holdMs: 1000 };

  test('the factory picks memory without a connection and Redis with one; close() leaves the connection open', async () => {
    expect(createComputeLedger({})).toBeInstanceOf(MemoryComputeLedger);
    const connection = fakeConnection(() => ['ok']);
    const close = jest.spyOn(connection, 'close');
    const ledger = createComputeLedger({ redis: connection, keyPrefix: 'p' });
    expect(ledger).toBeInstanceOf(RedisComputeLedger);
    await ledger.recordDeleted('acct', '1');
    expect(connection.sent[0]?.keys[0]).toBe('p:{acct:acct}:owners');
    await ledger.close();
    expect(close).not.toHaveBeenCalled();
  });

  test('one script call per operation, with the documented arguments', async () => {
    const connection = fakeConnection((args) =>
      args[0] === 'owners' ? ['=alice', ''] : args[0] === 'counts' ? ['1', '2', '3'] : ['ok'],
    );
    const ledger = new RedisComputeLedger({ connection });
    expect(await ledger.reserveCreate({ ...request, callerLiveMax: 2 })).toEqual({ ok: true });
    expect(connection.sent[0]).toEqual({
      keys: [
        'sg:ledger:{acct:acct}:owners',
        'sg:ledger:{acct:acct}:live',
        'sg:ledger:{acct:acct}:live-counts',
        'sg:ledger:{acct:acct}:pending',
        'sg:ledger:{acct:acct}:creates:alice',
      ],
      args: ['reserve', '', 3_600_000, 'alice', 'r1', 2, '', '', '1', 1000],
    });
    expect(await ledger.ownersOf('acct', ['1', '2'])).toEqual(['alice', undefined]);
    expect(await ledger.ownersOf('acct', [])).toEqual([]);
    expect(await ledger.counts('acct', 'alice')).toEqual({ callerLive: 1, accountLive: 2, callerCreatesLastHour: 3 });
    expect(connection.sent).toHaveLength(3);
    expect(ledger.commandCounts()).toMatchObject({ reserve: 1, owners: 1, counts: 1 });
  });

  test('quota replies are parsed; an unexpected reply is a script error, not a denial', async () => {
    let reply: unknown = ['quota', 'caller.createsPerHour', '3', '1', '1500'];
    const ledger = new RedisComputeLedger({ connection: fakeConnection(() => reply) });
    expect(await ledger.reserveCreate(request)).toEqual({
      ok: false,
      quota: 'caller.createsPerHour',
      limit: 3,
      recorded: true,
      retryAfterMs: 1500,
    });
    reply = ['quota', 'account.liveComputes', '0', '0', ''];
    expect(await ledger.reserveCreate(request)).toEqual({
      ok: false,
      quota: 'account.liveComputes',
      limit: 0,
      recorded: false,
    });
    for (const bad of [
      ['quota', 'nope', '1', '0', ''],
      ['quota', 'caller.liveComputes', 'x', '0', ''],
      ['maybe'],
      'ok',
      null,
      [1],
    ]) {
      reply = bad;
      await expect(ledger.reserveCreate(request)).rejects.toMatchObject({
        name: 'StoreUnavailableError',
        kind: 'script',
      });
    }
    reply = ['?'];
    await expect(ledger.ownersOf('acct', ['1'])).rejects.toMatchObject({ kind: 'script' });
    await expect(ledger.commitCreate('acct', 'alice', 'r1', '1')).rejects.toMatchObject({ kind: 'script' });
  });

  test('a connection failure rejects as it came (fail closed)', async () => {
    const ledger = new RedisComputeLedger({
      connection: fakeConnection(() => {
        throw new StoreUnavailableError('timeout', 'Command timed out');
      }),
    });
    await expect(ledger.reserveCreate(request)).rejects.toMatchObject({ kind: 'timeout' });
    await expect(ledger.ownerOf('acct', '1')).rejects.toBeInstanceOf(StoreUnavailableError);
  });

  test('the key prefix must not move the hash tag; the window must be positive', () => {
    const connection = fakeConnection(() => ['ok']);
    for (const keyPrefix of ['', 'a{b', 'a}b'])
      expect(() => new RedisComputeLedger({ connection, keyPrefix })).toThrow(RangeError);
    expect(() => new RedisComputeLedger({ connection, windowMs: -1 })).toThrow(RangeError);
  });
});
