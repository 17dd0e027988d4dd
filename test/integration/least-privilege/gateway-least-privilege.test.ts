/**
 * Least privilege beyond endpoints, through two real gateways sharing one real Redis: request
 * constraints, ownership (recorded by one gateway, enforced by the other), own-only lists with
 * correct pagination, quotas under parallel creates through both gateways, and shadow mode.
 */
import { startFleet, type Fleet, type FleetReply } from '../../helpers/fleet-harness';
import { startRedisServer, type RedisServer } from '../../helpers/redis-server';
import { VALID_CREATE } from '../../helpers/valid-create';

const AUTOSCALER_CREATE = {
  regions: ['KGL-1'],
  images: ['UBUNTU-24.04'],
  specifications: ['S-1C', 'S-1C-1G'],
  tags: { required: ['autoscaler'], allowed: ['autoscaler', 'pool-*'] },
  hostName: '^as-[a-z0-9-]{1,20}$',
  withPublicIp: false,
};

let redis: RedisServer;
const racerIds: string[] = [];
let fleet: Fleet;

beforeAll(async () => {
  redis = await startRedisServer();
  fleet = await startFleet({
    gateways: 2,
    redisUrl: redis.url,
    limits: { read: 1000, write: 1000 },
    sandbox: { limits: { readPerSecond: 1000, writePerSecond: 1000 } },
    accountQuotas: { liveComputes: 40 },
    callers: {
      ops: {},
      dashboard: { scopes: ['catalog:read', 'computes:read'] },
      autoscaler: {
        scopes: ['computes:read', 'computes:create', 'computes:power'],
        constraints: { create: AUTOSCALER_CREATE },
        ownership: { foreign: 'forbidden', ownerTag: true },
        quotas: { liveComputes: 3 },
      },
      ci: { scopes: ['computes:*'], ownership: { foreign: 'not-found' }, quotas: { createsPerHour: 2 } },
      racer: { scopes: ['computes:*'], quotas: { liveComputes: 4 } },
      trial: {
        constraints: { create: { regions: ['NOWHERE-1'] } },
        ownership: {},
        quotas: { liveComputes: 1 },
        shadow: true,
      },
    },
  });
});
afterAll(async () => {
  await fleet?.close();
  await redis?.stop();
});

const JSON_HEADERS = { 'content-type': 'application/json' };
let hosts = 0;
const create = (
  gateway: number,
  caller: string,
  overrides: Record<string, unknown> = {},
  key: string = crypto.randomUUID(),
): Promise<FleetReply> =>
  fleet.request(gateway, 'POST', '/api/v1/computes', {
    caller,
    headers: { ...JSON_HEADERS, 'idempotency-key': key },
    body: JSON.stringify({
      ...VALID_CREATE,
      hostName: `as-${(hosts += 1)}`,
      tags: ['autoscaler'],
      withPublicIp: false,
      ...overrides,
    }),
  });
const createsPerformed = () => fleet.upstream('write').admitted;

describe('request constraints', () => {
  it('a create inside every constraint goes through with the owner tag added, exactly as checked', async () => {
    const reply = await create(0, 'autoscaler', { tags: ['autoscaler', 'pool-a'] });
    expect(reply.status).toBe(202);
    const got = await fleet.request(1, 'GET', `/api/v1/computes/${reply.body.data.id}`, { caller: 'ops' });
    expect(got.body.data).toMatchObject({
      region: 'KGL-1',
      image: 'UBUNTU-24.04',
      tags: ['autoscaler', 'pool-a', 'owner:autoscaler'],
    });
  });

  it.each([
    ['create.regions', { region: 'NBO-1' }],
    ['create.images', { image: 'UBUNTU-22.04' }],
    ['create.specifications', { specification: 'S-4C-8G' }],
    ['create.tags.required', { tags: ['pool-a'] }],
    ['create.tags.allowed', { tags: ['autoscaler', 'prod'] }],
    ['create.hostName', { hostName: 'web-01' }],
    ['create.withPublicIp', { withPublicIp: true }],
  ])('%s broken → 403 FORBIDDEN naming it; the upstream is not called', async (constraint, overrides) => {
    const before = createsPerformed();
    const reply = await create(1, 'autoscaler', overrides);
    expect([reply.status, reply.body.code]).toEqual([403, 'FORBIDDEN']);
    expect(reply.body.message).toContain(constraint);
    expect(createsPerformed()).toBe(before);
  });

  it('duplicate keys are refused (MALFORMED_JSON), so no reading of the body differs from the one checked', async () => {
    const before = createsPerformed();
    const body = `{"hostName":"as-dup","image":"UBUNTU-24.04","publicKeys":["ssh-ed25519 AAAA"],"region":"KGL-1","region":"NBO-1","specification":"S-1C","tags":["autoscaler"]}`;
    const reply = await fleet.request(0, 'POST', '/api/v1/computes', {
      caller: 'autoscaler',
      headers: { ...JSON_HEADERS, 'idempotency-key': crypto.randomUUID() },
      body,
    });
    expect([reply.status, reply.body.code]).toEqual([400, 'MALFORMED_JSON']);
    expect(reply.body.message).toContain('"region"');
    expect(createsPerformed()).toBe(before);
  });

  it('no caller may set an owner: tag itself, constrained or not', async () => {
    const reply = await create(0, 'ops', { tags: ['owner:autoscaler'] });
    expect([reply.status, reply.body.code]).toEqual([403, 'FORBIDDEN']);
    expect(reply.body.message).toContain('tags.reserved');
  });
});

