/**
 * The Redis ledger on a real redis-server: the shared case table (pinned clock), then what only a
 * shared store shows: races between replicas, Redis `TIME` holds and windows, key expiry and hash
 * tags, one round trip per operation, and an outage.
 */
import {
  createComputeLedger,
  ledgerKeys,
  RedisComputeLedger,
  type RedisComputeLedgerOptions,
} from '../../../src/gateway/least-privilege/ledger';
import type { CreateReservation, CreateReservationRequest } from '../../../src/gateway/least-privilege/types';
import {
  createRedisConnection,
  StoreUnavailableError,
  type RedisConnection,
  type RedisConnectionOptions,
} from '../../../src/redis';
import { startRedisServer, type RedisServer } from '../../helpers/redis-server';
import { LEDGER_CASES, T0 } from '../../unit/least-privilege/ledger-cases';

let server: RedisServer;
let main: RedisConnection;
const opened: RedisConnection[] = [];
let prefixes = 0;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(10);
  }
}

/** A replica's connection, ready (the connection has no offline queue: commands before ready fail). */
async function connect(overrides: Partial<RedisConnectionOptions> = {}): Promise<RedisConnection> {
  const connection = createRedisConnection({ url: server.url, commandTimeoutMs: 1000, ...overrides });
  opened.push(connection);
  await waitFor(() => connection.status() === 'ready', 3000);
  return connection;
}

function ledgerOn(connection: RedisConnection, overrides: Partial<RedisComputeLedgerOptions> = {}): RedisComputeLedger {
  return new RedisComputeLedger({ connection, keyPrefix: `t${++prefixes}`, ...overrides });
}

beforeAll(async () => {
  server = await startRedisServer();
  main = await connect();
});

afterAll(async () => {
  await Promise.all(opened.map((c) => c.close()));
  await server.stop();
});

describe('RedisComputeLedger: the shared cases, clock pinned', () => {
  test.each(LEDGER_CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    let now = T0;
    await c.run({
      ledger: ledgerOn(main, { pinnedNow: () => now }),
      advance: (ms) => {
        now += ms;
      },
    });
  });
});

