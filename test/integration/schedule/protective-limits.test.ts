/** Redis-backed protective limits: one quota across replicas; a memory insurance limiter when Redis is gone. */
import { createRedisConnection, type RedisConnection } from '../../../src/redis';
import { createProtectiveLimits } from '../../../src/schedule';
import { startRedisServer, type RedisServer } from '../../helpers/redis-server';
import { waitFor } from './replicas';

let server: RedisServer;
const connections: RedisConnection[] = [];

beforeAll(async () => {
  server = await startRedisServer();
});

afterAll(async () => {
  await Promise.all(connections.map((c) => c.close()));
  await server.stop();
});

async function connect(): Promise<RedisConnection> {
  const c = createRedisConnection({ url: server.url, commandTimeoutMs: 200, reconnectDelayMs: 50 });
  connections.push(c);
  await waitFor(() => c.status() === 'ready', 2000);
  return c;
}

test('two replicas share one per-caller quota and one lockout; without Redis each answers from memory', async () => {
  const [a, b] = [await connect(), await connect()];
  const options = { callerRequestsPerMinute: 4, badTokens: { maxFailures: 2, windowSec: 60, lockoutSec: 60 } };
  const one = createProtectiveLimits({ ...options, redis: { connection: a, keyPrefix: 'pl-test' } });
  const two = createProtectiveLimits({ ...options, redis: { connection: b, keyPrefix: 'pl-test' } });
  for (const limits of [one, two, one, two])
    await expect(limits.consumeCaller('svc')).resolves.toEqual({ allowed: true });
  await expect(one.consumeCaller('svc')).resolves.toMatchObject({ allowed: false });
  await expect(two.consumeCaller('svc')).resolves.toMatchObject({ allowed: false });

  await expect(one.recordBadToken('10.1.1.1')).resolves.toEqual({ allowed: true });
  await expect(two.recordBadToken('10.1.1.1')).resolves.toMatchObject({ allowed: false });
  await expect(one.checkSource('10.1.1.1')).resolves.toMatchObject({ allowed: false });

  await server.kill();
  await waitFor(() => a.status() === 'down', 2000);
  // Insurance: a fresh, per-replica memory count.
  await expect(one.consumeCaller('svc')).resolves.toEqual({ allowed: true });
  await server.restart();
});