describe('ownership, recorded by one gateway and enforced by the other', () => {
  it('the creator may act on its compute anywhere; another caller’s compute is refused (403) or hidden (404)', async () => {
    const mine = await create(0, 'autoscaler');
    const theirs = await create(0, 'ops');
    expect([mine.status, theirs.status]).toEqual([202, 202]);
    expect(
      (await fleet.request(1, 'POST', `/api/v1/computes/${mine.body.data.id}/stop`, { caller: 'autoscaler' })).status,
    ).toBe(202);

    const before = fleet.upstream('write').admitted;
    const foreign = await fleet.request(1, 'POST', `/api/v1/computes/${theirs.body.data.id}/stop`, {
      caller: 'autoscaler',
    });
    expect([foreign.status, foreign.body.code]).toEqual([403, 'FORBIDDEN']);
    expect(fleet.upstream('write').admitted).toBe(before);

    // Hidden: the same answer the provider gives for a compute that does not exist.
    const hidden = await fleet.request(1, 'GET', `/api/v1/computes/${theirs.body.data.id}`, { caller: 'ci' });
    const missing = await fleet.request(1, 'GET', '/api/v1/computes/987654321', { caller: 'ops' });
    expect([hidden.status, hidden.body.code]).toEqual([missing.status, missing.body.code]);
    expect(hidden.body.message).toBe(missing.body.message.replace('987654321', theirs.body.data.id));
  });

  it('a caller limited to its own computes lists only those, with meta and pages that add up', async () => {
    for (let i = 0; i < 2; i += 1) expect((await create(i, 'ops')).status).toBe(202);
    const ciIds: string[] = [];
    for (let i = 0; i < 2; i += 1) {
      const made = await create(i % 2, 'ci');
      expect(made.status).toBe(202);
      ciIds.push(made.body.data.id);
    }
    const all = await fleet.request(0, 'GET', '/api/v1/computes?limit=100', { caller: 'ops' });
    expect(all.body.meta.total).toBeGreaterThan(ciIds.length);

    const page1 = await fleet.request(1, 'GET', '/api/v1/computes?limit=1&page=1', { caller: 'ci' });
    const page2 = await fleet.request(0, 'GET', '/api/v1/computes?limit=1&page=2', { caller: 'ci' });
    const page3 = await fleet.request(0, 'GET', '/api/v1/computes?limit=1&page=3', { caller: 'ci' });
    expect(page1.status).toBe(200);
    expect([page1.body.meta, page2.body.meta, page3.body.meta]).toEqual([
      { total: 2, page: 1, limit: 1 },
      { total: 2, page: 2, limit: 1 },
      { total: 2, page: 3, limit: 1 },
    ]);
    expect([...page1.body.data, ...page2.body.data].map((c: { id: string }) => c.id).sort()).toEqual([...ciIds].sort());
    expect(page3.body.data).toEqual([]);
    expect(page1.body).toMatchObject({ success: true });
  });

  it('limit above the provider’s 100 is refused the way the provider refuses it', async () => {
    const reply = await fleet.request(0, 'GET', '/api/v1/computes?limit=101', { caller: 'ci' });
    expect([reply.status, reply.body.code]).toEqual([400, 'VALIDATION_ERROR']);
  });
});

