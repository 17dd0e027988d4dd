/**
 * Retries around the upstream: which requests, which outcomes, how many, and that each attempt
 * takes a slot on the real (in-memory) schedule and stays inside the caller's deadline.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { operationById, type OperationId } from '../../../src/catalog/catalog';
import type { ForwardOutcome, ForwardRequest, Forwarder } from '../../../src/gateway/forward/proxy';
import { createMetrics } from '../../../src/gateway/observability/metrics';
import {
  backoffMs,
  DEFAULT_RETRY_OPTIONS,
  isRepeatable,
  isRetryableOutcome,
  sendWithRetries,
  type AttemptsResult,
} from '../../../src/gateway/upstream-attempts';
import { createRateSchedule } from '../../../src/schedule';
import { callerAccess } from '../../helpers/caller-access';

const caller = callerAccess();

const ok: ForwardOutcome = { kind: 'response', upstreamStatus: 200, upstreamHeaders: {} };
const captured = (status: number, headers: Record<string, string> = {}): ForwardOutcome => ({
  kind: 'captured',
  upstreamStatus: status,
  upstreamHeaders: headers,
  body: Buffer.from('{}'),
});
const failed = (reason: string): ForwardOutcome => ({ kind: 'failed', code: 'UPSTREAM_UNAVAILABLE', reason });
const timedOut: ForwardOutcome = { kind: 'failed', code: 'UPSTREAM_TIMEOUT', reason: 'upstream-timeout' };

/** A forwarder that answers from a script and records what each attempt asked for. */
function scripted(outcomes: ForwardOutcome[]) {
  const requests: ForwardRequest[] = [];
  const forwarder: Forwarder = {
    forward: async (_req, _res, request) => {
      requests.push(request);
      const next = outcomes.shift() ?? ok;
      // Like the real forwarder: a status outside the capture set streams to the caller.
      if (
        next.kind === 'captured' &&
        !(request.capture?.statuses?.has(next.upstreamStatus) ?? request.capture !== undefined)
      ) {
        return { kind: 'response', upstreamStatus: next.upstreamStatus, upstreamHeaders: next.upstreamHeaders };
      }
      return next;
    },
    relay: () => undefined,
    close: () => undefined,
  };
  return { forwarder, requests };
}

const fakeRes = () => ({ setHeader: jest.fn(), headersSent: false }) as unknown as ServerResponse;

async function run(
  operation: OperationId,
  outcomes: ForwardOutcome[],
  options: { repeatable?: boolean; deadlineMs?: number; random?: () => number } = {},
) {
  // A generous send tolerance: these tests are about attempts, not about this machine's timer jitter.
  const schedule = createRateSchedule({
    limits: () => ({ read: 1000, write: 1000 }),
    safety: 1,
    expectedReplicas: 1,
    sendToleranceMs: 1000,
  });
  const { forwarder, requests } = scripted(outcomes);
  const metrics = createMetrics();
  const sleeps: number[] = [];
  const result: AttemptsResult = await sendWithRetries(
    {
      schedule,
      forwarder,
      metrics,
      retry: DEFAULT_RETRY_OPTIONS,
      now: Date.now,
      random: options.random ?? (() => 0.5),
      sleep: async (ms) => void sleeps.push(ms),
    },
    {
      req: {} as IncomingMessage,
      res: fakeRes(),
      caller,
      operation: operationById(operation),
      request: { upstreamPath: '/x', headers: {} },
      repeatable: options.repeatable ?? true,
      deadlineAtMs: Date.now() + (options.deadlineMs ?? 1000),
      signal: new AbortController().signal,
    },
  );
  const granted = schedule.stats().granted;
  await schedule.close();
  return {
    result,
    requests,
    sleeps,
    slots: granted.memory,
    retries: await metrics.registry.getSingleMetricAsString('strettch_gateway_upstream_retries_total'),
  };
}

describe('which outcomes are retried', () => {
  it.each<[string, boolean, ForwardOutcome]>([
    ['ECONNRESET', true, failed('upstream-ECONNRESET')],
    ['ECONNREFUSED', true, failed('upstream-ECONNREFUSED')],
    ['a response cut short', true, failed('upstream-response-aborted')],
    ['502', true, captured(502)],
    ['503', true, captured(503)],
    ['500', false, captured(500)],
    ['504', false, captured(504)],
    ['a timeout (the request may be running upstream)', false, timedOut],
    ['a redirect', false, failed('upstream-redirect')],
    ['the caller gone', false, failed('caller-disconnected')],
    ['a 200', false, ok],
  ])('%s → retryable: %s', (_name, expected, outcome) => {
    expect(isRetryableOutcome(outcome)).toBe(expected);
  });
});

describe('which requests may be repeated', () => {
  it.each<[OperationId, boolean, boolean]>([
    ['computes.list', false, true],
    ['computes.get', false, true],
    ['images.list', false, true],
    ['computes.create', true, true],
    ['computes.create', false, false],
    ['computes.stop', true, false],
    ['computes.delete', true, false],
    ['computes.upsize', true, false],
  ])('%s, Idempotency-Key sent: %s → %s', (operation, keyed, expected) => {
    expect(isRepeatable(operationById(operation), keyed ? { 'idempotency-key': 'k' } : {})).toBe(expected);
  });
});

