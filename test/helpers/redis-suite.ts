/**
 * A redis-server of the suite's own and the product's connection to it, for Jest suites (registers
 * hooks, so not in redis-server.ts, which the benches compile without Jest's types).
 */
import type { RedisConnection } from '../../src/redis';
import { readyConnection, startRedisServer, type RedisServer } from './redis-server';

/** Started before the suite's tests, closed and stopped after them; read the fields inside tests. */
export function redisPerSuite(commandTimeoutMs = 1000): { server: RedisServer; connection: RedisConnection } {
  const suite = {} as { server: RedisServer; connection: RedisConnection };
  beforeAll(async () => {
    suite.server = await startRedisServer();
    suite.connection = await readyConnection(suite.server.url, commandTimeoutMs);
  });
  afterAll(async () => {
    await suite.connection?.close();
    await suite.server?.stop();
  });
  return suite;
}
