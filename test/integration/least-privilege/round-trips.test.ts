/**
 * Redis round trips per request, as the gateway counts them (`strettch_gateway_redis_commands_total`,
 * commands sent) and as Redis itself saw them: one schedule script call per limiter decision; a
 * create costs the ledger nothing before it is sent unless a quota or ownership depends on it (then
 * one reservation), and one commit once it succeeded.
 */
import { startFleet, type Fleet } from '../../helpers/fleet-harness';
import { startRedisServer, type RedisServer } from '../../helpers/redis-server';
import { VALID_CREATE } from '../../helpers/valid-create';

let redis: RedisServer;
let fleet: Fleet;

beforeAll(async () => {
  redis = await startRedisServer();
  fleet = await startFleet({
    gateways: 1,
    redisUrl: redis.url,
    limits: { read: 1000, write: 1000 },
    sandbox: { limits: { readPerSecond: 1000, writePerSecond: 1000 } },
    callers: {
      plain: { scopes: ['catalog:read', 'computes:create'] },
      quota: { scopes: ['catalog:read', 'computes:create'], quotas: { createsPerHour: 1000 } },
    },
  });
});
afterAll(async () => {
  await fleet?.close();
  await redis?.stop();
});

const sent = async (): Promise<Record<string, number>> => {
  const ops = ['schedule/reserve', 'schedule/calibrate', 'ledger/reserve', 'ledger/commit', 'ledger/release'];
  const counts: Record<string, number> = {};
  for (const key of ops) {
    const [component, op] = key.split('/') as [string, string];
    counts[key] = await fleet.metric(0, 'strettch_gateway_redis_commands_total', { component, op });
  }
  // A wake-up later than the send tolerance (this machine is busy under the full suite) takes one more slot.
  counts.late = await fleet.metric(0, 'strettch_gateway_schedule_late_sends_total');
  return counts;
};

const create = (caller: string) =>
  fleet.request(0, 'POST', '/api/v1/computes', {
    caller,
    headers: { 'content-type': 'application/json', 'idempotency-key': crypto.randomUUID() },
    body: JSON.stringify(VALID_CREATE),
  });

test('a read: one schedule round trip, nothing else', async () => {
  const before = await sent();
  for (let i = 0; i < 10; i += 1)
    expect((await fleet.request(0, 'GET', '/api/v1/computes/specifications', { caller: 'plain' })).status).toBe(200);
  const after = await sent();
  expect(after['schedule/reserve']! - before['schedule/reserve']! - (after.late! - before.late!)).toBe(10);
  expect(after['ledger/reserve']! + after['ledger/commit']! + after['ledger/release']!).toBe(
    before['ledger/reserve']! + before['ledger/commit']! + before['ledger/release']!,
  );
  // The clock was calibrated once, at connect.
  expect(after['schedule/calibrate']).toBe(3);
});

test.each([
  ['without quotas: one schedule round trip before the send, one commit after it', 'plain', 0],
  ['under a quota: one more round trip before the send (its place), one commit after it', 'quota', 5],
])('a create %s', async (_name, caller, ledgerReserves) => {
  const before = await sent();
  for (let i = 0; i < 5; i += 1) expect((await create(caller)).status).toBe(202);
  const after = await sent();
  expect(after['schedule/reserve']! - before['schedule/reserve']! - (after.late! - before.late!)).toBe(5);
  expect(after['ledger/reserve']! - before['ledger/reserve']!).toBe(ledgerReserves);
  expect(after['ledger/commit']! - before['ledger/commit']!).toBe(5);
});
