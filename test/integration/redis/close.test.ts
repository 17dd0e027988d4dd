/**
 * A closed connection stays closed: nothing it does afterwards opens a socket that would keep the
 * process alive (a gateway closed while a component was still subscribing, say).
 */
import { createRedisConnection, StoreUnavailableError } from '../../../src/redis';
import { startRedisServer, type RedisServer } from '../../helpers/redis-server';

let server: RedisServer;

beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(async () => {
  await server.stop();
});

/** Clients connected to the server, the helper's own one-off connection left out. */
async function otherClients(): Promise<number> {
  const list = String(await server.command('CLIENT', 'LIST'));
  return list.trim().split('\n').length - 1;
}

it('subscribe after close is refused and connects nothing', async () => {
  const connection = createRedisConnection({ url: server.url });
  for (let i = 0; i < 100 && connection.status() !== 'ready'; i += 1) await new Promise((r) => setTimeout(r, 10));
  expect(await otherClients()).toBe(1);
  await connection.close();

  const error = await connection.subscribe('sg:shift', () => undefined).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(StoreUnavailableError);
  await new Promise((r) => setTimeout(r, 200));
  expect(await otherClients()).toBe(0);
});
