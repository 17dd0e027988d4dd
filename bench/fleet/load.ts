/**
 * The callers: closed loops, one request in flight each, on keep-alive connections to 127.0.0.1.
 * Reads are `GET /api/v1/computes/specifications`; writes create a compute with a fresh UUID v4
 * Idempotency-Key (the sandbox accepts them repeatedly; an owner key may create). A 429 — the
 * gateway's own or the upstream's — is honoured: the loop sleeps Retry-After (at most 5 s).
 * Bounded by the phase deadline, a per-request timeout and a per-loop request cap; at the deadline
 * requests still in flight are cut (a request still queued in a gateway then takes no slot).
 * Runs in its own process (load-process.ts), so that the bench's timers and probes do not share
 * its event loop.
 *
 * Hand-written: the loops are callers (weighted tokens, a read/write mix, Retry-After honoured), and
 * every sample records its caller, kind, send time and whether the upstream saw it; a generic generator
 * (autocannon) drives one request shape and reports aggregates.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { RequestKind, WorkerPlan } from './callers';
import { loopbackUrl } from './http-json';

export interface LoadSample {
  /** Milliseconds since the phase started, when the response ended. */
  atMs: number;
  callerId: string;
  kind: RequestKind;
  /** 0: no HTTP response (connection error or timeout). */
  status: number;
  /** The response came from the upstream (it carries the sandbox's rate-limit headers). */
  forwarded: boolean;
  /** `x-queue-wait-ms`, when the gateway reported it. */
  queueWaitMs?: number;
}

export interface LoadSettings {
  /** Origins by replica index (`http://127.0.0.1:<port>`). */
  targets: readonly string[];
  workers: readonly WorkerPlan[];
  /** Bearer token per caller id (the baseline ignores it). */
  tokens: ReadonlyMap<string, string>;
  durationMs: number;
  requestTimeoutMs: number;
  /** Called as the first requests go out, with the phase's start (epoch ms). */
  onStart?: (startedAtMs: number) => void;
}

export interface LoadResult {
  startedAtMs: number;
  endedAtMs: number;
  samples: LoadSample[];
  /** Requests still in flight at the deadline, cut (most were queued for a slot). */
  cutAtEnd: number;
  cutAtEndByKind: Record<RequestKind, number>;
}

const READ_PATH = '/api/v1/computes/specifications';
const WRITE_PATH = '/api/v1/computes';
const MAX_RETRY_AFTER_MS = 5000;
const ERROR_BACKOFF_MS = 200;
/** Far above what a loop can do in a phase (each request waits ≥ 20 ms upstream or ≥ 1 s after a 429). */
const MAX_REQUESTS_PER_LOOP_PER_SEC = 100;
const RATE_HEADER = 'x-ratelimit-limit-second';

let hostCounter = 0;
function createBody(): string {
  hostCounter = (hostCounter + 1) % 1_000_000;
  return JSON.stringify({
    hostName: `bench-${hostCounter}`,
    image: 'UBUNTU-24.04',
    region: 'KGL-1',
    specification: 'S-1C',
    publicKeys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB bench@fleet'],
  });
}

interface Outcome {
  status: number;
  forwarded: boolean;
  queueWaitMs?: number;
  retryAfterSec?: number;
  aborted: boolean;
}

