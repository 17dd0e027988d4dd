/**
 * The Redis command deadline: a Redis that does not answer in time is an outage, but a reply that
 * arrived while this process was stalled (a long synchronous stretch, a CPU-starved machine) is a
 * reply, not a timeout.
 */
import { createRedisConnection, StoreUnavailableError, type RedisConnection } from '../../../src/redis';
import { startRedisServer, type RedisServer } from '../../helpers/redis-server';
import { busyFor } from '../../helpers/stall-loop';

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

it('a reply that arrived during a stall longer than the deadline is taken', async () => {
  for (let i = 0; i < 5; i += 1) {
    const pending = connection.command('ping');
    busyFor(250);
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

it('time this process spends stalled does not count against the deadline: a slow Redis on a busy machine is not an outage', async () => {
  const slow = createRedisConnection({ url: server.url, commandTimeoutMs: 150 });
  for (let i = 0; i < 100 && slow.status() !== 'ready'; i += 1) await new Promise((r) => setTimeout(r, 10));
  // Redis answers after ~300 ms, while this process is busy most of that time (100 ms stretches with
  // a short breath between them): it was free to read a reply for far less than the 150 ms deadline
  // (each stretch counts at most 20 ms), while the old wall-clock deadline expired after 150 ms.
  await connection.command('client', 'pause', 300, 'ALL');
  const started = Date.now();
  const pending = slow.command('ping');
  let outcome: unknown;
  pending.then(
    (v) => (outcome = v),
    (e: unknown) => (outcome = e),
  );
  while (outcome === undefined && Date.now() - started < 1500) {
    busyFor(100);
    await new Promise((r) => setTimeout(r, 1));
  }
  expect(outcome).toBe('PONG');
  expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  await slow.close();
});
