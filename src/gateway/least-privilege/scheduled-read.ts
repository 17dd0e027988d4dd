/**
 * Reads from the provider outside the request path (`ledger rebuild`) as the request path reads: each
 * attempt takes a slot on the account's shared read schedule (the same Redis, so the gateways and
 * this reader together stay under the provider's limit), leaves only within the slot's tolerance,
 * and feeds the answer's rate-limit headers back (a 429 pauses every replica). A 429, 502, 503 or a
 * lost connection is tried again on a new slot, a few times.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { parseRateLimitHeaders, type RateSchedule } from '../../schedule';
import type { UpstreamAnswer, UpstreamRead } from './provider-computes';

/** The fairness identity of these reads on the schedule; a space, so no policy caller has this name. */
export const SCHEDULED_READER_ID = '(ledger rebuild)';

export interface ScheduledReadOptions {
  schedule: RateSchedule;
  accountId: string;
  /** The account's key: sent as `Authorization`, never logged or returned. */
  apiKey: string;
  upstreamBaseUrl: string;
  /** Until the response headers, and again until the whole body. */
  timeoutMs: number;
  userAgent: string;
  /** The longest wait for one slot; longer, and the attempt waits for `retryAfterMs` instead. */
  maxWaitMs: number;
  /** Attempts per read, the first included. */
  maxAttempts: number;
  maxBodyBytes: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export interface ScheduledReader {
  read: UpstreamRead;
  /** Slots taken (one per request sent) and answers seen, by status. */
  stats(): { sent: number; statuses: Record<number, number> };
  close(): void;
}

const RETRY_STATUSES: ReadonlySet<number> = new Set([429, 502, 503]);
/** A schedule that keeps refusing waits at most this long between attempts. */
const MAX_REFUSED_PAUSE_MS = 10_000;

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function createScheduledReader(options: ScheduledReadOptions): ScheduledReader {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? defaultSleep;
  const base = new URL(options.upstreamBaseUrl);
  const client = base.protocol === 'https:' ? https : http;
  const agent = new client.Agent({ keepAlive: true, maxSockets: 1 });
  const counted = { sent: 0, statuses: {} as Record<number, number> };

  function send(upstreamPath: string): Promise<UpstreamAnswer & { headers?: http.IncomingHttpHeaders }> {
    const url = new URL(`${base.pathname.replace(/\/$/, '')}${upstreamPath}`, base);
    return new Promise((resolve) => {
      let settled = false;
      const settle = (answer: UpstreamAnswer & { headers?: http.IncomingHttpHeaders }) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(answer);
      };
      const req = client.request(url, {
        method: 'GET',
        agent,
        headers: {
          authorization: `Bearer ${options.apiKey}`,
          accept: 'application/json',
          'user-agent': options.userAgent,
          'x-request-id': randomUUID(),
        },
      });
      const timer = setTimeout(() => req.destroy(new Error('timeout')), options.timeoutMs);
      req.on('error', (error) =>
        settle({
          kind: 'failed',
          reason: error.message.startsWith('upstream') ? error.message : `upstream ${error.message}`,
        }),
      );
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let bytes = 0;
        const tooLarge = `upstream answer over ${options.maxBodyBytes} bytes`;
        res.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          if (bytes <= options.maxBodyBytes) chunks.push(chunk);
          else req.destroy(new Error(tooLarge));
        });
        res.on('error', () => undefined);
        // The body may have ended already when the last chunk passed the bound: never a cut page.
        res.on('end', () =>
          settle(
            bytes > options.maxBodyBytes
              ? { kind: 'failed', reason: tooLarge }
              : { kind: 'answered', status: res.statusCode ?? 0, body: Buffer.concat(chunks), headers: res.headers },
          ),
        );
      });
      req.end();
    });
  }

  /** One slot: its wait, then the request if it can still leave within the slot's tolerance. */
  async function attempt(upstreamPath: string): Promise<UpstreamAnswer | { kind: 'no-slot'; waitMs: number }> {
    const { schedule, accountId } = options;
    const reservation = await schedule.reserve({
      accountId,
      operationClass: 'read',
      callerId: SCHEDULED_READER_ID,
      weight: 1,
      maxWaitMs: options.maxWaitMs,
    });
    if (reservation.kind === 'rejected') return { kind: 'no-slot', waitMs: reservation.retryAfterMs };
    const outcome = await schedule.waitForSlot(reservation);
    if (outcome.kind === 'expired') return { kind: 'no-slot', waitMs: outcome.retryAfterMs };
    if (outcome.kind !== 'ready' || now() > reservation.latestSendAtMs) return { kind: 'no-slot', waitMs: 0 };
    counted.sent += 1;
    const answer = await send(upstreamPath);
    if (answer.kind === 'answered') {
      counted.statuses[answer.status] = (counted.statuses[answer.status] ?? 0) + 1;
      await schedule
        .observe(accountId, 'read', parseRateLimitHeaders(answer.headers ?? {}, now()), { status: answer.status })
        .catch(() => undefined);
    }
    return answer.kind === 'answered' ? { kind: 'answered', status: answer.status, body: answer.body } : answer;
  }

  async function read(upstreamPath: string): Promise<UpstreamAnswer> {
    let last: UpstreamAnswer = { kind: 'failed', reason: 'no slot on the rate schedule' };
    for (let n = 1; n <= options.maxAttempts; n += 1) {
      const result = await attempt(upstreamPath);
      if (result.kind === 'no-slot') {
        last = { kind: 'failed', reason: 'no slot on the rate schedule within the wait allowed' };
        if (n < options.maxAttempts) await sleep(Math.min(result.waitMs, MAX_REFUSED_PAUSE_MS));
        continue;
      }
      last = result;
      if (result.kind === 'answered' && !RETRY_STATUSES.has(result.status)) return result;
    }
    return last;
  }

  return {
    read,
    stats: () => ({ sent: counted.sent, statuses: { ...counted.statuses } }),
    close: () => agent.destroy(),
  };
}
