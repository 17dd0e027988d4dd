/**
 * The Redis command deadline: a Redis that does not answer in time is an outage, but a reply that
 * arrived while this process was stalled (a long synchronous stretch, a CPU-starved machine) is a
 * reply, not a timeout.
 */
import { createRedisConnection, StoreUnavailableError, type RedisConnection } from '../../../src/redis';
import { startRedisServer, type RedisServer } from '../../helpers/redis-server';

let server: RedisServer;
let connection: RedisConnection;

beforeAll(async () => {
  server = await startRedisServer();
  connection = createRedisConnection({ url: server.url, commandTimeoutMs: 100 });
  for (let i = 0; i < 100 && connection.status() !== 'ready'; i += 1) await new Promise((r) => setTimeout(r, 10));
});
afterAll(async () => {
  await connection.close();
  await server.stop();
});

function stallFor(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // A synchronous stretch: nothing else runs, not even the socket's reads.
  }
}

it('a reply that arrived during a stall longer than the deadline is taken', async () => {
  for (let i = 0; i < 5; i += 1) {
    const pending = connection.command('ping');
    stallFor(250);
    await expect(pending).resolves.toBe('PONG');
  }
});

it('a Redis that does not answer is a timeout, within the deadline plus one turn of the loop', async () => {
  const paused = createRedisConnection({ url: server.url, commandTimeoutMs: 100 });
  for (let i = 0; i < 100 && paused.status() !== 'ready'; i += 1) await new Promise((r) => setTimeout(r, 10));
  await connection.command('client', 'pause', 400, 'ALL');
  const started = Date.now();
  const error = await paused.command('ping').catch((e: unknown) => e);
  const elapsed = Date.now() - started;
  expect(error).toBeInstanceOf(StoreUnavailableError);
  expect((error as StoreUnavailableError).kind).toBe('timeout');
  expect(elapsed).toBeGreaterThanOrEqual(95);
  expect(elapsed).toBeLessThan(300);
  await new Promise((r) => setTimeout(r, 400));
  await paused.close();
});
