/**
 * `strettch-gateway ledger rebuild` against the real sandbox and a real redis-server, judged through a
 * real gateway: Redis loses everything → the dry run shows the plan and writes nothing → `--apply` →
 * ownership and quotas are enforced again as before. Computes created or deleted outside the gateway
 * are picked up. Its reads take slots on the account's shared read schedule: with gateway traffic
 * saturating it, the sandbox (the referee) still sees no more than its limit and refuses nothing.
 */
import fs from 'node:fs';
import { runLedger } from '../../../src/cli/ledger';
import type { CliIo } from '../../../src/cli/io';
import { keyLabel } from '../../../src/sandbox';
import { OWNER_KEY } from '../../helpers/gateway-harness';
import { ACCOUNT, QUOTAS, startLedgerGateway, type LedgerGateway } from '../../helpers/ledger-gateway';
import { startRedisServer, type RedisServer } from '../../helpers/redis-server';
import { VALID_CREATE } from '../../helpers/valid-create';

jest.setTimeout(90_000);

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function rebuild(lg: LedgerGateway, redisUrl: string | undefined, ...flags: string[]): Promise<Run> {
  const out = { stdout: '', stderr: '' };
  const io: CliIo = {
    readFile: (file) => fs.readFileSync(file, 'utf8'),
    readEnv: (name) => (Object.hasOwn(lg.env, name) ? lg.env[name] : undefined),
    settingsEnv: redisUrl === undefined ? {} : { REDIS_URL: redisUrl },
    stdout: (text) => void (out.stdout += text),
    stderr: (text) => void (out.stderr += text),
  };
  const code = await runLedger(['rebuild', '--account', ACCOUNT, '--config', lg.policyPath, ...flags], io);
  return { code, ...out };
}

const OWNERS_KEY = `sg:ledger:{acct:${ACCOUNT}}:owners`;
const status = async (lg: LedgerGateway, caller: string, id: string) =>
  (await lg.as(caller, 'GET', `/api/v1/computes/${id}`)).status;

/** Creates until the quota refuses; how many passed (the caller's free places, judged by the gateway). */
async function freePlaces(lg: LedgerGateway, caller: string): Promise<number> {
  for (let n = 0; ; n += 1) {
    const answer = await lg.as(caller, 'POST', '/api/v1/computes', { ...VALID_CREATE, hostName: `fill-${n}` });
    if (answer.status !== 202) {
      expect([answer.status, answer.body.code]).toEqual([403, 'QUOTA_EXCEEDED']);
      return n;
    }
  }
}