describe('sendWithRetries', () => {
  it('a read that meets a reset, then a 503, then succeeds: three attempts, three slots, two backoffs', async () => {
    const { result, requests, sleeps, slots, retries } = await run('computes.list', [
      failed('upstream-ECONNRESET'),
      captured(503),
      ok,
    ]);
    expect(result).toMatchObject({ kind: 'sent', attempts: 3, outcome: ok });
    expect(requests).toHaveLength(3);
    expect(slots).toBe(3);
    // Full jitter at 0.5: half of 50 ms, then half of 100 ms.
    expect(sleeps).toEqual([25, 50]);
    expect(retries).toContain('reason="connection"} 1');
    expect(retries).toContain('reason="status-503"} 1');
  });

  it('non-final attempts keep 502/503 answers for a decision; the last attempt streams whatever comes', async () => {
    const { requests } = await run('computes.get', [captured(502), captured(502), captured(502)]);
    expect(requests.map((r) => (r.capture?.statuses ? [...r.capture.statuses] : undefined))).toEqual([
      [502, 503],
      [502, 503],
      undefined,
    ]);
  });

  it('after the last attempt the caller gets the last real answer', async () => {
    const { result } = await run('computes.get', [
      failed('upstream-ECONNRESET'),
      failed('upstream-ECONNRESET'),
      failed('upstream-ECONNRESET'),
    ]);
    expect(result).toMatchObject({
      kind: 'sent',
      attempts: 3,
      outcome: { kind: 'failed', reason: 'upstream-ECONNRESET' },
    });
  });

  it.each<[OperationId, boolean]>([
    ['computes.stop', false],
    ['computes.delete', false],
    ['computes.upsize', false],
    ['computes.create', false],
  ])('%s without a repeat-safe marker is sent once (repeatable: %s)', async (operation, repeatable) => {
    const { result, requests, slots } = await run(operation, [failed('upstream-ECONNRESET'), ok], { repeatable });
    expect(result).toMatchObject({ kind: 'sent', attempts: 1, outcome: { kind: 'failed' } });
    expect(requests).toHaveLength(1);
    expect(requests[0]!.capture).toBeUndefined();
    expect(slots).toBe(1);
  });

  it('a keyed create is retried like a read', async () => {
    const { result, requests } = await run('computes.create', [failed('upstream-ECONNRESET'), ok], {
      repeatable: true,
    });
    expect(result).toMatchObject({ kind: 'sent', attempts: 2, outcome: ok });
    expect(requests).toHaveLength(2);
  });

  it('500, 504 and timeouts are not retried', async () => {
    for (const outcome of [captured(500), captured(504), timedOut]) {
      const { requests } = await run('computes.get', [outcome, ok]);
      expect(requests).toHaveLength(1);
    }
  });

  it('no retry when the backoff would pass the deadline: the caller gets the 503 as it came', async () => {
    const { result, requests } = await run('computes.get', [captured(503, { 'retry-after': '5' }), ok], {
      deadlineMs: 1000,
    });
    expect(requests).toHaveLength(1);
    expect(result).toMatchObject({ kind: 'sent', attempts: 1, outcome: { kind: 'captured', upstreamStatus: 503 } });
  });

  it('a Retry-After on a 503 is a floor for the backoff', async () => {
    const { sleeps } = await run('computes.get', [captured(503, { 'retry-after': '1' }), ok], { deadlineMs: 5000 });
    expect(sleeps).toEqual([1000]);
  });
});

describe('backoffMs', () => {
  it('full jitter under a doubling ceiling, capped', () => {
    const options = { maxAttempts: 5, baseDelayMs: 50, maxDelayMs: 300 };
    expect([1, 2, 3, 4, 5].map((n) => backoffMs(n, options, () => 0.999))).toEqual([49, 99, 199, 299, 299]);
    expect(backoffMs(3, options, () => 0)).toBe(0);
  });
});

describe('a request held back at the last moment (late send)', () => {
  const late: ForwardOutcome = { kind: 'failed', code: 'UPSTREAM_UNAVAILABLE', reason: 'late-send' };

  it("takes a new slot, is not an attempt, and every forward carries the slot's send-by instant", async () => {
    const { result, requests, slots } = await run('computes.get', [late, late, ok], { repeatable: false });
    expect(result).toMatchObject({ kind: 'sent', attempts: 1, outcome: ok });
    expect(slots).toBe(3);
    expect(requests).toHaveLength(3);
    for (const r of requests) expect(r.sendByMs).toBeGreaterThan(Date.now() - 5000);
  });

  it('is never relayed: when no new slot fits the deadline the caller gets 429, not the late send', async () => {
    const outcomes = Array.from({ length: 50 }, () => late);
    const { result } = await run('computes.get', outcomes, { deadlineMs: 0 });
    expect(result.kind === 'rejected' || (result.kind === 'sent' && result.outcome.kind !== 'failed')).toBe(true);
  });
});
