/**
 * The open-loop load: request n is due at n ÷ rate seconds after the start, whatever happened to
 * the requests before it, so a slow answer cannot hold the next requests back and hide itself (no
 * coordinated omission). Latency is measured from when the request was due, not from when it left.
 * Keep-alive connections to 127.0.0.1; at most `maxInFlight` requests open: one due while full is
 * not sent, and counts as a client error (`max-in-flight`). Each request is bounded by a timeout.
 * Results are kept in typed arrays, one slot per request, so the generator's own memory stays flat.
 *
 * Hand-written: npm's load generators are closed loops (autocannon's `overallRate` paces connections
 * that wait for their answers), which is exactly the coordinated omission an open loop exists to avoid;
 * the open-loop tools (wrk2, k6's arrival-rate executors) are not Node libraries. Each request also
 * carries an intent from the soak's mix, which its classification needs.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { loopbackUrl } from '../fleet/http-json';
import { classifyResponse, FAULT_SIGNS, isExpected, KINDS, type ResponseFacts, type ResponseKind } from './classify';
import { INTENTS, intentCycle, requestFor, type Credentials, type Intent } from './mix';

export interface OpenLoopSettings {
  /** `http://127.0.0.1:<port>`: the gateway, or the sandbox for the baseline. */
  origin: string;
  ratePerSec: number;
  durationMs: number;
  maxInFlight: number;
  requestTimeoutMs: number;
  credentials: Credentials;
  /** Request ids are `<prefix>-<n>`, so a response can be found in the gateway's log. */
  requestIdPrefix: string;
}

/** A response worth looking at: unexpected, or not what its intent should get. */
export interface Example {
  n: number;
  /** Seconds since the start, when it was due. */
  dueSec: number;
  intent: Intent;
  kind: ResponseKind;
  status: number;
  code?: string;
  reason?: string;
  requestId: string;
}

export interface OpenLoopRecord {
  ratePerSec: number;
  /** Request n carried X-Request-Id `<requestIdPrefix>-<n>`. */
  requestIdPrefix: string;
  /** Requests due in the run (every one is accounted for below). */
  count: number;
  /** Indexes into INTENTS, KINDS, and 1 + index into FAULT_SIGNS (0: none). */
  intent: Uint8Array;
  kind: Uint8Array;
  faultSign: Uint8Array;
  status: Uint16Array;
  /** From due to the end of the response; NaN when there was none. */
  latencyMs: Float32Array;
  /** When the response ended, ms since the start; NaN when there was none. */
  doneAtMs: Float32Array;
  /** How late each request left after it was due (the generator's own lag); NaN when not sent. */
  sendLagMs: Float32Array;
  /** Client errors by reason (`ECONNRESET`, `timeout`, `max-in-flight`, …). */
  clientErrors: Record<string, number>;
  /** Unexpected or mismatched responses by `intent → kind status code (reason)`. */
  unexpectedResponses: Record<string, number>;
  /** A few of each of those. */
  examples: Example[];
  maxInFlightSeen: number;
  /** From the start to the end of the last response. */
  elapsedMs: number;
}

export interface OpenLoopProgress {
  elapsedMs: number;
  sent: number;
  answered: number;
  inFlight: number;
  /** Fault-shaped or not, before reconciliation with the referee. */
  fiveXx: number;
  unexpected: number;
}

export interface OpenLoop {
  /** performance.now() at the start: request n is due at startMs + n × 1000 ÷ rate. */
  readonly startMs: number;
  progress(): OpenLoopProgress;
  readonly done: Promise<OpenLoopRecord>;
}

const MAX_EXAMPLES = 40;
const MAX_EXAMPLES_PER_CATEGORY = 3;
const MAX_ERROR_BODY_BYTES = 4096;
const KIND_INDEX = new Map(KINDS.map((k, i) => [k, i]));
const INTENT_INDEX = new Map(INTENTS.map((k, i) => [k, i]));

