/**
 * The ledger survives a Redis restart when Redis runs as deploy/ runs it (AOF, `appendfsync
 * everysec`): creates through a real gateway, then Redis stopped cleanly (SIGTERM) or killed (SIGKILL)
 * and started again on its data; ownership and quotas judged through the gateway afterwards. The same
 * story without persistence forgets every owner: the control that shows these checks can fail.
 *
 * What everysec can lose: Redis writes each command to the AOF file before it answers, so a crash of
 * the process (SIGKILL, OOM kill) loses nothing acknowledged; a crash of the host loses what the kernel
 * had not yet synced, at most about one second of writes (two when the disk stalls). A clean shutdown
 * syncs and loses nothing.
 */
import { startRedisServer, type RedisServer } from '../../helpers/redis-server';
import { eventually, QUOTAS, startLedgerGateway, type LedgerGateway } from '../../helpers/ledger-gateway';

jest.setTimeout(60_000);

/** Everything Redis accepted is in the AOF file (not just in its buffer): what survives a process crash. */
async function aofWritten(redis: RedisServer): Promise<void> {
  await eventually(async () => /aof_buffer_length:0\r?\n/.test(String(await redis.command('INFO', 'persistence'))));
}

/** The gateway answers ownership checks again: its connection came back to the restarted Redis. */
async function ledgerBack(lg: LedgerGateway, computeId: string): Promise<void> {
  await eventually(async () => (await lg.as('autoscaler', 'GET', `/api/v1/computes/${computeId}`)).status !== 503);
}

async function liveInOwnList(lg: LedgerGateway): Promise<string[]> {
  const listed = await lg.as('autoscaler', 'GET', '/api/v1/computes?limit=100');
  expect(listed.status).toBe(200);
  return (listed.body.data as { id: string; state: string }[])
    .filter((c) => !c.state.startsWith('DESTROY'))
    .map((c) => c.id)
    .sort();
}

async function expectOwnershipAndQuotas(lg: LedgerGateway, mine: string[], theirs: string): Promise<void> {
  // The owner may act on each of its computes; another owning caller may not (404 hides them from ci).
  for (const id of mine) {
    expect((await lg.as('autoscaler', 'GET', `/api/v1/computes/${id}`)).status).toBe(200);
    const foreign = await lg.as('ci', 'GET', `/api/v1/computes/${id}`);
    expect([foreign.status, foreign.body.code]).toEqual([404, 'RESOURCE_NOT_FOUND']);
  }
  const refused = await lg.as('autoscaler', 'GET', `/api/v1/computes/${theirs}`);
  expect([refused.status, refused.body.code]).toEqual([403, 'FORBIDDEN']);
  // Its own list holds exactly its computes (and those it deleted, listed as the provider lists them).
  expect(await liveInOwnList(lg)).toEqual([...mine].sort());
  // The quota still counts them: at the limit, the next create is refused before it reaches the provider.
  expect(mine).toHaveLength(QUOTAS.autoscaler);
  const over = await lg.as('autoscaler', 'POST', '/api/v1/computes', {
    hostName: 'over-quota',
    image: 'UBUNTU-24.04',
    region: 'KGL-1',
    specification: 'S-1C-1G',
    publicKeys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB user@host'],
  });
  expect([over.status, over.body.code]).toEqual([403, 'QUOTA_EXCEEDED']);
  expect(over.body.message).toContain('caller.liveComputes');
}

describe('Redis with AOF (appendfsync everysec)', () => {
  let redis: RedisServer;
  let lg: LedgerGateway;
  const mine: string[] = [];
  let theirs = '';

  beforeAll(async () => {
    redis = await startRedisServer({ appendOnly: true });
    lg = await startLedgerGateway({ redisUrl: redis.url });
    for (let i = 0; i < QUOTAS.autoscaler; i += 1) mine.push(await lg.create('autoscaler'));
    theirs = await lg.create('ci');
  });
  afterAll(async () => {
    await lg?.close();
    await redis?.stop();
  });

  it('runs with AOF on and fsync every second', async () => {
    const info = String(await redis.command('INFO', 'persistence'));
    expect(info).toMatch(/aof_enabled:1/);
    expect(await redis.command('CONFIG', 'GET', 'appendfsync')).toEqual(['appendfsync', 'everysec']);
  });

  it('a clean shutdown (SIGTERM) and restart: owners and live counts intact', async () => {
    await expectOwnershipAndQuotas(lg, mine, theirs);
    await redis.restart('stop');
    await ledgerBack(lg, mine[0]!);
    await expectOwnershipAndQuotas(lg, mine, theirs);
  });

  it('a crash (SIGKILL) right after a delete and a create: both kept, nothing acknowledged lost', async () => {
    const deleted = mine.shift()!;
    expect((await lg.as('autoscaler', 'DELETE', `/api/v1/computes/${deleted}`)).status).toBe(202);
    mine.push(await lg.create('autoscaler'));
    await aofWritten(redis);
    await redis.restart('kill');
    await ledgerBack(lg, mine[0]!);
    await expectOwnershipAndQuotas(lg, mine, theirs);
    // The deleted compute stays its creator's (so a replayed create cannot revive it), and not live.
    expect((await lg.as('autoscaler', 'GET', `/api/v1/computes/${deleted}`)).body.data.state).toBe('DESTROYED');
    expect(await liveInOwnList(lg)).not.toContain(deleted);
  });
});

describe('Redis without persistence (the control)', () => {
  it('a restart forgets every owner and count: the owner is refused its own compute, the quota is free again', async () => {
    const redis = await startRedisServer();
    const lg = await startLedgerGateway({ redisUrl: redis.url });
    try {
      const mine = [await lg.create('autoscaler')];
      expect((await lg.as('autoscaler', 'GET', `/api/v1/computes/${mine[0]}`)).status).toBe(200);
      await redis.restart('stop');
      await ledgerBack(lg, mine[0]!);
      const lost = await lg.as('autoscaler', 'GET', `/api/v1/computes/${mine[0]}`);
      expect([lost.status, lost.body.code]).toEqual([403, 'FORBIDDEN']);
      // Three more creates pass a quota of three: the first one no longer counts.
      for (let i = 0; i < QUOTAS.autoscaler; i += 1) await lg.create('autoscaler');
    } finally {
      await lg.close();
      await redis.stop();
    }
  });
});