describe('RedisComputeLedger on one Redis shared by replicas', () => {
  const base = { accountId: 'acct', callerId: 'alice', enforce: true, holdMs: 60_000 };

  /** `count` reserves in parallel, spread round-robin over the replicas' ledgers. */
  async function race(
    replicas: RedisComputeLedger[],
    count: number,
    request: Partial<CreateReservationRequest>,
  ): Promise<CreateReservation[]> {
    return Promise.all(
      Array.from({ length: count }, (_, i) =>
        replicas[i % replicas.length]!.reserveCreate({
          ...base,
          reservationId: `race-${i}`,
          callerId: `c${i % 4}`,
          ...request,
        }),
      ),
    );
  }

  test.each([
    ['account.liveComputes', { accountLiveMax: 3 }],
    ['caller.liveComputes', { callerId: 'alice', callerLiveMax: 3 }],
    ['caller.createsPerHour', { callerId: 'alice', callerPerHourMax: 3 }],
  ] as const)(
    '40 parallel creates over 3 replicas, 3 free places (%s): exactly 3 pass, counts exact',
    async (quota, limits) => {
      const connections = await Promise.all([connect(), connect(), connect()]);
      const keyPrefix = `race${++prefixes}`;
      const replicas = connections.map((connection) => new RedisComputeLedger({ connection, keyPrefix }));
      // A compute already there leaves 3 of 4 places, so live and pending are both in the count.
      await replicas[0]!.reserveCreate({ ...base, reservationId: 'seed' });
      await replicas[0]!.commitCreate('acct', 'alice', 'seed', '1');
      const four = { ...limits } as Record<string, number | string>;
      for (const name of ['accountLiveMax', 'callerLiveMax', 'callerPerHourMax']) if (name in four) four[name] = 4;

      const results = await race(replicas, 40, four);
      const granted = results.filter((r) => r.ok).length;
      expect(granted).toBe(3);
      expect(results.filter((r) => !r.ok)).toEqual(
        Array.from({ length: 37 }, () => expect.objectContaining({ ok: false, quota, limit: 4, recorded: false })),
      );
      const counts = await replicas[1]!.counts('acct', 'alice');
      if (quota === 'account.liveComputes') expect(counts.accountLive).toBe(4);
      else expect(counts).toEqual({ callerLive: 4, accountLive: 4, callerCreatesLastHour: 4 });
    },
  );

  test('shadow mode under a race: every reservation is recorded, the would-be refusals are reported', async () => {
    const connections = await Promise.all([connect(), connect()]);
    const keyPrefix = `race${++prefixes}`;
    const replicas = connections.map((connection) => new RedisComputeLedger({ connection, keyPrefix }));
    const results = await race(replicas, 40, { callerId: 'alice', callerLiveMax: 3, enforce: false });
    expect(results.filter((r) => r.ok)).toHaveLength(3);
    expect(results.filter((r) => !r.ok && r.recorded && r.quota === 'caller.liveComputes')).toHaveLength(37);
    expect(await replicas[0]!.counts('acct', 'alice')).toEqual({
      callerLive: 40,
      accountLive: 40,
      callerCreatesLastHour: 40,
    });
  });

  test('commits of one compute racing from several replicas (a retry and a replay) count it once', async () => {
    const connections = await Promise.all([connect(), connect(), connect()]);
    const keyPrefix = `race${++prefixes}`;
    const replicas = connections.map((connection) => new RedisComputeLedger({ connection, keyPrefix }));
    for (const id of ['r1', 'r2', 'r3'])
      expect(await replicas[0]!.reserveCreate({ ...base, reservationId: id })).toEqual({ ok: true });
    await Promise.all([
      replicas[0]!.commitCreate('acct', 'alice', 'r1', '9'),
      replicas[1]!.commitCreate('acct', 'alice', 'r1', '9'),
      replicas[2]!.commitCreate('acct', 'alice', 'r2', '9'),
      replicas[1]!.commitCreate('acct', 'alice', 'r3', '9'),
    ]);
    // One compute live; of the three creates, exactly the one that made it stays in the hour.
    expect(await replicas[2]!.counts('acct', 'alice')).toEqual({
      callerLive: 1,
      accountLive: 1,
      callerCreatesLastHour: 1,
    });
    expect(await replicas[1]!.ownersOf('acct', ['9'])).toEqual(['alice']);
  });

  test('Redis TIME: a hold and a (shortened) window pass in real time, and their keys go with them', async () => {
    const ledger = ledgerOn(main, { windowMs: 400 });
    const keys = ledgerKeys(`t${prefixes}`, 'acct');
    const request = { ...base, holdMs: 150, callerLiveMax: 1, callerPerHourMax: 2 };
    const beforeR1 = Date.now();
    expect(await ledger.reserveCreate({ ...request, reservationId: 'r1' })).toEqual({ ok: true });
    const afterR1 = Date.now();
    expect(await ledger.reserveCreate({ ...request, reservationId: 'r2' })).toMatchObject({
      ok: false,
      quota: 'caller.liveComputes',
    });
    await sleep(200);
    expect(await ledger.reserveCreate({ ...request, reservationId: 'r2' })).toEqual({ ok: true });
    const beforeR3 = Date.now();
    const third = await ledger.reserveCreate({ ...request, callerLiveMax: 5, reservationId: 'r3' });
    const afterR3 = Date.now();
    expect(third).toMatchObject({ ok: false, quota: 'caller.createsPerHour', limit: 2 });
    const retryAfterMs = third.ok ? 0 : (third.retryAfterMs ?? 0);
    // When r1 (reserved between beforeR1 and afterR1) leaves the 400 ms window, seen from r3's call
    // (±2 ms: Redis TIME is truncated to whole ms).
    expect(retryAfterMs).toBeGreaterThanOrEqual(beforeR1 + 400 - afterR3 - 2);
    expect(retryAfterMs).toBeLessThanOrEqual(afterR1 + 400 - beforeR3 + 2);
    await sleep(retryAfterMs + 10);
    expect(await ledger.reserveCreate({ ...request, callerLiveMax: 5, reservationId: 'r3' })).toEqual({ ok: true });
    expect(Number(await main.command('pttl', keys.pending))).toBeGreaterThan(0);
    expect(Number(await main.command('pttl', keys.pending))).toBeLessThanOrEqual(150);
    expect(Number(await main.command('pttl', keys.hourOf('alice')))).toBeLessThanOrEqual(400);
    // Nothing else touches the account: the holds and the window run out, and their keys expire.
    await sleep(450);
    expect(await ledger.counts('acct', 'alice')).toEqual({ callerLive: 0, accountLive: 0, callerCreatesLastHour: 0 });
    expect(await main.command('exists', keys.pending, keys.hourOf('alice'))).toBe(0);
  });

  test('owners, live computes and counts never expire; holds and the hour do', async () => {
    const ledger = ledgerOn(main);
    const keys = ledgerKeys(`t${prefixes}`, 'acct');
    await ledger.reserveCreate({ ...base, reservationId: 'r1' });
    await ledger.commitCreate('acct', 'alice', 'r1', '1');
    await ledger.reserveCreate({ ...base, reservationId: 'r2' });
    for (const key of [keys.owners, keys.live, keys.liveCounts]) expect(await main.command('pttl', key)).toBe(-1);
    const pendingTtl = Number(await main.command('pttl', keys.pending));
    expect(pendingTtl).toBeGreaterThan(59_000);
    expect(pendingTtl).toBeLessThanOrEqual(60_000);
    const hourTtl = Number(await main.command('pttl', keys.hourOf('alice')));
    expect(hourTtl).toBeGreaterThan(3_599_000);
    expect(hourTtl).toBeLessThanOrEqual(3_600_000);
    // The owner outlives the compute.
    await ledger.recordDeleted('acct', '1');
    expect(await main.command('hget', keys.owners, '1')).toBe('alice');
    expect(await main.command('exists', keys.live, keys.liveCounts)).toBe(0);
  });

  test('every key of one account carries the same hash tag, distinct per account', async () => {
    const ledger = ledgerOn(main);
    const prefix = `t${prefixes}`;
    const accounts = ['acct', 'we{ird}:x', '}{'];
    for (const accountId of accounts) {
      for (const callerId of ['alice', 'b{o}b']) {
        await ledger.reserveCreate({ ...base, accountId, callerId, reservationId: `${callerId}-1` });
        await ledger.commitCreate(accountId, callerId, `${callerId}-1`, `${callerId}-c`);
        await ledger.reserveCreate({ ...base, accountId, callerId, reservationId: `${callerId}-2` });
      }
    }
    const keys = (await main.command('keys', `${prefix}:*`)) as string[];
    // owners, live, live-counts, pending and two callers' creates, per account.
    expect(keys).toHaveLength(accounts.length * 6);
    const tagOf = (key: string): string => /\{([^}]*)\}/.exec(key)?.[1] ?? '';
    const tags = new Map<string, string[]>();
    for (const key of keys) tags.set(tagOf(key), [...(tags.get(tagOf(key)) ?? []), key]);
    expect(tags.size).toBe(accounts.length);
    for (const accountId of accounts) {
      const { id } = ledgerKeys(prefix, accountId);
      expect(tags.get(tagOf(id))).toHaveLength(6);
      for (const key of tags.get(tagOf(id)) ?? []) expect(key.startsWith(`${id}:`)).toBe(true);
    }
  });

  test('one round trip per operation (EVALSHA once the script is loaded)', async () => {
    const connection = await connect();
    const ledger = ledgerOn(connection);
    await ledger.counts('acct', 'alice'); // loads the script on this connection (EVAL)
    const before = connection.counts();
    await ledger.reserveCreate({
      ...base,
      reservationId: 'r1',
      callerLiveMax: 5,
      accountLiveMax: 5,
      callerPerHourMax: 5,
    });
    await ledger.commitCreate('acct', 'alice', 'r1', '1');
    await ledger.releaseCreate('acct', 'alice', 'r0');
    await ledger.ownerOf('acct', '1');
    await ledger.ownersOf(
      'acct',
      Array.from({ length: 2500 }, (_, i) => String(i + 1)),
    );
    await ledger.recordDeleted('acct', '1');
    await ledger.counts('acct', 'alice');
    const after = connection.counts();
    expect(after.total - before.total).toBe(7);
    expect(after.evalsha - before.evalsha).toBe(7);
  });

  test('the factory builds a working Redis ledger that leaves the shared connection open', async () => {
    const connection = await connect();
    const ledger = createComputeLedger({ redis: connection, keyPrefix: `t${++prefixes}` });
    expect(await ledger.reserveCreate({ ...base, reservationId: 'r1' })).toEqual({ ok: true });
    await ledger.close();
    expect(connection.status()).toBe('ready');
  });
});

