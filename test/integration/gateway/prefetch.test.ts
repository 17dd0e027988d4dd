/**
 * Slots reserved a request ahead, through the gateway on a real Redis: a caller's back-to-back
 * reads on a dense account go on parked slots (counted in `strettch_gateway_schedule_prefetch_total`),
 * every one answered by the provider, none refused by it; on a sparse account nothing is parked.
 */
import { startGatewayHarness, type GatewayHarness } from '../../helpers/gateway-harness';
import { startRedisServer, type RedisServer } from '../../helpers/redis-server';

let redis: RedisServer;
let h: GatewayHarness | undefined;

beforeAll(async () => {
  redis = await startRedisServer();
});

afterEach(async () => {
  await h?.close();
  h = undefined;
});

afterAll(async () => {
  await redis.stop();
});

function counter(metrics: string, series: string): number {
  const line = metrics.split('\n').find((l) => l.startsWith(`${series} `));
  if (line === undefined) throw new Error(`no ${series} in the metrics`);
  return Number(line.split(' ').at(-1));
}

const prefetchCount = (metrics: string, outcome: string) =>
  counter(metrics, `strettch_gateway_schedule_prefetch_total{outcome="${outcome}"}`);
const scheduleCalls = (metrics: string, op: string) =>
  counter(metrics, `strettch_gateway_redis_commands_total{component="schedule",op="${op}"}`);

async function readsBackToBack(harness: GatewayHarness, count: number): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < count; i++) statuses.push((await harness.as('reader', 'GET', '/api/v1/regions')).status);
  return statuses;
}

test('back-to-back reads on a dense account go on parked slots, and the provider answers every one', async () => {
  h = await startGatewayHarness({
    readPerSecond: 5000,
    sandbox: { limits: { readPerSecond: 5000, writePerSecond: 5000 } },
    schedule: { redisUrl: redis.url, expectedReplicas: 1 },
  });
  const statuses = await readsBackToBack(h, 200);
  expect(statuses.every((s) => s === 200)).toBe(true);
  const metrics = await h.metricsText();
  const taken = prefetchCount(metrics, 'taken');
  console.log(
    `200 reads back to back: ${taken} on parked slots, ${prefetchCount(metrics, 'wasted')} wasted, ${prefetchCount(metrics, 'refused')} refused`,
  );
  // Most of them. A stall longer than a slot stays fresh (a busy machine) wastes what the caller holds
  // then and leaves the next few requests without one (one loaded CI run, 2026-12-06: 131 taken, 32
  // wasted; here, quiet, 186–192 taken); without prefetch it would be 0.
  expect(taken).toBeGreaterThan(100);
  // Slots parked deeper than the pace allows would waste most of them (241 before the depth followed
  // the pace); stalls alone waste a few each (12 and 32 in two loaded CI runs).
  expect(prefetchCount(metrics, 'wasted')).toBeLessThanOrEqual(50);
  // At most one round trip per request, off its path: the misses' calls carry their own reservation and
  // the parked ones (reserve-many), a parked slot taken sends one for the next (reserve), or several
  // in one call (reserve-many) when the caller's pace keeps them fresh; the metric counts both kinds.
  const calls = scheduleCalls(metrics, 'reserve') + scheduleCalls(metrics, 'reserve-many');
  expect(scheduleCalls(metrics, 'reserve-many')).toBeGreaterThan(0);
  expect(calls).toBeLessThanOrEqual(200 + 10);
});

test('on an account at the launch limits nothing is parked', async () => {
  h = await startGatewayHarness({
    readPerSecond: 30,
    schedule: { redisUrl: redis.url, expectedReplicas: 1 },
  });
  const statuses = await readsBackToBack(h, 10);
  expect(statuses.every((s) => s === 200)).toBe(true);
  const metrics = await h.metricsText();
  for (const outcome of ['taken', 'wasted', 'refused']) expect(prefetchCount(metrics, outcome)).toBe(0);
});