export async function runLoad(settings: LoadSettings): Promise<LoadResult> {
  const ports = settings.targets.map((t) => Number(loopbackUrl(t).port));
  const agent = new http.Agent({ keepAlive: true, maxSockets: settings.workers.length + 8 });
  const inFlight = new Map<http.ClientRequest, RequestKind>();
  const samples: LoadSample[] = [];
  const startedAtMs = Date.now();
  const deadlineMs = startedAtMs + settings.durationMs;
  const maxPerLoop = Math.ceil((settings.durationMs / 1000) * MAX_REQUESTS_PER_LOOP_PER_SEC);
  let stopped = false;
  const sleepers = new Set<() => void>();

  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, Math.max(0, Math.min(ms, deadlineMs - Date.now())));
      sleepers.add(wake);
    });

  const send = (plan: WorkerPlan, idempotencyKey: string, body: string | undefined): Promise<Outcome> =>
    sendCall(
      {
        port: ports[plan.replica]!,
        agent,
        token: settings.tokens.get(plan.callerId) ?? '',
        timeoutMs: settings.requestTimeoutMs,
      },
      { kind: plan.kind, idempotencyKey, body },
      { inFlight, stopped: () => stopped },
    );

  async function loop(plan: WorkerPlan): Promise<void> {
    let retry: { idempotencyKey: string; body: string | undefined } | undefined;
    for (let n = 0; n < maxPerLoop && !stopped && Date.now() < deadlineMs; n++) {
      // A new idempotency key per logical create; a retry after a 429 or a lost answer reuses it.
      const { idempotencyKey, body } = retry ?? {
        idempotencyKey: randomUUID(),
        body: plan.kind === 'write' ? createBody() : undefined,
      };
      const outcome = await send(plan, idempotencyKey, body);
      retry = outcome.status === 429 || outcome.status === 0 ? { idempotencyKey, body } : undefined;
      if (outcome.aborted) return;
      samples.push({
        atMs: Date.now() - startedAtMs,
        callerId: plan.callerId,
        kind: plan.kind,
        status: outcome.status,
        forwarded: outcome.forwarded,
        ...(outcome.queueWaitMs !== undefined ? { queueWaitMs: outcome.queueWaitMs } : {}),
      });
      if (outcome.status === 429) {
        const retryAfterMs = Math.min(MAX_RETRY_AFTER_MS, (outcome.retryAfterSec ?? 1) * 1000);
        await pause(retryAfterMs * (1 + Math.random() * 0.1));
      } else if (outcome.status === 0 || outcome.status >= 500) {
        await pause(ERROR_BACKOFF_MS);
      }
    }
  }

  const cutAtEndByKind: Record<RequestKind, number> = { read: 0, write: 0 };
  const stopAt = setTimeout(() => {
    stopped = true;
    for (const kind of inFlight.values()) cutAtEndByKind[kind] += 1;
    for (const wake of [...sleepers]) wake();
    for (const req of [...inFlight.keys()]) req.destroy();
  }, settings.durationMs);
  const loops = settings.workers.map(loop);
  settings.onStart?.(startedAtMs);
  await Promise.all(loops);
  clearTimeout(stopAt);
  stopped = true;
  agent.destroy();
  return {
    startedAtMs,
    endedAtMs: Date.now(),
    samples,
    cutAtEnd: cutAtEndByKind.read + cutAtEndByKind.write,
    cutAtEndByKind,
  };
}

/** One call; while it is open it sits in `inFlight`, so that the phase's end can cut it and count it. */
function sendCall(
  target: { port: number; agent: http.Agent; token: string; timeoutMs: number },
  call: { kind: RequestKind; idempotencyKey: string; body: string | undefined },
  track: { inFlight: Map<http.ClientRequest, RequestKind>; stopped: () => boolean },
): Promise<Outcome> {
  return new Promise((resolve) => {
    const { body } = call;
    const headers: Record<string, string | number> = { authorization: `Bearer ${target.token}` };
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = Buffer.byteLength(body);
      headers['idempotency-key'] = call.idempotencyKey;
    }
    let settled = false;
    const settle = (outcome: Outcome) => {
      if (settled) return;
      settled = true;
      track.inFlight.delete(req);
      resolve(outcome);
    };
    const req = http.request(
      {
        host: '127.0.0.1',
        port: target.port,
        method: call.kind === 'read' ? 'GET' : 'POST',
        path: call.kind === 'read' ? READ_PATH : WRITE_PATH,
        headers,
        agent: target.agent,
      },
      (res) => {
        res.resume();
        res.on('end', () => {
          const wait = res.headers['x-queue-wait-ms'];
          const retryAfter = Number(res.headers['retry-after']);
          settle({
            status: res.statusCode ?? 0,
            forwarded: res.headers[RATE_HEADER] !== undefined,
            queueWaitMs: typeof wait === 'string' ? Number(wait) : undefined,
            retryAfterSec: Number.isFinite(retryAfter) ? retryAfter : undefined,
            aborted: false,
          });
        });
        res.on('error', () => settle({ status: 0, forwarded: false, aborted: track.stopped() }));
      },
    );
    track.inFlight.set(req, call.kind);
    req.setTimeout(target.timeoutMs, () => req.destroy(new Error('timeout')));
    req.on('error', () => settle({ status: 0, forwarded: false, aborted: track.stopped() }));
    req.end(body);
  });
}
