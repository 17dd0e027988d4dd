/**
 * The reader `ledger rebuild` uses, against a scripted upstream (real sockets): what it sends, a 429
 * honoured through the schedule's pause before the next attempt, the retries' bound, refusals that are
 * not retried, and an answer larger than allowed. Judged by what the upstream received.
 */
import { createRateSchedule, type RateSchedule } from '../../../src/schedule';
import { createScheduledReader, type ScheduledReadOptions } from '../../../src/gateway/least-privilege/scheduled-read';
import { startRawUpstream, type RawUpstream } from '../../helpers/raw-upstream';

jest.setTimeout(30_000);

const KEY = 'sk-scheduled-read-test-key';

function answer(status: number, body: string, extra: string[] = []): string {
  return [
    `HTTP/1.1 ${status} X`,
    'Content-Type: application/json',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
    ...extra,
    '',
    body,
  ].join('\r\n');
}

let upstream: RawUpstream;
let schedule: RateSchedule;

beforeEach(async () => {
  upstream = await startRawUpstream();
  schedule = createRateSchedule({ limits: () => ({ read: 50, write: 5 }), expectedReplicas: 1 });
});
afterEach(async () => {
  await schedule.close();
  await upstream.close();
});

function reader(overrides: Partial<ScheduledReadOptions> = {}) {
  return createScheduledReader({
    schedule,
    accountId: 'prod',
    apiKey: KEY,
    upstreamBaseUrl: upstream.baseUrl,
    timeoutMs: 5000,
    userAgent: 'strettch-gateway/test',
    maxWaitMs: 10_000,
    maxAttempts: 3,
    maxBodyBytes: 1024,
    ...overrides,
  });
}

/** Answers from the list in turn (the last one again once the list is used up). */
function answerInTurn(answers: string[]): void {
  let n = 0;
  upstream.answerWith((socket) => socket.end(answers[Math.min(n++, answers.length - 1)]!));
}

it('sends the account key and the path below the base URL, nothing of its own', async () => {
  answerInTurn([answer(200, '{"success":true}')]);
  const r = reader();
  const got = await r.read('/computes?page=1&limit=100');
  r.close();
  expect(got).toEqual({ kind: 'answered', status: 200, body: Buffer.from('{"success":true}') });
  expect(upstream.received).toHaveLength(1);
  const head = upstream.received[0]!;
  expect(head).toMatch(/^GET \/api\/v1\/computes\?page=1&limit=100 HTTP\/1\.1\r\n/);
  expect(head).toContain(`authorization: Bearer ${KEY}`);
  expect(head).toContain('user-agent: strettch-gateway/test');
  expect(head).toMatch(/x-request-id: [0-9a-f-]{36}/);
});

it("a 429 is fed to the schedule: its Retry-After (beyond the headers' 1 s resolution) pauses the next attempt", async () => {
  answerInTurn([answer(429, '{"code":"TOO_MANY_REQUESTS"}', ['Retry-After: 3']), answer(200, '{}')]);
  const r = reader();
  const startedMs = Date.now();
  const got = await r.read('/computes');
  r.close();
  expect(got).toMatchObject({ kind: 'answered', status: 200 });
  expect(upstream.received).toHaveLength(2);
  // A lower bound only: the pause came from the upstream's Retry-After less one second, through the schedule.
  expect(Date.now() - startedMs).toBeGreaterThanOrEqual(1900);
  expect(r.stats()).toEqual({ sent: 2, statuses: { 429: 1, 200: 1 } });
});

it('502 and 503 are tried again, at most maxAttempts in all; the last answer is returned', async () => {
  answerInTurn([answer(503, '{}')]);
  const r = reader({ maxAttempts: 3 });
  const got = await r.read('/computes');
  r.close();
  expect(got).toMatchObject({ kind: 'answered', status: 503 });
  expect(upstream.received).toHaveLength(3);
});

it('a refusal (401) is not tried again', async () => {
  answerInTurn([answer(401, '{"code":"UNAUTHORIZED"}'), answer(200, '{}')]);
  const r = reader();
  expect(await r.read('/computes')).toMatchObject({ kind: 'answered', status: 401 });
  r.close();
  expect(upstream.received).toHaveLength(1);
});

it('an answer larger than maxBodyBytes is a failure, not a truncated page', async () => {
  answerInTurn([answer(200, `"${'x'.repeat(4000)}"`)]);
  const r = reader({ maxAttempts: 1 });
  const got = await r.read('/computes');
  r.close();
  expect(got).toEqual({ kind: 'failed', reason: 'upstream answer over 1024 bytes' });
});

it('no upstream at all: a failure naming the connection error, never the key', async () => {
  await upstream.close();
  const r = reader({ upstreamBaseUrl: 'http://127.0.0.1:1/api/v1', maxAttempts: 2 });
  const got = await r.read('/computes');
  r.close();
  expect(got).toMatchObject({ kind: 'failed', reason: expect.stringContaining('ECONNREFUSED') });
  expect(JSON.stringify(got)).not.toContain(KEY);
});