export function startOpenLoop(settings: OpenLoopSettings): OpenLoop {
  const port = Number(loopbackUrl(settings.origin).port);
  const count = Math.max(1, Math.round((settings.ratePerSec * settings.durationMs) / 1000));
  const intervalMs = 1000 / settings.ratePerSec;
  const cycle = intentCycle();
  const ordinals = new Map<Intent, number>(INTENTS.map((i) => [i, 0]));
  const record = emptyRecord(settings, count);
  const agent = new http.Agent({ keepAlive: true, maxSockets: settings.maxInFlight });
  const startMs = performance.now();
  let next = 0;
  let finished = 0;
  let inFlight = 0;
  let sent = 0;
  let answered = 0;
  let fiveXx = 0;
  let unexpected = 0;
  let resolveDone!: (r: OpenLoopRecord) => void;
  const done = new Promise<OpenLoopRecord>((resolve) => (resolveDone = resolve));

  const finish = (n: number, intent: Intent, facts: Settled) => {
    const now = performance.now();
    const { kind, faultSign } = classifyResponse(facts);
    record.kind[n] = KIND_INDEX.get(kind)!;
    record.faultSign[n] = faultSign === undefined ? 0 : FAULT_SIGNS.indexOf(faultSign) + 1;
    record.status[n] = facts.status;
    if (facts.status > 0) {
      answered++;
      record.latencyMs[n] = now - (startMs + n * intervalMs);
      record.doneAtMs[n] = now - startMs;
    } else {
      const reason = facts.reason ?? 'unknown';
      record.clientErrors[reason] = (record.clientErrors[reason] ?? 0) + 1;
    }
    if (facts.status >= 500) fiveXx++;
    const odd =
      !isExpected(intent, kind) || kind === 'unexpected-5xx' || kind === 'unexpected-status' || kind === 'client-error';
    if (odd) {
      unexpected++;
      noteUnexpected(record, { n, dueSec: Math.round(n * intervalMs) / 1000, intent, kind }, facts);
    }
    finished++;
    if (finished === count) {
      agent.destroy();
      record.elapsedMs = performance.now() - startMs;
      resolveDone(record);
    }
  };

  const send = (n: number) => {
    const intent = cycle[n % cycle.length]!;
    record.intent[n] = INTENT_INDEX.get(intent)!;
    if (inFlight >= settings.maxInFlight) {
      finish(n, intent, { status: 0, fromUpstream: false, reason: 'max-in-flight' });
      return;
    }
    const ordinal = ordinals.get(intent)!;
    ordinals.set(intent, ordinal + 1);
    const spec = requestFor(intent, ordinal, settings.credentials);
    const headers: Record<string, string | number> = { 'x-request-id': `${settings.requestIdPrefix}-${n}` };
    if (spec.authorization !== undefined) headers.authorization = spec.authorization;
    if (spec.body !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = Buffer.byteLength(spec.body);
      headers['idempotency-key'] = randomUUID();
    }
    inFlight++;
    sent++;
    record.maxInFlightSeen = Math.max(record.maxInFlightSeen, inFlight);
    record.sendLagMs[n] = performance.now() - (startMs + n * intervalMs);
    let settled = false;
    sendRequest({ port, agent, spec, headers, timeoutMs: settings.requestTimeoutMs }, (facts) => {
      if (settled) return;
      settled = true;
      inFlight--;
      finish(n, intent, facts);
    });
  };

  // Sends every request that is due, then sleeps until the next one is.
  const pump = () => {
    const due = Math.min(count, Math.floor((performance.now() - startMs) / intervalMs) + 1);
    while (next < due) send(next++);
    if (next < count) setTimeout(pump, Math.max(1, startMs + next * intervalMs - performance.now()));
  };
  pump();

  return {
    startMs,
    progress: () => ({ elapsedMs: performance.now() - startMs, sent, answered, inFlight, fiveXx, unexpected }),
    done,
  };
}