describe('ledger rebuild after Redis lost everything', () => {
  let redis: RedisServer;
  let lg: LedgerGateway;
  const ids: Record<'autoscaler' | 'ci' | 'ops', string[]> = { autoscaler: [], ci: [], ops: [] };

  beforeAll(async () => {
    redis = await startRedisServer();
    lg = await startLedgerGateway({ redisUrl: redis.url });
    ids.autoscaler.push(await lg.create('autoscaler'), await lg.create('autoscaler'));
    ids.ci.push(await lg.create('ci'));
    ids.ops.push(await lg.create('ops'));
  });
  afterAll(async () => {
    await lg?.close();
    await redis?.stop();
  });

  it('before the loss: the owner acts on its computes, others are refused', async () => {
    expect(await status(lg, 'autoscaler', ids.autoscaler[0]!)).toBe(200);
    expect(await status(lg, 'autoscaler', ids.ci[0]!)).toBe(403);
  });

  it('Redis flushed: the owner is refused its own computes', async () => {
    await redis.command('FLUSHALL');
    expect(await status(lg, 'autoscaler', ids.autoscaler[0]!)).toBe(403);
  });

  it('the dry run prints the plan and writes nothing', async () => {
    const run = await rebuild(lg, redis.url);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`ledger rebuild: account ${ACCOUNT} (dry run: nothing written;`);
    expect(run.stdout).toContain('provider: 4 compute(s) in 1 page(s): 4 live');
    expect(run.stdout).toMatch(new RegExp(`autoscaler +0 → 2 +${ids.autoscaler.join(', ')}`));
    expect(run.stdout).toMatch(new RegExp(`ci +0 → 1 +${ids.ci[0]}`));
    // ops writes no owner tag: its compute is nobody's now, and said so.
    expect(run.stdout).toContain(`unowned (live, no owner tag, no owner in the ledger): 1 ${ids.ops[0]}`);
    expect(run.stdout).toContain('changes (6)');
    expect(run.stdout).toContain(`owner ${ids.ci[0]}: (none) → ci`);
    expect(run.stdout).not.toContain('written:');
    expect(await redis.command('HLEN', OWNERS_KEY)).toBe(0);
    expect(await status(lg, 'autoscaler', ids.autoscaler[0]!)).toBe(403);
    // The account key never appears in what the command prints.
    expect(run.stdout + run.stderr).not.toContain(OWNER_KEY.key);
  });

  it('--apply restores owners and live counts: enforced again as before', async () => {
    const run = await rebuild(lg, redis.url, '--apply');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('(applied)');
    expect(run.stdout).toContain('written: 6 change(s); live counts recounted');
    for (const id of ids.autoscaler) {
      expect(await status(lg, 'autoscaler', id)).toBe(200);
      expect(await status(lg, 'ci', id)).toBe(404);
    }
    expect(await status(lg, 'ci', ids.ci[0]!)).toBe(200);
    expect(await status(lg, 'autoscaler', ids.ci[0]!)).toBe(403);
    // Quotas count the restored computes: autoscaler had 2 of 3.
    expect(await freePlaces(lg, 'autoscaler')).toBe(QUOTAS.autoscaler - 2);
  });

  it('run again, it finds the ledger in agreement', async () => {
    const run = await rebuild(lg, redis.url);
    expect(run.stdout).toContain('changes (0): the ledger already agrees');
    expect(run.stdout).toMatch(/autoscaler +3 → 3/);
  });

  it('computes created or deleted outside the gateway are picked up', async () => {
    const tagged = await lg.direct('POST', '/computes', {
      ...VALID_CREATE,
      hostName: 'outside-1',
      tags: ['owner:ci'],
    });
    const ghost = await lg.direct('POST', '/computes', {
      ...VALID_CREATE,
      hostName: 'outside-2',
      tags: ['owner:ghost'],
    });
    expect([tagged.status, ghost.status]).toEqual([202, 202]);
    const outside = String(tagged.body.data.id);
    expect((await lg.direct('DELETE', `/computes/${ids.ci[0]}`)).status).toBe(202);
    // Before the rebuild the gateway knows neither change.
    expect(await status(lg, 'ci', outside)).toBe(404);

    const dry = await rebuild(lg, redis.url);
    expect(dry.stdout).toContain(`live  ${outside}: (none) → ci`);
    expect(dry.stdout).toContain(`live  ${ids.ci[0]}: ci → (none)`);
    expect(dry.stdout).toContain(
      `not restored: ${ghost.body.data.id} is tagged owner:ghost, not a caller of this account`,
    );
    expect(dry.stdout).toMatch(new RegExp(`ci +1 → 1 +${outside}`));

    expect((await rebuild(lg, redis.url, '--apply')).code).toBe(0);
    expect(await status(lg, 'ci', outside)).toBe(200);
    expect(await status(lg, 'autoscaler', outside)).toBe(403);
    // One live compute (the one made outside) of ci's five.
    expect(await freePlaces(lg, 'ci')).toBe(QUOTAS.ci - 1);
  });

  it('--json prints the report as data', async () => {
    const run = await rebuild(lg, redis.url, '--json');
    const report = JSON.parse(run.stdout);
    expect(report).toMatchObject({ accountId: ACCOUNT, apply: false, pages: 1 });
    expect(report.plan.repairs).toEqual([]);
    expect(report.plan.callers.map((c: { callerId: string }) => c.callerId)).toEqual(['autoscaler', 'ci', 'ops']);
  });

  it('usage errors and failures are named, with exit codes 2 and 1', async () => {
    const noRedis = await rebuild(lg, undefined);
    expect([noRedis.code, noRedis.stderr]).toEqual([
      2,
      expect.stringContaining('REDIS_URL (or REDIS_SENTINELS, or REDIS_CLUSTER_NODES): required'),
    ]);
    const badAccount = await runLedger(['rebuild', '--account', 'nope', '--config', lg.policyPath], {
      readFile: (file) => fs.readFileSync(file, 'utf8'),
      readEnv: (name) => lg.env[name as keyof typeof lg.env],
      settingsEnv: { REDIS_URL: redis.url },
      stdout: () => undefined,
      stderr: (text) => expect(text).toContain('unknown account "nope" (accounts: main)'),
    });
    expect(badAccount).toBe(2);
    // Nothing listens on port 1: Redis unreachable is a failure, said plainly, not a hang.
    const down = await rebuild(lg, 'redis://127.0.0.1:1', '--apply');
    expect([down.code, down.stderr]).toEqual([1, expect.stringContaining('Redis does not answer')]);
  });
});

describe('ledger rebuild reads on the shared read schedule', () => {
  const READ_LIMIT = 4;
  let redis: RedisServer;
  let lg: LedgerGateway;

  beforeAll(async () => {
    redis = await startRedisServer();
    lg = await startLedgerGateway({
      redisUrl: redis.url,
      readPerSecond: READ_LIMIT,
      safety: 0.75,
      sandbox: { limits: { readPerSecond: READ_LIMIT, writePerSecond: 1000 }, window: 'sliding' },
    });
    // 230 computes: three pages of the provider's list.
    for (let i = 0; i < 230; i += 1) {
      const made = await lg.direct('POST', '/computes', { ...VALID_CREATE, hostName: `bulk-${i}`, tags: ['owner:ci'] });
      expect(made.status).toBe(202);
    }
  });
  afterAll(async () => {
    await lg?.close();
    await redis?.stop();
  });

  it('with gateway reads saturating the schedule, the provider never sees more than its limit', async () => {
    let running = true;
    const load = async () => {
      while (running) await lg.as('ops', 'GET', '/api/v1/regions');
    };
    const loads = [load(), load()];
    try {
      const run = await rebuild(lg, redis.url, '--json');
      expect(run.code).toBe(0);
      expect(JSON.parse(run.stdout).pages).toBe(3);
    } finally {
      running = false;
      await Promise.all(loads);
    }
    const reads = lg.sandbox.referee.stats().keys[keyLabel(OWNER_KEY)]!.classes.read;
    // The gateway's reads really competed (more than the rebuild's three pages went through)...
    expect(reads.admitted).toBeGreaterThan(6);
    // ...and together they stayed within the provider's limit: nothing refused, never over it in any second.
    expect(reads.rejected).toBe(0);
    expect(reads.maxAdmittedInSlidingWindow).toBeLessThanOrEqual(READ_LIMIT);
  });
});
