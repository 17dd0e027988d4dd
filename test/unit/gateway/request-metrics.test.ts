/**
 * What a request leaves in the metrics: its end-to-end duration under its operation and status
 * class (request-record.ts), and its queue's account and class on the schedule's metrics
 * (rate-slot.ts), read back from a real registry's exposition.
 */
import type { ServerResponse } from 'node:http';
import { operationById } from '../../../src/catalog/catalog';
import { createLogger } from '../../../src/gateway/observability/logger';
import { createMetrics, type GatewayMetrics } from '../../../src/gateway/observability/metrics';
import { awaitRateSlot } from '../../../src/gateway/rate-slot';
import { writeAccessLog } from '../../../src/gateway/request-record';
import { createRateSchedule } from '../../../src/schedule';
import { parseExposition } from '../../../bench/prometheus-text';
import { callerAccess } from '../../helpers/caller-access';

const quiet = createLogger({ level: 'silent', destination: { write: () => undefined } });

async function samples(metrics: GatewayMetrics, name: string) {
  return parseExposition(await metrics.registry.metrics()).filter((s) => s.name === name);
}

describe('the end-to-end request duration', () => {
  const answered = (statusCode: number) => ({ statusCode, writableFinished: true }) as unknown as ServerResponse;

  it.each([
    [{ operation: 'computes.list' }, 200, 1234, 'computes.list', '2xx'],
    [{ operation: 'computes.create' }, 429, 30_500, 'computes.create', '4xx'],
    [{}, 404, 0.4, 'none', '4xx'],
  ])('%p answered %p after %p ms: under %p %p', async (fields, status, durationMs, operation, statusClass) => {
    const metrics = createMetrics();
    const deps = { logger: quiet, metrics, audit: { record: () => undefined } };
    writeAccessLog(deps, { requestId: 'r', method: 'GET', ...fields }, answered(status), durationMs);

    const labels = { operation, status_class: statusClass };
    const buckets = await samples(metrics, 'strettch_gateway_request_duration_seconds_bucket');
    // Cumulative buckets: 0 up to the first bound at or above the duration, 1 from there.
    for (const bucket of buckets) {
      expect(bucket.labels).toMatchObject(labels);
      const le = bucket.labels.le === '+Inf' ? Infinity : Number(bucket.labels.le);
      expect({ le, count: bucket.value }).toEqual({ le, count: durationMs / 1000 <= le ? 1 : 0 });
    }
    const [total] = await samples(metrics, 'strettch_gateway_request_duration_seconds_sum');
    expect(total!.labels).toEqual(labels);
    expect(total!.value).toBeCloseTo(durationMs / 1000, 9);
    const [counted] = await samples(metrics, 'strettch_gateway_requests_total');
    expect(counted!.labels).toEqual({ ...labels, caller: 'anonymous' });
  });
});

describe("the queue metrics name the request's account", () => {
  // One read a second: the first request has its slot at once, the next would wait about a second.
  const schedule = () =>
    createRateSchedule({
      limits: () => ({ read: 1, write: 1 }),
      safety: 1,
      expectedReplicas: 1,
      sendToleranceMs: 1000,
    });
  const caller = { ...callerAccess(), accountId: 'prod' };
  const read = operationById('computes.list');

  it('a granted slot: its wait under (account, class), and nothing left waiting', async () => {
    const metrics = createMetrics();
    const rates = schedule();
    try {
      const slot = await awaitRateSlot(rates, metrics, caller, read, 1000, new AbortController().signal);
      expect(slot.kind).toBe('slot');
    } finally {
      await rates.close();
    }
    expect(
      (await samples(metrics, 'strettch_gateway_queue_wait_seconds_count')).map((s) => [s.labels, s.value]),
    ).toEqual([[{ account: 'prod', class: 'read' }, 1]]);
    expect(
      (await samples(metrics, 'strettch_gateway_schedule_waiting_requests')).map((s) => [s.labels, s.value]),
    ).toEqual([[{ account: 'prod', class: 'read' }, 0]]);
  });

  it('a request that cannot wait for the next slot: a rejection under (account, class, reason)', async () => {
    const metrics = createMetrics();
    const rates = schedule();
    try {
      await awaitRateSlot(rates, metrics, caller, read, 1000, new AbortController().signal);
      const refused = await awaitRateSlot(rates, metrics, caller, read, 0, new AbortController().signal);
      expect(refused.kind).toBe('rejected');
    } finally {
      await rates.close();
    }
    expect(
      (await samples(metrics, 'strettch_gateway_schedule_rejections_total')).map((s) => [s.labels, s.value]),
    ).toEqual([[{ account: 'prod', class: 'read', reason: 'deadline' }, 1]]);
  });
});
