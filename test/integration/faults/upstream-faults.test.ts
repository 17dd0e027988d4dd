/**
 * Upstream faults under concurrent mixed traffic (reads, keyed creates, power actions from five
 * callers on two upstream keys), through one real gateway in front of the real sandbox:
 *
 * - injected 500s are the upstream's answer, relayed once, never retried;
 * - dropped connections (the operation performed, then the socket destroyed) are retried for reads
 *   and keyed creates, each attempt on a schedule slot; 502 only when every attempt dropped; power
 *   actions are sent once; no create is ever performed twice;
 * - an upstream slower than `upstream.timeoutMs` → 504 UPSTREAM_TIMEOUT in time, not retried;
 * - everything at once: every caller gets an answer in the envelope within a bound;
 * - response bodies that are slow, cut by the upstream or abandoned by the caller (a small upstream
 *   of our own: the sandbox's `slow` fault delays the headers too);
 *
 * and afterwards the referee shows no duplicate create and the gateway is healthy.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { seededRandom } from '../../../src/sandbox';
import { sumMetric } from '../../helpers/fleet-harness';
import {
  createBody,
  OWNER_KEY,
  startGatewayHarness,
  type AccessLine,
  type GatewayHarness,
} from '../../helpers/gateway-harness';
import {
  AccessLog,
  envelopeProblem,
  NO_FAULTS_PATCH,
  runTraffic,
  setFaults,
  sum,
  tally,
  type Answer,
  type Kind,
  type Send,
  type Worker,
} from './fault-traffic';

const UPSTREAM_TIMEOUT_MS = 600;
/** The sandbox's own 500 message: proof that the answer is the upstream's, not the gateway's. */
const SANDBOX_500_MESSAGE = 'An unexpected error occurred.';

/** Five callers, two upstream keys (`main`: operator, operator-b and the two services; `members`: reader). */
const MIXED: readonly Worker[] = [
  { caller: 'operator', kind: 'read', count: 12 },
  { caller: 'operator-b', kind: 'read', count: 12 },
  { caller: 'reader', kind: 'read', count: 12 },
  { caller: 'reader', kind: 'read', count: 12 },
  { caller: 'operator', kind: 'create', count: 8 },
  { caller: 'operator-b', kind: 'create', count: 8 },
  { caller: 'svc-computes-create', kind: 'create', count: 8 },
  { caller: 'operator', kind: 'power', count: 10 },
  { caller: 'svc-computes-power', kind: 'power', count: 10 },
];
const REQUESTS = sum(MIXED.map((w) => w.count));
const CREATES = sum(MIXED.filter((w) => w.kind === 'create').map((w) => w.count));

/** What each run leaves, for the last test and the figures. */
const duplicatesSeen: number[] = [];
const figures: string[] = [];

