/**
 * The scale bench's open loop: request n is due at n ÷ rate seconds after the start whatever
 * happened before it (no coordinated omission), latency counts from when it was due, and each
 * request carries the next credential of the list (caller n mod callers), to the next target
 * (replica n mod replicas): every request is from a different caller, so the gateways' caches see
 * the distinct-caller load. Keep-alive connections to 127.0.0.1; at most `maxInFlight` requests open
 * (one due while full is not sent: a client error). Results in typed arrays: the generator's own
 * memory stays flat. Only the due times and the credential choice differ from the soak's open loop
 * (bench/soak/load.ts), whose per-intent classification this bench does not need.
 */
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { summarizePhase, type PhaseSummary } from '../latency-stats';
import { loopbackUrl } from '../fleet/http-json';

export interface ScaleLoadSettings {
  /** `http://127.0.0.1:<port>` each: the three gateways, or the sandbox for the baseline. */
  targets: readonly string[];
  /** A read every target answers 200. */
  path: string;
  ratePerSec: number;
  durationMs: number;
  maxInFlight: number;
  requestTimeoutMs: number;
}

export interface ScaleLoadResult {
  /** Requests due in the phase; every one is counted below. */
  count: number;
  /** Answered 200: the latency summary is theirs. */
  latency: PhaseSummary;
  /** Answers by status (200 included). */
  statuses: Record<string, number>;
  /** No answer, by reason (`ECONNRESET`, `timeout`, `max-in-flight`, …). */
  clientErrors: Record<string, number>;
  /** The generator's own lag behind the due times (p99, max): large values mean the load process was starved. */
  sendLagP99Ms: number;
  sendLagMaxMs: number;
}

/** `authorizations[n mod length]` is request n's Authorization header. */
export function runScaleLoad(
  settings: ScaleLoadSettings,
  authorizations: readonly string[],
  onStart: (startedAtMs: number) => void,
): Promise<ScaleLoadResult> {
  const ports = settings.targets.map((t) => Number(loopbackUrl(t).port));
  const count = Math.max(1, Math.round((settings.ratePerSec * settings.durationMs) / 1000));
  const intervalMs = 1000 / settings.ratePerSec;
  const latencyMs = new Float64Array(count).fill(Number.NaN);
  const sendLagMs = new Float64Array(count).fill(Number.NaN);
  const statuses: Record<string, number> = {};
  const clientErrors: Record<string, number> = {};
  const agent = new http.Agent({ keepAlive: true, maxSockets: settings.maxInFlight });
  let inFlight = 0;
  let finished = 0;
  let next = 0;
  return new Promise((resolve) => {
    const startMs = performance.now();
    const finish = (n: number, status: number, reason?: string) => {
      if (status > 0) {
        statuses[status] = (statuses[status] ?? 0) + 1;
        if (status === 200) latencyMs[n] = performance.now() - (startMs + n * intervalMs);
      } else {
        clientErrors[reason ?? 'unknown'] = (clientErrors[reason ?? 'unknown'] ?? 0) + 1;
      }
      if (++finished === count) {
        const elapsedMs = performance.now() - startMs;
        agent.destroy();
        const answered = Array.from(latencyMs).filter((ms) => !Number.isNaN(ms));
        const lags = Float64Array.from(sendLagMs.filter((ms) => !Number.isNaN(ms))).sort();
        resolve({
          count,
          latency: summarizePhase(answered, count - answered.length, elapsedMs),
          statuses,
          clientErrors,
          sendLagP99Ms: lags.length > 0 ? lags[Math.min(lags.length - 1, Math.ceil(0.99 * lags.length) - 1)]! : NaN,
          sendLagMaxMs: lags.length > 0 ? lags[lags.length - 1]! : NaN,
        });
      }
    };
    const send = (n: number) => {
      if (inFlight >= settings.maxInFlight) return finish(n, 0, 'max-in-flight');
      inFlight++;
      sendLagMs[n] = performance.now() - (startMs + n * intervalMs);
      let settled = false;
      const settle = (status: number, reason?: string) => {
        if (settled) return;
        settled = true;
        inFlight--;
        finish(n, status, reason);
      };
      let timedOut = false;
      const req = http.request(
        {
          host: '127.0.0.1',
          port: ports[n % ports.length],
          method: 'GET',
          path: settings.path,
          agent,
          headers: { authorization: authorizations[n % authorizations.length]!, 'x-request-id': `scale-${n}` },
        },
        (res) => {
          res.resume();
          res.on('end', () => settle(res.statusCode ?? 0));
          res.on('error', () => settle(0, 'response-aborted'));
        },
      );
      req.setTimeout(settings.requestTimeoutMs, () => {
        timedOut = true;
        req.destroy(new Error('timeout'));
      });
      req.on('error', (error: NodeJS.ErrnoException) =>
        settle(0, timedOut ? 'timeout' : (error.code ?? error.message)),
      );
      req.end();
    };
    // Sends every request that is due, then sleeps until the next one is.
    const pump = () => {
      const due = Math.min(count, Math.floor((performance.now() - startMs) / intervalMs) + 1);
      while (next < due) send(next++);
      if (next < count) setTimeout(pump, Math.max(1, startMs + next * intervalMs - performance.now()));
    };
    onStart(Date.now());
    pump();
  });
}
