/**
 * The dashboard run's load: open loop on 127.0.0.1, a mix of kinds each at its own rate, bounded in time
 * and in requests in flight. Hand-written for the same reason as the soak's generator (soak/load.ts):
 * npm load generators (autocannon) run closed loops, which send less exactly when the gateway is slow.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { performance } from 'node:perf_hooks';

const MAX_IN_FLIGHT = 200;
const REQUEST_TIMEOUT_MS = 10_000;

interface LoadKind {
  name: string;
  perSecond: (fraction: number) => number;
  request: () => { method: string; path: string; headers: Record<string, string>; body?: string };
}

export interface LoadCounts {
  [kindAndStatus: string]: number;
}

function createBody(n: number): string {
  return JSON.stringify({
    hostName: `snapshot-${n}`,
    image: 'UBUNTU-24.04',
    region: 'KGL-1',
    specification: 'S-1C',
    publicKeys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAISnapshotKey snapshot@bench'],
  });
}

export function loadKinds(tokens: { reader: string; operator: string }): LoadKind[] {
  let creates = 0;
  const json = (token: string) => ({
    authorization: `Bearer ${token}`,
    'content-type': 'application/json',
    'idempotency-key': randomUUID(),
  });
  return [
    // Under the 30/s limit, then over it (the schedule queues, then answers 429), then under again.
    {
      name: 'read',
      perSecond: (f) => (f >= 0.25 && f < 0.75 ? 45 : 15),
      request: () => ({
        method: 'GET',
        path: '/api/v1/computes',
        headers: { authorization: `Bearer ${tokens.reader}` },
      }),
    },
    {
      name: 'operator-read',
      perSecond: () => 4,
      request: () => ({
        method: 'GET',
        path: '/api/v1/regions',
        headers: { authorization: `Bearer ${tokens.operator}` },
      }),
    },
    {
      name: 'write',
      perSecond: () => 2,
      request: () => ({
        method: 'POST',
        path: '/api/v1/computes',
        headers: json(tokens.operator),
        body: createBody(++creates),
      }),
    },
    {
      name: 'denied',
      perSecond: () => 1,
      request: () => ({ method: 'POST', path: '/api/v1/computes', headers: json(tokens.reader), body: createBody(0) }),
    },
    { name: 'no-token', perSecond: () => 1, request: () => ({ method: 'GET', path: '/api/v1/computes', headers: {} }) },
    {
      name: 'forged',
      perSecond: () => 0.5,
      request: () => ({
        method: 'GET',
        path: '/api/v1/computes',
        headers: { authorization: `Bearer ${tokens.reader.slice(0, -4)}AAAA` },
      }),
    },
  ];
}

function sendOnce(port: number, agent: http.Agent, request: ReturnType<LoadKind['request']>): Promise<string> {
  return new Promise((resolve) => {
    const headers =
      request.body === undefined
        ? request.headers
        : { ...request.headers, 'content-length': String(Buffer.byteLength(request.body)) };
    const req = http.request(
      { host: '127.0.0.1', port, method: request.method, path: request.path, headers, agent },
      (res) => {
        res.on('end', () => resolve(String(res.statusCode)));
        res.on('error', () => resolve('error'));
        res.resume();
      },
    );
    req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
    req.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
    req.end(request.body);
  });
}

export async function driveLoad(port: number, kinds: LoadKind[], durationMs: number): Promise<LoadCounts> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: MAX_IN_FLIGHT });
  const counts: LoadCounts = {};
  const pending = new Set<Promise<void>>();
  const credit = kinds.map(() => 0);
  const startedMs = performance.now();
  const tickMs = 20;
  let lastMs = startedMs;
  while (performance.now() - startedMs < durationMs) {
    await new Promise((resolve) => setTimeout(resolve, tickMs));
    const nowMs = performance.now();
    const fraction = Math.min(1, (nowMs - startedMs) / durationMs);
    kinds.forEach((kind, i) => {
      credit[i] = credit[i]! + (kind.perSecond(fraction) * (nowMs - lastMs)) / 1000;
      for (; credit[i]! >= 1; credit[i] = credit[i]! - 1) {
        const key = (status: string) => `${kind.name} ${status}`;
        if (pending.size >= MAX_IN_FLIGHT) {
          counts[key('skipped')] = (counts[key('skipped')] ?? 0) + 1;
          continue;
        }
        const sent = sendOnce(port, agent, kind.request()).then((status) => {
          counts[key(status)] = (counts[key(status)] ?? 0) + 1;
          pending.delete(sent);
        });
        pending.add(sent);
      }
    });
    lastMs = nowMs;
  }
  await Promise.all(pending);
  agent.destroy();
  return counts;
}