describe('sandbox faults under mixed load', () => {
  let h: GatewayHarness;
  let log: AccessLog;
  let send: Send;
  let runs = 0;

  beforeAll(async () => {
    h = await startGatewayHarness({
      // Seeded faults; the sandbox's rate limits out of the way (the gateway's schedule is loose too).
      sandbox: { random: seededRandom(20_261_128), limits: { readPerSecond: 100_000, writePerSecond: 100_000 } },
      upstream: { timeoutMs: UPSTREAM_TIMEOUT_MS },
      drainMs: 3000,
    });
    log = new AccessLog(h.logLines);
    const tokens = new Map<string, string>();
    const tokenOf = (caller: string): string => {
      if (!tokens.has(caller)) tokens.set(caller, h.mint(caller, { lifetimeSec: 600 }));
      return tokens.get(caller)!;
    };
    send = (caller, method, target, o) =>
      h.request(method, target, {
        headers: { authorization: `Bearer ${tokenOf(caller)}`, ...o.headers },
        ...(o.body !== undefined ? { body: o.body } : {}),
      });
  });
  afterAll(() => h.close());

  interface Baseline {
    computeIds: string[];
    upstreamRequests: number;
    createsPerformed: number;
    slotsGranted: number;
    retries: number;
  }

  const upstreamRequests = (): number =>
    sum(Object.values(h.stats().keys).map((k) => k.classes.read.admitted + k.classes.write.admitted));
  const createsPerformed = (): number => sum(Object.values(h.stats().keys).map((k) => k.createsPerformed));
  const slotsGranted = (): number => {
    const { granted } = h.gateway.schedule.stats();
    return granted.memory + granted.shared + granted.fallback;
  };
  const retriesCounted = async (): Promise<number> =>
    sumMetric(await h.metricsText(), 'strettch_gateway_upstream_retries_total');

  /** A clean sandbox with four running computes for the power actions, and the counters before the run. */
  async function baseline(): Promise<Baseline> {
    h.resetUpstream();
    runs += 1;
    const computeIds: string[] = [];
    for (let i = 0; i < 4; i += 1) {
      const created = await send('operator', 'POST', '/api/v1/computes', {
        headers: { 'content-type': 'application/json', 'idempotency-key': crypto.randomUUID() },
        body: createBody(`power-${runs}-${i}`),
      });
      expect(created.status).toBe(202);
      computeIds.push(String(created.body.data.id));
    }
    return {
      computeIds,
      upstreamRequests: upstreamRequests(),
      createsPerformed: createsPerformed(),
      slotsGranted: slotsGranted(),
      retries: await retriesCounted(),
    };
  }

  interface Run {
    answers: Answer[];
    lines: AccessLine[];
    attempts: number[];
    upstreamRequests: number;
    createsPerformed: number;
    slotsGranted: number;
    retries: number;
  }

  /** What the run did, by the gateway's access lines, the referee and the gateway's counters. */
  async function observe(base: Baseline, answers: Answer[]): Promise<Run> {
    await setFaults(h.sandbox.url, NO_FAULTS_PATCH);
    expect(answers.map(envelopeProblem).filter((p) => p !== undefined)).toEqual([]);
    expect(answers).toHaveLength(REQUESTS);
    const lines = await log.lines(answers.map((a) => a.requestId));
    expect(lines.map((l) => l.status)).toEqual(answers.map((a) => a.status));
    duplicatesSeen.push(h.stats().duplicateCreates.total);
    return {
      answers,
      lines,
      attempts: lines.map((l) => Number(l.attempts ?? 0)),
      upstreamRequests: upstreamRequests() - base.upstreamRequests,
      createsPerformed: createsPerformed() - base.createsPerformed,
      slotsGranted: slotsGranted() - base.slotsGranted,
      retries: (await retriesCounted()) - base.retries,
    };
  }

  /** Every status seen for each kind of request is one of `allowed[kind]`. */
  function expectStatuses(answers: readonly Answer[], allowed: Record<Kind, number[]>): void {
    const odd = answers
      .filter((a) => !allowed[a.kind].includes(a.status))
      .map((a) => `${a.kind} ${a.method} ${a.target} → ${a.status} ${JSON.stringify(a.body)}`);
    expect(odd).toEqual([]);
  }

  /** Every create the upstream performed is one request's, once: host names are unique per request. */
  async function expectEachCreateOnce(run: Run): Promise<void> {
    expect(h.stats().duplicateCreates).toEqual({ total: 0, byKey: {} });
    const listed = await h.request('GET', '/api/v1/computes?limit=100', {
      port: h.sandbox.port,
      headers: { authorization: `Bearer ${OWNER_KEY.key}` },
    });
    expect(listed.status).toBe(200);
    const idsByHost = new Map<string, string[]>();
    for (const c of listed.body.data as { id: string | number; hostName: string }[])
      idsByHost.set(c.hostName, [...(idsByHost.get(c.hostName) ?? []), String(c.id)]);
    expect([...idsByHost.values()].filter((ids) => ids.length > 1)).toEqual([]);
    for (const a of run.answers.filter((x) => x.kind === 'create' && x.status === 202))
      expect(idsByHost.get(a.hostName!)).toEqual([String(a.body.data.id)]);
  }

  it('injected 500s: each is the upstream’s own answer, relayed once and never retried', async () => {
    const base = await baseline();
    await setFaults(h.sandbox.url, { errorRate: 0.25 });
    const run = await observe(base, await runTraffic(send, MIXED, { computeIds: base.computeIds, tag: 'e' }));
    const faults = h.stats().faultsInjected;
    const errors = run.answers.filter((a) => a.status === 500);
    figures.push(
      `500s: ${REQUESTS} requests, ${faults.error} injected errors, ${errors.length} relayed 500s, ${run.retries} retries; ${JSON.stringify(tally(run.answers))}`,
    );

    expectStatuses(run.answers, { read: [200, 500], create: [202, 500], power: [202, 409, 500] });
    expect(errors.length).toBeGreaterThan(5);
    expect(errors.length).toBe(faults.error);
    for (const a of errors)
      expect(a.body).toMatchObject({ success: false, code: 'INTERNAL_SERVER_ERROR', message: SANDBOX_500_MESSAGE });
    for (const [i, a] of run.answers.entries())
      if (a.status === 500) expect(run.lines[i]).toMatchObject({ upstreamStatus: 500, attempts: 1 });
    // Nothing retried: one attempt, one slot and one upstream request per caller request.
    expect(run.attempts.every((n) => n === 1)).toBe(true);
    expect([run.upstreamRequests, run.slotsGranted, run.retries]).toEqual([REQUESTS, REQUESTS, 0]);
    // An errored create performs nothing; every accepted one was performed once.
    expect(run.createsPerformed).toBe(run.answers.filter((a) => a.kind === 'create' && a.status === 202).length);
    await expectEachCreateOnce(run);
  });

  it('dropped connections: reads and keyed creates retried on a slot each, 502 only when every attempt dropped; power actions sent once', async () => {
    const base = await baseline();
    await setFaults(h.sandbox.url, { dropRate: 0.3 });
    const run = await observe(base, await runTraffic(send, MIXED, { computeIds: base.computeIds, tag: 'd' }));
    const faults = h.stats().faultsInjected;
    const failed = run.answers.filter((a) => a.status === 502);
    const answeredUpstream = run.answers.length - failed.length;
    const totalAttempts = sum(run.attempts);
    figures.push(
      `drops: ${REQUESTS} requests, ${faults.drop} dropped connections, ${totalAttempts} attempts, ${run.retries} retries, ` +
        `${run.answers.filter((a, i) => a.status < 300 && run.attempts[i]! > 1).length} answers rescued by a retry, ${failed.length} 502s; ${JSON.stringify(tally(run.answers))}`,
    );

    expectStatuses(run.answers, { read: [200, 502], create: [202, 502], power: [202, 409, 502] });
    for (const [i, a] of run.answers.entries()) {
      const attempts = run.attempts[i]!;
      if (a.kind === 'power') expect(attempts).toBe(1);
      else expect(attempts).toBeGreaterThanOrEqual(1);
      expect(attempts).toBeLessThanOrEqual(3);
      if (a.status === 502) {
        expect(a.body.code).toBe('UPSTREAM_UNAVAILABLE');
        expect(String(run.lines[i]!.reason)).toMatch(/^upstream-/);
        // Repeatable requests give up only after the third dropped attempt (the deadline leaves room).
        expect(attempts).toBe(a.kind === 'power' ? 1 : 3);
      }
    }
    expect(run.answers.some((a, i) => a.kind === 'read' && a.status === 200 && run.attempts[i]! > 1)).toBe(true);
    expect(run.answers.some((a, i) => a.kind === 'create' && a.status === 202 && run.attempts[i]! > 1)).toBe(true);
    // Each attempt reached the upstream on a slot of its own; each unanswered one was a drop.
    expect(run.upstreamRequests).toBe(totalAttempts);
    expect(run.slotsGranted).toBe(totalAttempts);
    expect(run.retries).toBe(totalAttempts - REQUESTS);
    expect(faults.drop).toBe(totalAttempts - answeredUpstream);
    expect(faults.drop).toBeGreaterThan(10);
    // A dropped create was performed before the drop; its retries are replays: every create once.
    expect(run.createsPerformed).toBe(CREATES);
    await expectEachCreateOnce(run);
  });

  it('an upstream slower than upstream.timeoutMs → 504 UPSTREAM_TIMEOUT in time, not retried', async () => {
    const base = await baseline();
    await setFaults(h.sandbox.url, { slowRate: 0.25, slowMs: 4 * UPSTREAM_TIMEOUT_MS });
    const run = await observe(base, await runTraffic(send, MIXED, { computeIds: base.computeIds, tag: 's' }));
    const faults = h.stats().faultsInjected;
    const timedOut = run.answers.filter((a) => a.status === 504);
    const durations = timedOut.map((a) => a.endMs - a.startMs);
    figures.push(
      `timeouts: ${REQUESTS} requests, ${faults.slow} slowed by ${4 * UPSTREAM_TIMEOUT_MS} ms, ${timedOut.length} 504s after ${Math.min(...durations)}–${Math.max(...durations)} ms ` +
        `(timeout ${UPSTREAM_TIMEOUT_MS} ms), ${run.retries} retries; ${JSON.stringify(tally(run.answers))}`,
    );

    expectStatuses(run.answers, { read: [200, 504], create: [202, 504], power: [202, 409, 504] });
    expect(timedOut.length).toBeGreaterThan(5);
    expect(timedOut.length).toBe(faults.slow);
    for (const [i, a] of run.answers.entries()) {
      if (a.status !== 504) continue;
      expect(a.body.code).toBe('UPSTREAM_TIMEOUT');
      expect(run.lines[i]).toMatchObject({ attempts: 1, reason: 'upstream-timeout' });
    }
    expect(Math.min(...durations)).toBeGreaterThanOrEqual(UPSTREAM_TIMEOUT_MS - 20);
    expect(Math.max(...durations)).toBeLessThan(UPSTREAM_TIMEOUT_MS + 1500);
    expect([run.upstreamRequests, run.slotsGranted, run.retries]).toEqual([REQUESTS, REQUESTS, 0]);
    // A slow create was performed (its answer was late, not lost) and not sent again.
    expect(run.createsPerformed).toBe(CREATES);
    await expectEachCreateOnce(run);
  });

  it('every fault at once, with latency: every caller gets an answer in the envelope, within a bound', async () => {
    const base = await baseline();
    const slowMs = 3 * UPSTREAM_TIMEOUT_MS;
    await setFaults(h.sandbox.url, {
      errorRate: 0.1,
      dropRate: 0.15,
      slowRate: 0.1,
      slowMs,
      latencyMs: 30,
      jitterMs: 40,
    });
    const run = await observe(base, await runTraffic(send, MIXED, { computeIds: base.computeIds, tag: 'a' }));
    const faults = h.stats().faultsInjected;
    const longestMs = Math.max(...run.answers.map((a) => a.endMs - a.startMs));
    figures.push(
      `all faults: ${REQUESTS} requests, injected ${JSON.stringify(faults)}, ${sum(run.attempts)} attempts, longest answer ${longestMs} ms; ${JSON.stringify(tally(run.answers))}`,
    );

    expectStatuses(run.answers, {
      read: [200, 500, 502, 504],
      create: [202, 500, 502, 504],
      power: [202, 409, 500, 502, 504],
    });
    // Three attempts at most, each bounded by the upstream timeout, plus backoff: nobody hangs.
    expect(longestMs).toBeLessThan(3 * (UPSTREAM_TIMEOUT_MS + 70) + 1500);
    for (const [i, a] of run.answers.entries()) if (a.kind === 'power') expect(run.attempts[i]).toBe(1);
    // Every slowed response timed out (slow beats error and drop); nothing else did.
    expect(run.answers.filter((a) => a.status === 504).length).toBe(faults.slow);
    expect(run.answers.filter((a) => a.status === 500).length).toBeLessThanOrEqual(faults.error);
    expect(run.upstreamRequests).toBe(sum(run.attempts));
    expect(run.slotsGranted).toBe(sum(run.attempts));
    expect(run.retries).toBe(sum(run.attempts) - REQUESTS);
    await expectEachCreateOnce(run);
  });

  it('afterwards: no duplicate create in any run, /readyz and /metrics answer, a clean request succeeds', async () => {
    expect(duplicatesSeen).toEqual([0, 0, 0, 0]);
    const adminPort = Number(new URL(h.gateway.adminUrl).port);
    const ready = await h.request('GET', '/readyz', { port: adminPort });
    expect([ready.status, ready.body]).toEqual([
      200,
      { status: 'ready', checks: { policy: 'loaded', schedule: 'memory' } },
    ]);
    const metrics = await h.metricsText();
    expect(sumMetric(metrics, 'strettch_gateway_requests_total', { status_class: '5xx' })).toBeGreaterThan(0);
    expect(sumMetric(metrics, 'strettch_gateway_upstream_retries_total', { reason: 'connection' })).toBeGreaterThan(0);
    expect(sumMetric(metrics, 'strettch_gateway_upstream_retries_total', { reason: 'status-500' })).toBe(0);
    expect((await send('reader', 'GET', '/api/v1/regions', {})).status).toBe(200);
    console.log(`upstream faults under mixed load (${MIXED.length} workers, 5 callers):\n  ${figures.join('\n  ')}`);
  });
});