describe('quotas', () => {
  it('live computes: the caller’s fourth create is refused with QUOTA_EXCEEDED naming the quota', async () => {
    const live = async () =>
      (await fleet.request(0, 'GET', '/api/v1/computes?limit=100', { caller: 'autoscaler' })).body.meta.total as number;
    while ((await live()) < 3) expect((await create(1, 'autoscaler')).status).toBe(202);
    const before = createsPerformed();
    const refused = await create(0, 'autoscaler');
    expect([refused.status, refused.body.code]).toEqual([403, 'QUOTA_EXCEEDED']);
    expect(refused.body.message).toContain('caller.liveComputes');
    expect(createsPerformed()).toBe(before);
  });

  it('creates per hour: the third create within the hour is refused, and says when a place frees up', async () => {
    // ci made two creates above; an Idempotency-Key replay of one of them is not a new create.
    const refused = await create(0, 'ci');
    expect([refused.status, refused.body.code]).toEqual([403, 'QUOTA_EXCEEDED']);
    expect(refused.body.message).toMatch(/caller\.createsPerHour \(2\).*frees up in \d+ s/);
  });

  it('parallel creates through both gateways never pass the last free place', async () => {
    const before = createsPerformed();
    const replies = await Promise.all(Array.from({ length: 12 }, (_, i) => create(i % 2, 'racer')));
    const statuses = replies.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 202)).toHaveLength(4);
    expect(replies.filter((r) => r.status === 403).every((r) => r.body.code === 'QUOTA_EXCEEDED')).toBe(true);
    expect(createsPerformed() - before).toBe(4);
    racerIds.push(...replies.filter((r) => r.status === 202).map((r) => r.body.data.id as string));
  });

  it('a delete through the gateway frees a place', async () => {
    expect((await create(0, 'racer')).status).toBe(403);
    expect((await fleet.request(1, 'DELETE', `/api/v1/computes/${racerIds[0]}`, { caller: 'racer' })).status).toBe(202);
    expect((await create(0, 'racer')).status).toBe(202);
  });
});

describe('shadow mode', () => {
  it('nothing is denied; each would-be denial is logged and counted', async () => {
    const first = await create(0, 'trial', { region: 'KGL-1' });
    const second = await create(1, 'trial', { region: 'KGL-1' });
    expect([first.status, second.status]).toEqual([202, 202]);
    const foreign = await fleet.request(0, 'GET', `/api/v1/computes/${(await create(0, 'ops')).body.data.id}`, {
      caller: 'trial',
    });
    expect(foreign.status).toBe(200);
    // The list is not filtered; the computes it would have hidden are counted once per list.
    const listed = await fleet.request(1, 'GET', '/api/v1/computes?limit=100', { caller: 'trial' });
    const everything = await fleet.request(1, 'GET', '/api/v1/computes?limit=100', { caller: 'ops' });
    expect(listed.body.meta.total).toBe(everything.body.meta.total);
    const counted = async (check: string) =>
      (await fleet.metric(0, 'strettch_gateway_least_privilege_denials_total', {
        caller: 'trial',
        check,
        mode: 'shadow',
      })) +
      (await fleet.metric(1, 'strettch_gateway_least_privilege_denials_total', {
        caller: 'trial',
        check,
        mode: 'shadow',
      }));
    expect(await counted('constraint')).toBe(2);
    expect(await counted('quota')).toBe(1);
    expect(await counted('ownership')).toBe(2);
    const shadowLines = fleet.gateways.flatMap((g) => g.logLines).filter((l) => l.includes('shadow mode'));
    expect(shadowLines).toHaveLength(5);
    expect(shadowLines.some((l) => JSON.parse(l).wouldHide === everything.body.meta.total - 2)).toBe(true);
  });
});

describe('the ledger unreachable', () => {
  it('ownership cannot be checked: 503 SERVICE_UNAVAILABLE, the upstream not called; an unrestricted caller is unaffected', async () => {
    const mine = await create(0, 'ci', {}, crypto.randomUUID());
    await redis.kill();
    try {
      const before = fleet.upstream('read').admitted;
      const reply = await fleet.request(0, 'GET', `/api/v1/computes/${mine.body.data?.id ?? '1'}`, { caller: 'ci' });
      expect([reply.status, reply.body.code]).toEqual([503, 'SERVICE_UNAVAILABLE']);
      expect(fleet.upstream('read').admitted).toBe(before);
      expect((await fleet.request(0, 'GET', '/api/v1/regions', { caller: 'dashboard' })).status).toBe(200);
    } finally {
      await redis.restart();
    }
  });
});