describe('RedisComputeLedger when Redis fails', () => {
  const request = { accountId: 'acct', callerId: 'alice', reservationId: 'r1', enforce: true, holdMs: 60_000 };
  const calls = (ledger: RedisComputeLedger): (() => Promise<unknown>)[] => [
    () => ledger.reserveCreate(request),
    () => ledger.commitCreate('acct', 'alice', 'r1', '1'),
    () => ledger.releaseCreate('acct', 'alice', 'r1'),
    () => ledger.ownerOf('acct', '1'),
    () => ledger.ownersOf('acct', ['1', '2']),
    () => ledger.recordDeleted('acct', '1'),
    () => ledger.counts('acct', 'alice'),
  ];

  test('a stalled Redis: every method rejects once the command timeout passes', async () => {
    const connection = await connect({ commandTimeoutMs: 200 });
    const ledger = ledgerOn(connection);
    await ledger.counts('acct', 'alice');
    // Every command of every client waits (CLIENT UNPAUSE too), so the pause is left to run out.
    const pausedUntil = Date.now() + 2500;
    await server.command('CLIENT', 'PAUSE', '2500', 'ALL');
    for (const call of calls(ledger)) {
      const started = Date.now();
      await expect(call()).rejects.toMatchObject({ name: 'StoreUnavailableError', kind: 'timeout' });
      const elapsed = Date.now() - started;
      expect(elapsed).toBeGreaterThanOrEqual(150);
      expect(elapsed).toBeLessThan(600);
    }
    expect(Date.now()).toBeLessThan(pausedUntil);
    await sleep(pausedUntil - Date.now() + 50);
    // The late replies are dropped; the same connection goes on.
    expect(await ledger.counts('acct', 'alice')).toEqual({ callerLive: 0, accountLive: 0, callerCreatesLastHour: 0 });
  });

  test('Redis killed: every method rejects at once; after a restart (empty, no persistence) they work again', async () => {
    const own = await startRedisServer();
    try {
      const connection = createRedisConnection({ url: own.url, commandTimeoutMs: 200, reconnectDelayMs: 50 });
      opened.push(connection);
      await waitFor(() => connection.status() === 'ready', 3000);
      const ledger = new RedisComputeLedger({ connection });
      await ledger.reserveCreate(request);
      await ledger.commitCreate('acct', 'alice', 'r1', '1');
      await own.kill();
      await waitFor(() => connection.status() === 'down', 1000);
      for (const call of calls(ledger)) {
        const started = Date.now();
        await expect(call()).rejects.toBeInstanceOf(StoreUnavailableError);
        expect(Date.now() - started).toBeLessThan(250);
      }
      await own.restart();
      await waitFor(() => connection.status() === 'ready', 3000);
      // A restarted empty Redis forgot everything, ownership included (hence: run it with persistence).
      expect(await ledger.ownerOf('acct', '1')).toBeUndefined();
      expect(await ledger.reserveCreate({ ...request, reservationId: 'r2', callerLiveMax: 1 })).toEqual({ ok: true });
      await ledger.commitCreate('acct', 'alice', 'r2', '2');
      expect(await ledger.ownerOf('acct', '2')).toBe('alice');
      await connection.close();
    } finally {
      await own.stop();
    }
  });
});
