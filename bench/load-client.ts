/**
 * A closed-loop HTTP load client: a fixed number of loops, each with one request in flight on a
 * keep-alive connection. Bounded three ways: a deadline, a request count, a per-request timeout.
 *
 * Hand-written, not autocannon: the overhead figures are nearest-rank percentiles over every request's
 * latency (docs/benchmarks.md), and autocannon hands back its histogram's summary, not the samples; the
 * loop is also what the overhead bench runs beside its server threads, and it stays this small.
 */
import http from 'node:http';
import { performance } from 'node:perf_hooks';

export interface LoadOptions {
  /** Loopback only: `http://127.0.0.1:<port>`. */
  origin: string;
  path: string;
  headers: Readonly<Record<string, string>>;
  /** Owned by the caller, so warm-up and measurement reuse the same connections. */
  agent: http.Agent;
  concurrency: number;
  durationMs: number;
  /** Across all loops; no new request starts once reached. */
  maxRequests: number;
  requestTimeoutMs: number;
  expectedStatus: number;
}

export interface LoadResult {
  /** One entry per request answered with the expected status. */
  latenciesMs: number[];
  errorCount: number;
  /** The first few distinct failure reasons, for the report. */
  errorReasons: string[];
  /** From the first request to the last answer (in-flight requests finish after the deadline). */
  elapsedMs: number;
}

type Outcome = { ok: true } | { ok: false; reason: string };

const MAX_ERROR_REASONS = 5;

export function loopbackOrigin(origin: string): URL {
  const url = new URL(origin);
  if (url.protocol !== 'http:' || url.hostname !== '127.0.0.1')
    throw new Error(`bench talks to 127.0.0.1 only, not ${origin}`);
  return url;
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const target = loopbackOrigin(options.origin);
  const port = Number(target.port);
  const latenciesMs: number[] = [];
  const errorReasons: string[] = [];
  let errorCount = 0;
  let started = 0;
  const startedMs = performance.now();
  const deadlineMs = startedMs + options.durationMs;

  async function loop(): Promise<void> {
    while (started < options.maxRequests && performance.now() < deadlineMs) {
      started++;
      const sentMs = performance.now();
      const outcome = await requestOnce(port, options);
      if (outcome.ok) {
        latenciesMs.push(performance.now() - sentMs);
      } else {
        errorCount++;
        if (errorReasons.length < MAX_ERROR_REASONS && !errorReasons.includes(outcome.reason))
          errorReasons.push(outcome.reason);
      }
    }
  }

  await Promise.all(Array.from({ length: options.concurrency }, loop));
  return { latenciesMs, errorCount, errorReasons, elapsedMs: performance.now() - startedMs };
}

function requestOnce(port: number, options: LoadOptions): Promise<Outcome> {
  return new Promise((resolve) => {
    const req = http.request(
      { host: '127.0.0.1', port, method: 'GET', path: options.path, headers: options.headers, agent: options.agent },
      (res) => {
        const status = res.statusCode ?? 0;
        res.on('end', () =>
          resolve(status === options.expectedStatus ? { ok: true } : { ok: false, reason: `status ${status}` }),
        );
        res.on('error', (error: NodeJS.ErrnoException) => resolve({ ok: false, reason: error.code ?? error.message }));
        // Read the whole body, as a real client would, without keeping it.
        res.resume();
      },
    );
    req.setTimeout(options.requestTimeoutMs, () =>
      req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })),
    );
    req.on('error', (error: NodeJS.ErrnoException) => resolve({ ok: false, reason: error.code ?? error.message }));
    req.end();
  });
}

/** One request with its body, for the check that all targets answer alike before measuring. */
export function fetchOnce(
  url: string,
  headers: Readonly<Record<string, string>>,
  timeoutMs: number,
): Promise<{ status: number; body: string }> {
  const target = loopbackOrigin(url);
  return new Promise((resolve, reject) => {
    const req = http.request(target, { method: 'GET', headers: { ...headers, connection: 'close' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer from ${url} within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}