// ---- response bodies: a small upstream of our own ----------------------------------------------

/** Response bodies the upstream sends slowly, cuts, or stalls; the path picks one. */
const BODY_CHUNKS = 6;
const CHUNK_EVERY_MS = 100;
const BODY_TIMEOUT_MS = 300;
/** The body in BODY_CHUNKS + 1 writes: the opening with the first element, each further element, the closing. */
const BODY_PARTS: readonly string[] = [
  ...Array.from(
    { length: BODY_CHUNKS },
    (_, i) => `${i === 0 ? '{"success":true,"message":"ok","data":[' : ','}{"n":${i},"pad":"${'x'.repeat(200)}"}`,
  ),
  '],"requestId":"slow","timestamp":"t"}',
];
const FULL_BODY = BODY_PARTS.join('');

interface SlowUpstream {
  url: string;
  hits: Map<string, number>;
  /** Responses started and neither finished nor closed. */
  active(): number;
  /** Ends the responses held by the `stall` route. */
  releaseStalled(): void;
  close(): Promise<void>;
}

async function startSlowUpstream(): Promise<SlowUpstream> {
  const hits = new Map<string, number>();
  const open = new Set<ServerResponse>();
  const stalled = new Set<ServerResponse>();
  const dribble = (res: ServerResponse, parts: readonly string[], everyMs: number, cutAfter?: number): void => {
    let i = 0;
    const timer = setInterval(() => {
      if (cutAfter !== undefined && i === cutAfter) {
        clearInterval(timer);
        res.socket?.destroy();
        return;
      }
      res.write(parts[i]!);
      i += 1;
      if (i === parts.length) {
        clearInterval(timer);
        res.end();
      }
    }, everyMs);
    res.on('close', () => clearInterval(timer));
  };
  const server = http.createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    const name = (req.url ?? '').replace('/api/v1/', '').split('?')[0]!;
    hits.set(name, (hits.get(name) ?? 0) + 1);
    open.add(res);
    res.on('close', () => open.delete(res));
    const json = { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(FULL_BODY)) };
    switch (name) {
      case 'regions': // headers at once, the body over BODY_CHUNKS × CHUNK_EVERY_MS
        res.writeHead(200, json);
        dribble(res, BODY_PARTS, CHUNK_EVERY_MS);
        return;
      case 'images': // headers and half the body, then the upstream's socket is destroyed
        res.writeHead(200, json);
        dribble(res, BODY_PARTS, CHUNK_EVERY_MS / 2, Math.floor(BODY_CHUNKS / 2));
        return;
      case 'computes/specifications': // a 503 whose body is slower than the upstream timeout
        res.writeHead(503, json);
        dribble(res, BODY_PARTS, (2 * BODY_TIMEOUT_MS) / BODY_CHUNKS);
        return;
      case 'computes': // a long stream, for a caller that hangs up
        res.writeHead(200, { 'content-type': 'application/json' });
        dribble(
          res,
          Array.from({ length: 40 }, () => ' '),
          CHUNK_EVERY_MS,
        );
        return;
      default: // (`computes/<id>`) headers and a first part, then nothing until released
        res.writeHead(200, json);
        res.write(BODY_PARTS[0]!);
        stalled.add(res);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1`,
    hits,
    active: () => open.size,
    releaseStalled() {
      for (const res of stalled) res.socket?.destroy();
      stalled.clear();
    },
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

interface StreamedReply {
  status: number;
  declaredBytes?: number;
  body: string;
  /** 'end': the whole body arrived; 'aborted': the response was cut; 'error': no response at all; 'gave-up': still open
   * after `giveUpMs`. */
  ending: 'end' | 'aborted' | 'error' | 'gave-up';
  requestId: string;
  elapsedMs: number;
}

/** A GET through the gateway that records how the response ends, not only what it says. */
function streamGet(
  port: number,
  target: string,
  token: string,
  options: { hangUpAfterFirstChunk?: boolean; giveUpMs?: number } = {},
): Promise<StreamedReply> {
  const startedMs = Date.now();
  return new Promise((resolve) => {
    let status = 0;
    let body = '';
    let requestId = '';
    let declaredBytes: number | undefined;
    let settled = false;
    const settle = (ending: StreamedReply['ending']) => {
      if (settled) return;
      settled = true;
      resolve({
        status,
        body,
        ending,
        requestId,
        elapsedMs: Date.now() - startedMs,
        ...(declaredBytes !== undefined ? { declaredBytes } : {}),
      });
    };
    const req = http.get(
      { host: '127.0.0.1', port, path: target, headers: { authorization: `Bearer ${token}` }, agent: false },
      (res) => {
        status = res.statusCode ?? 0;
        requestId = String(res.headers['x-request-id'] ?? '');
        if (res.headers['content-length'] !== undefined) declaredBytes = Number(res.headers['content-length']);
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
          if (options.hangUpAfterFirstChunk) {
            req.destroy();
            settle('aborted');
          }
        });
        res.on('end', () => settle(res.complete ? 'end' : 'aborted'));
        res.on('aborted', () => settle('aborted'));
        res.on('error', () => settle('aborted'));
        res.on('close', () => settle(res.complete ? 'end' : 'aborted'));
      },
    );
    req.on('error', () => settle(status === 0 ? 'error' : 'aborted'));
    if (options.giveUpMs !== undefined) {
      const timer = setTimeout(() => {
        settle('gave-up');
        req.destroy();
      }, options.giveUpMs);
      req.on('close', () => clearTimeout(timer));
    }
  });
}

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<number> {
  const startedMs = Date.now();
  while (!condition()) {
    if (Date.now() - startedMs > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return Date.now() - startedMs;
}

describe('response bodies that are slow, cut or abandoned', () => {
  let upstream: SlowUpstream;
  let h: GatewayHarness;
  let log: AccessLog;
  let port: number;
  let token: string;

  beforeAll(async () => {
    upstream = await startSlowUpstream();
    h = await startGatewayHarness({ upstream: { baseUrl: upstream.url, timeoutMs: BODY_TIMEOUT_MS }, drainMs: 2000 });
    log = new AccessLog(h.logLines);
    port = Number(new URL(h.gateway.url).port);
    token = h.mint('operator', { lifetimeSec: 600 });
  });
  afterAll(async () => {
    upstream.releaseStalled();
    await h.close();
    await upstream.close();
  });

  it('headers fast, body slower than upstream.timeoutMs: ten callers at once each get the whole body, byte for byte', async () => {
    const replies = await Promise.all(Array.from({ length: 10 }, () => streamGet(port, '/api/v1/regions', token)));
    for (const reply of replies) {
      expect([reply.status, reply.ending, reply.body]).toEqual([200, 'end', FULL_BODY]);
      // The timeout bounds the wait for the headers only; this body took twice as long.
      expect(reply.elapsedMs).toBeGreaterThanOrEqual(BODY_CHUNKS * CHUNK_EVERY_MS - 50);
    }
    for (const line of await log.lines(replies.map((r) => r.requestId)))
      expect(line).toMatchObject({ status: 200, upstreamStatus: 200, attempts: 1, completed: true });
  });

  it('the upstream cuts the body: the caller’s response is cut too (never a complete-looking one), logged as incomplete; others are served meanwhile', async () => {
    const [cut, whole] = await Promise.all([
      Promise.all(Array.from({ length: 5 }, () => streamGet(port, '/api/v1/images', token))),
      Promise.all(Array.from({ length: 5 }, () => streamGet(port, '/api/v1/regions', token))),
    ]);
    for (const reply of cut) {
      expect([reply.status, reply.ending]).toEqual([200, 'aborted']);
      expect(reply.declaredBytes).toBe(Buffer.byteLength(FULL_BODY));
      expect(Buffer.byteLength(reply.body)).toBeLessThan(reply.declaredBytes!);
      expect(reply.elapsedMs).toBeLessThan(2000);
    }
    for (const reply of whole) expect([reply.status, reply.ending, reply.body]).toEqual([200, 'end', FULL_BODY]);
    for (const line of await log.lines(cut.map((r) => r.requestId)))
      expect(line).toMatchObject({ upstreamStatus: 200, completed: false });
    // The gateway is unharmed: the next request is answered in full.
    expect(await streamGet(port, '/api/v1/regions', token)).toMatchObject({
      status: 200,
      ending: 'end',
      body: FULL_BODY,
    });
  });

  // A captured answer that outlasts the timeout is a timeout, not a dropped connection (no retry).
  it('a 503 whose body is slower than upstream.timeoutMs → 504 UPSTREAM_TIMEOUT, in time, not retried', async () => {
    const before = upstream.hits.get('computes/specifications') ?? 0;
    const replies = await Promise.all(
      Array.from({ length: 4 }, () => streamGet(port, '/api/v1/computes/specifications', token)),
    );
    for (const reply of replies) {
      expect([reply.status, reply.ending, JSON.parse(reply.body).code]).toEqual([504, 'end', 'UPSTREAM_TIMEOUT']);
      expect(reply.elapsedMs).toBeGreaterThanOrEqual(BODY_TIMEOUT_MS - 20);
      expect(reply.elapsedMs).toBeLessThan(BODY_TIMEOUT_MS + 1000);
    }
    expect((upstream.hits.get('computes/specifications') ?? 0) - before).toBe(4);
    for (const line of await log.lines(replies.map((r) => r.requestId)))
      expect(line).toMatchObject({ status: 504, upstreamStatus: 503, attempts: 1, reason: 'upstream-timeout' });
  });

  it('a caller that hangs up mid-body: the gateway closes the upstream response too, at once', async () => {
    await waitFor(() => upstream.active() === 0, 2000);
    const replies = await Promise.all(
      Array.from({ length: 5 }, () => streamGet(port, '/api/v1/computes', token, { hangUpAfterFirstChunk: true })),
    );
    for (const reply of replies) expect([reply.status, reply.ending]).toEqual([200, 'aborted']);
    // The stream would run 4 s; nothing of it is left streaming to nobody.
    const closedMs = await waitFor(() => upstream.active() === 0, 1000);
    figures.push(`bodies: upstream responses closed ${closedMs} ms after 5 callers hung up mid-body`);
    for (const line of await log.lines(replies.map((r) => r.requestId)))
      expect(line).toMatchObject({ upstreamStatus: 200, completed: false });
  });

  // upstream.timeoutMs bounds silence mid-body too, not only the wait for the response headers.
  it('an upstream that stalls mid-body is cut by the gateway within upstream.timeoutMs of silence', async () => {
    const reply = await streamGet(port, '/api/v1/computes/7', token, { giveUpMs: 3000 });
    expect([reply.status, reply.ending]).toEqual([200, 'aborted']);
    expect(reply.elapsedMs).toBeLessThan(BODY_TIMEOUT_MS + 1000);
  });

  it('afterwards: nothing left streaming, the gateway closes at once (no request held)', async () => {
    await waitFor(() => upstream.active() === 0, 1000);
    const adminPort = Number(new URL(h.gateway.adminUrl).port);
    expect((await h.request('GET', '/readyz', { port: adminPort })).status).toBe(200);
    const startedMs = Date.now();
    await h.closeGateway();
    expect(Date.now() - startedMs).toBeLessThan(500);
    console.log(figures.filter((f) => f.startsWith('bodies')).join('\n'));
  });
});
