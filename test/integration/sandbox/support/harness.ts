/**
 * Integration harness: a real sandbox on port 0 with a manual clock, and a `call` that checks
 * every API response against the contract before handing it to the test.
 */
import {
  startSandbox,
  type RunningSandbox,
  type StartSandboxOptions,
  type SandboxStats,
} from '../../../../src/sandbox';
import { contractProblems, operationFor } from './contract';
import { VALID_CREATE } from '../../../helpers/valid-create';

export { VALID_CREATE };

/** A whole second, so fixed windows (phase 0) start exactly here. */
export const T0 = Date.UTC(2026, 3, 20, 10, 0, 0);

export class ManualClock {
  constructor(public ms: number = T0) {}
  now(): number {
    return this.ms;
  }
  advance(ms: number): void {
    this.ms += ms;
  }
  set(ms: number): void {
    this.ms = ms;
  }
}

export const OWNER = 'sandbox-owner-key';
export const ADMIN = 'sandbox-admin-key';
export const MEMBER = 'sandbox-member-key';
export const OTHER_TEAM = 'sandbox-other-key';

export interface CallOptions {
  key?: string;
  /** Serialised as JSON with Content-Type application/json unless `rawBody` is given. */
  json?: unknown;
  rawBody?: string | Uint8Array;
  headers?: Record<string, string>;
  /** Skip the contract check (only for deliberately non-API paths). */
  unchecked?: boolean;
}

export interface CallResult {
  status: number;
  headers: Headers;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  text: string;
}

export interface Harness {
  sandbox: RunningSandbox;
  clock: ManualClock;
  /** `operationId status code` of every checked response, so a suite can prove its coverage. */
  seen: Set<string>;
  call(method: string, path: string, options?: CallOptions): Promise<CallResult>;
  stats(query?: string): Promise<SandboxStats>;
  close(): Promise<void>;
}

export async function launch(options: StartSandboxOptions = {}): Promise<Harness> {
  const clock = new ManualClock();
  const seen = new Set<string>();
  const sandbox = await startSandbox({ port: 0, clock, ...options });
  const call = async (method: string, path: string, o: CallOptions = {}): Promise<CallResult> => {
    const headers: Record<string, string> = { ...(o.key ? { authorization: `Bearer ${o.key}` } : {}) };
    let body: string | Uint8Array | undefined;
    if (o.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(o.json);
    }
    if (o.rawBody !== undefined) body = o.rawBody;
    Object.assign(headers, o.headers);
    const response = await fetch(`${sandbox.url}${path}`, { method, headers, body });
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (!o.unchecked && path.startsWith('/api/v1')) {
      const problems = contractProblems(method, path.split('?')[0]!, {
        status: response.status,
        body: parsed,
        requestIdHeader: response.headers.get('x-request-id'),
        contentType: response.headers.get('content-type'),
        replayed: response.headers.get('idempotent-replayed') === 'true',
      });
      const operationId = operationFor(method, path.split('?')[0]!) ?? 'no-operation';
      seen.add(
        `${operationId} ${response.status}${response.status >= 400 ? ` ${String((parsed as { code?: string })?.code)}` : ''}`,
      );
      if (problems.length > 0)
        throw new Error(
          `contract broken by ${method} ${path} → ${response.status}:\n  ${problems.join('\n  ')}\n  body: ${text}`,
        );
    }
    return { status: response.status, headers: response.headers, body: parsed, text };
  };
  const stats = async (query = ''): Promise<SandboxStats> => {
    const response = await fetch(`${sandbox.url}/_sandbox/stats${query}`);
    return (await response.json()) as SandboxStats;
  };
  return { sandbox, clock, seen, call, stats, close: () => sandbox.close() };
}

/** A fresh UUID v4 for each create. */
export function idempotencyKey(): string {
  return crypto.randomUUID();
}

export async function createCompute(h: Harness, body: object = VALID_CREATE, key = OWNER): Promise<CallResult> {
  return h.call('POST', '/api/v1/computes', { key, json: body, headers: { 'idempotency-key': idempotencyKey() } });
}
