/**
 * The benches' redis-server: the tests' helper (test/helpers/redis-server.ts), started through the bench's
 * ChildGroup, so that it dies with the bench and its output lands in the run's logs (`redis.log`).
 */
import path from 'node:path';
import { startRedisServer, type RedisServer } from '../../test/helpers/redis-server';
import type { ChildGroup } from './children';

export type BenchRedis = RedisServer;

export function startBenchRedis(group: ChildGroup, workDir: string): Promise<BenchRedis> {
  const logFile = path.join(workDir, 'redis.log');
  return startRedisServer({ spawn: (args) => group.spawn('redis-server', 'redis-server', args, { logFile }) });
}
