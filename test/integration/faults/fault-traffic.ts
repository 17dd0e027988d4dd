/**
 * What the fault suite shares: mixed traffic (reads, keyed creates, power actions) from several
 * callers at once, the sandbox's fault switch over HTTP, the gateway's access lines by request id,
 * and the checks every answer must pass whatever the fault: an answer (never a transport error on
 * the caller's side) in the Strettch envelope, carrying the request's own id.
 */
import { randomUUID } from 'node:crypto';
import http, { type IncomingHttpHeaders } from 'node:http';
import type { FaultPatch } from '../../../src/sandbox';
import { createBody, type AccessLine } from '../../helpers/gateway-harness';

export type Kind = 'read' | 'create' | 'power';

/** Reads that succeed for every caller with `computes:read` and `catalog:read`. */
export const READ_TARGETS = [
  '/api/v1/computes?limit=20',
  '/api/v1/regions',
  '/api/v1/images',
  '/api/v1/computes/specifications',
] as const;
const POWER_ACTIONS = ['reboot', 'stop', 'start'] as const;

export interface SendOptions {
  headers?: Record<string, string>;
  body?: string;
}

export interface SentReply {
  status: number;
  headers: IncomingHttpHeaders;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

/** One request as a caller sends it (through whichever gateway the test chose). */
export type Send = (caller: string, method: string, target: string, options: SendOptions) => Promise<SentReply>;

export interface Answer {
  caller: string;
  kind: Kind;
  method: string;
  target: string;
  /** Creates only: the host name, unique per request, to find the compute it made. */
  hostName?: string;
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  /** `x-request-id` of the answer ('' when there was none). */
  requestId: string;
  /** Set only when the gateway forwarded the request (`x-queue-wait-ms`). */
  forwarded: boolean;
  /** A transport error on the caller's side instead of an answer. */
  error?: string;
  startMs: number;
  endMs: number;
}

export interface Worker {
  caller: string;
  kind: Kind;
  /** Requests, one after the other. */
  count: number;
  /** Extra request headers (`x-max-wait-ms`, say). */
  headers?: Record<string, string>;
  /** Reads only: the targets to cycle through (default READ_TARGETS). */
  targets?: readonly string[];
}

export interface TrafficOptions {
  /** Computes the power workers act on (created beforehand, without faults). */
  computeIds?: readonly string[];
  /** Makes host names unique across runs of one sandbox. */
  tag: string;
  /** Stop starting requests at this instant (ms since the epoch), even before `count`. */
  untilMs?: number;
  /** Pause after an answer the gateway gave itself without forwarding (a 429, a 403…), as a polite client would;
   * default 0. */
  backoffMs?: number;
}

/**
 * Closed-loop workers, all at once: each sends its `count` requests one after the other and
 * records every answer (or transport error). Resolves when every worker is done.
 */
export async function runTraffic(send: Send, workers: readonly Worker[], options: TrafficOptions): Promise<Answer[]> {
  const answers: Answer[] = [];
  const computeIds = options.computeIds ?? [];
  const run = async (worker: Worker, w: number): Promise<void> => {
    for (let n = 0; n < worker.count && (options.untilMs === undefined || Date.now() < options.untilMs); n += 1) {
      const request = nextRequest(worker, w, n, computeIds, options.tag);
      const startMs = Date.now();
      const answer: Answer = {
        caller: worker.caller,
        kind: worker.kind,
        method: request.method,
        target: request.target,
        status: 0,
        body: undefined,
        requestId: '',
        forwarded: false,
        startMs,
        endMs: startMs,
      };
      if (request.hostName !== undefined) answer.hostName = request.hostName;
      try {
        const reply = await send(worker.caller, request.method, request.target, {
          headers: { ...request.headers, ...worker.headers },
          ...(request.body !== undefined ? { body: request.body } : {}),
        });
        answer.status = reply.status;
        answer.body = reply.body;
        answer.requestId = typeof reply.headers['x-request-id'] === 'string' ? reply.headers['x-request-id'] : '';
        answer.forwarded = reply.headers['x-queue-wait-ms'] !== undefined;
      } catch (error) {
        answer.error =
          error instanceof Error ? `${(error as NodeJS.ErrnoException).code ?? ''} ${error.message}` : String(error);
      }
      answer.endMs = Date.now();
      answers.push(answer);
      if (options.backoffMs && answer.status >= 400 && !answer.forwarded)
        await new Promise((resolve) => setTimeout(resolve, options.backoffMs));
    }
  };
  await Promise.all(workers.map(run));
  return answers;
}

function nextRequest(
  worker: Worker,
  w: number,
  n: number,
  computeIds: readonly string[],
  tag: string,
): { method: string; target: string; headers: Record<string, string>; body?: string; hostName?: string } {
  switch (worker.kind) {
    case 'read': {
      const targets = worker.targets ?? READ_TARGETS;
      return { method: 'GET', target: targets[(w + n) % targets.length]!, headers: {} };
    }
    case 'create': {
      const hostName = `${tag}-w${w}-${n}`;
      return {
        method: 'POST',
        target: '/api/v1/computes',
        headers: { 'content-type': 'application/json', 'idempotency-key': randomUUID() },
        body: createBody(hostName),
        hostName,
      };
    }
    case 'power': {
      if (computeIds.length === 0) throw new Error('power workers need computeIds');
      const id = computeIds[(w + n) % computeIds.length]!;
      return {
        method: 'POST',
        target: `/api/v1/computes/${id}/${POWER_ACTIONS[n % POWER_ACTIONS.length]!}`,
        headers: {},
      };
    }
  }
}

/** One request on a fresh connection to `port`; resolves with the answer (body parsed when JSON) or rejects with the
 * socket error. */
export function callPort(
  port: number,
  method: string,
  target: string,
  headers: Record<string, string>,
  body?: string,
): Promise<SentReply> {
  return new Promise((resolve, reject) => {
    const framing = body !== undefined ? { 'content-length': String(Buffer.byteLength(body)) } : {};
    const req = http.request(
      { host: '127.0.0.1', port, method, path: target, headers: { ...headers, ...framing }, agent: false },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('error', reject);
        res.on('end', () => {
          let parsed: unknown = text;
          try {
            parsed = JSON.parse(text);
          } catch {
            // not JSON: kept as text
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Why an answer is not a proper one, or undefined: a transport error, a body that is not the
 * Strettch envelope, or an envelope naming another request.
 */
export function envelopeProblem(a: Answer): string | undefined {
  const what = `${a.caller} ${a.method} ${a.target} → `;
  if (a.error !== undefined) return `${what}transport error: ${a.error}`;
  const b = a.body;
  if (typeof b !== 'object' || b === null) return `${what}${a.status}, not a JSON envelope`;
  if (a.requestId === '' || b.requestId !== a.requestId)
    return `${what}${a.status}, envelope requestId ${String(b.requestId)} vs header ${a.requestId}`;
  if (typeof b.message !== 'string' || typeof b.timestamp !== 'string')
    return `${what}${a.status}, envelope without message or timestamp`;
  if (a.status >= 200 && a.status < 300)
    return b.success === true ? undefined : `${what}${a.status} with success ${String(b.success)}`;
  return b.success === false && typeof b.code === 'string' && b.code.length > 0
    ? undefined
    : `${what}${a.status}, error envelope without a code`;
}

/** PUT /_sandbox/faults, as an operator would at runtime; answers the settings in force. */
export async function setFaults(sandboxUrl: string, patch: FaultPatch): Promise<void> {
  const response = await fetch(`${sandboxUrl}/_sandbox/faults`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(patch),
  });
  if (response.status !== 200) throw new Error(`PUT /_sandbox/faults → ${response.status}: ${await response.text()}`);
}

export const NO_FAULTS_PATCH: FaultPatch = {
  errorRate: 0,
  dropRate: 0,
  slowRate: 0,
  slowMs: 0,
  latencyMs: 0,
  jitterMs: 0,
};

/**
 * The access lines of a gateway's log, by request id, read incrementally. A line is written when
 * the response closes, which can be just after the caller has the whole answer: `lines()` waits.
 */
export class AccessLog {
  private readonly byId = new Map<string, AccessLine>();
  private parsed = 0;

  constructor(private readonly logLines: readonly string[]) {}

  /** The lines of these request ids, waiting up to `timeoutMs` for the last ones to be written. */
  async lines(requestIds: readonly string[], timeoutMs = 3000): Promise<AccessLine[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      this.catchUp();
      const missing = requestIds.filter((id) => !this.byId.has(id));
      if (missing.length === 0) return requestIds.map((id) => this.byId.get(id)!);
      if (Date.now() > deadline) throw new Error(`no access line for ${missing.length} request(s), e.g. ${missing[0]}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  private catchUp(): void {
    for (; this.parsed < this.logLines.length; this.parsed += 1) {
      const line = JSON.parse(this.logLines[this.parsed]!) as AccessLine;
      if (line.msg === 'request' && typeof line.requestId === 'string') this.byId.set(line.requestId, line);
    }
  }
}

/** Counts by `kind status[-code]`, for failure messages and the figures printed by each run. */
export function tally(answers: readonly Answer[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const a of answers) {
    const key =
      a.error !== undefined
        ? `${a.kind} error`
        : `${a.kind} ${a.status}${a.status >= 300 && typeof a.body?.code === 'string' ? `-${a.body.code}` : ''}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return Object.fromEntries(Object.entries(counts).sort(([x], [y]) => x.localeCompare(y)));
}

export const sum = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0);