/** What classification needs, and why there was no answer when there was none. */
type Settled = ResponseFacts & { reason?: string };

function emptyRecord(settings: OpenLoopSettings, count: number): OpenLoopRecord {
  return {
    ratePerSec: settings.ratePerSec,
    requestIdPrefix: settings.requestIdPrefix,
    count,
    intent: new Uint8Array(count),
    kind: new Uint8Array(count),
    faultSign: new Uint8Array(count),
    status: new Uint16Array(count),
    latencyMs: new Float32Array(count).fill(Number.NaN),
    doneAtMs: new Float32Array(count).fill(Number.NaN),
    sendLagMs: new Float32Array(count).fill(Number.NaN),
    clientErrors: {},
    unexpectedResponses: {},
    examples: [],
    maxInFlightSeen: 0,
    elapsedMs: 0,
  };
}

/** Counts an unexpected response by category, and keeps the first few of each as examples. */
function noteUnexpected(
  record: OpenLoopRecord,
  request: { n: number; dueSec: number; intent: Intent; kind: ResponseKind },
  facts: Settled,
): void {
  const { n, intent, kind } = request;
  const category = `${intent} → ${kind} ${facts.status}${facts.code === undefined ? '' : ` ${facts.code}`}${facts.reason === undefined ? '' : ` (${facts.reason})`}`;
  const seen = record.unexpectedResponses[category] ?? 0;
  record.unexpectedResponses[category] = seen + 1;
  if (seen < MAX_EXAMPLES_PER_CATEGORY && record.examples.length < MAX_EXAMPLES) {
    record.examples.push({
      ...request,
      status: facts.status,
      ...(facts.code === undefined ? {} : { code: facts.code }),
      ...(facts.reason === undefined ? {} : { reason: facts.reason }),
      requestId: `${record.requestIdPrefix}-${n}`,
    });
  }
}

/**
 * One request; `settle` gets what classification needs: the status (0 when there was no answer, with the
 * reason), whether the upstream's rate-limit headers came through, and an error envelope's code.
 */
function sendRequest(
  request: {
    port: number;
    agent: http.Agent;
    spec: ReturnType<typeof requestFor>;
    headers: Record<string, string | number>;
    timeoutMs: number;
  },
  settle: (facts: Settled) => void,
): void {
  const { spec } = request;
  let timedOut = false;
  const req = http.request(
    {
      host: '127.0.0.1',
      port: request.port,
      method: spec.method,
      path: spec.path,
      headers: request.headers,
      agent: request.agent,
    },
    (res) => {
      const status = res.statusCode ?? 0;
      const fromUpstream =
        res.headers['x-ratelimit-limit-second'] !== undefined || res.headers['x-ratelimit-limit'] !== undefined;
      const chunks: Buffer[] = [];
      let kept = 0;
      if (status >= 400) {
        res.on('data', (chunk: Buffer) => {
          if (kept < MAX_ERROR_BODY_BYTES) chunks.push(chunk);
          kept += chunk.length;
        });
      } else {
        res.resume();
      }
      res.on('end', () =>
        settle({
          status,
          fromUpstream,
          ...(status >= 400 ? { code: envelopeCode(Buffer.concat(chunks).toString('utf8')) } : {}),
        }),
      );
      res.on('error', () => settle({ status: 0, fromUpstream: false, reason: 'response-aborted' }));
    },
  );
  req.setTimeout(request.timeoutMs, () => {
    timedOut = true;
    req.destroy(new Error('timeout'));
  });
  req.on('error', (error: NodeJS.ErrnoException) =>
    settle({ status: 0, fromUpstream: false, reason: timedOut ? 'timeout' : (error.code ?? error.message) }),
  );
  req.end(spec.body);
}

function envelopeCode(text: string): string | undefined {
  try {
    const parsed = JSON.parse(text) as { code?: unknown };
    return typeof parsed.code === 'string' ? parsed.code : undefined;
  } catch {
    return undefined;
  }
}
