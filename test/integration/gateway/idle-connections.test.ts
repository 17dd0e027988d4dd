/**
 * 10,000 idle connections (issue #11 §3: "no connection cap, 8,000 idle connections accepted").
 * A separate process (so the test's own file descriptors are not the limit) opens 10,000
 * connections from two loopback addresses, 5,000 each, sends nothing and holds them; the gateway
 * runs with its default caps. Each address keeps `maxConnectionsPerClient` connections, every other
 * one is answered 503 in the envelope and closed, and meanwhile a legitimate client's requests are
 * answered as fast as before the flood: their p99 during the hold is compared with their p99 before
 * it, measured in the same test, by ratio. The sandbox receives exactly the legitimate requests.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import readline from 'node:readline';
import { CONNECTION_LIMIT_DEFAULTS } from '../../../src/shared/connection-limits';
import { startGatewayHarness, type GatewayHarness } from '../../helpers/gateway-harness';
import { refusalCount } from '../../helpers/raw-connections';

const ATTACKER_ADDRESSES = ['127.0.0.2', '127.0.0.3'];
const PER_ADDRESS = 5_000;
const TOTAL = ATTACKER_ADDRESSES.length * PER_ADDRESS;
/** Enough that p99 is not the second-worst request: one GC pause or scheduler stall is not a trend. */
const LEGIT_REQUESTS = 500;
/** Generous: a loaded 2-CPU machine shifts single requests by tens of ms; a cap that failed would add seconds. */
const P99_RATIO_BOUND = 4;
/** A p99 below this counts as this, so that scheduler noise on a sub-millisecond baseline cannot make the ratio. */
const P99_FLOOR_MS = 20;

/**
 * The attacker, run with `node -e`: opens the connections (a bounded number connecting at once, so
 * the listen backlog never overflows), then waits for the server's answers to settle and reports
 * one JSON line; it holds what stays open until its stdin closes.
 */
const HOLDER_SCRIPT = `
const net = require('node:net');
const { port, addresses, perAddress, concurrency } = JSON.parse(process.env.HOLDER_CONFIG);
const targets = addresses.flatMap((address) => Array.from({ length: perAddress }, () => address));
const states = [];
let started = 0, connecting = 0, lastChangeMs = Date.now(), connectErrors = 0;
function openNext() {
  while (connecting < concurrency && started < targets.length) {
    const state = { data: '', closed: false, connected: false };
    states.push(state);
    const socket = net.connect({ port, host: '127.0.0.1', localAddress: targets[started++] });
    connecting++;
    const settle = () => { lastChangeMs = Date.now(); };
    socket.on('connect', () => { state.connected = true; connecting--; settle(); openNext(); });
    socket.on('data', (chunk) => { state.data += chunk.toString('latin1'); settle(); });
    socket.on('error', () => { if (!state.connected) { connectErrors++; connecting--; openNext(); } });
    socket.on('close', () => { state.closed = true; settle(); });
  }
}
openNext();
const report = setInterval(() => {
  if (started < targets.length || connecting > 0 || Date.now() - lastChangeMs < 1000) return;
  clearInterval(report);
  const refusedWith503 = states.filter((s) => s.closed && s.data.startsWith('HTTP/1.1 503 ')
    && s.data.includes('"code":"SERVICE_UNAVAILABLE"') && /\\r\\nconnection: close\\r\\n/.test(s.data)).length;
  const stillOpen = states.filter((s) => !s.closed).length;
  const openWithData = states.filter((s) => !s.closed && s.data !== '').length;
  const closedOtherwise = states.filter((s) => s.closed).length - refusedWith503;
  process.stdout.write(JSON.stringify({ attempted: started, connectErrors, stillOpen, openWithData,
    refusedWith503, closedOtherwise }) + '\\n');
}, 100);
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
`;

interface HolderReport {
  attempted: number;
  connectErrors: number;
  stillOpen: number;
  openWithData: number;
  refusedWith503: number;
  closedOtherwise: number;
}

function startHolder(port: number): { child: ChildProcess; report: Promise<HolderReport> } {
  const child = spawn(process.execPath, ['-e', HOLDER_SCRIPT], {
    env: {
      HOLDER_CONFIG: JSON.stringify({ port, addresses: ATTACKER_ADDRESSES, perAddress: PER_ADDRESS, concurrency: 100 }),
    },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const report = new Promise<HolderReport>((resolve, reject) => {
    readline
      .createInterface({ input: child.stdout! })
      .once('line', (line) => resolve(JSON.parse(line) as HolderReport));
    child.once('exit', (code) => reject(new Error(`the connection holder exited (${code}) before reporting`)));
  });
  return { child, report };
}

function p99(samplesMs: number[]): number {
  const sorted = [...samplesMs].sort((a, b) => a - b);
  return sorted[Math.ceil(sorted.length * 0.99) - 1]!;
}

/** `LEGIT_REQUESTS` requests of the reader (account `members`) one after the other, each on a new connection. */
async function legitimateLatencies(h: GatewayHarness): Promise<number[]> {
  const headers = { authorization: `Bearer ${h.mint('reader')}` };
  const durations: number[] = [];
  for (let i = 0; i < LEGIT_REQUESTS; i++) {
    const startedMs = performance.now();
    const reply = await h.request('GET', '/api/v1/computes', { headers });
    durations.push(performance.now() - startedMs);
    expect(reply.status).toBe(200);
  }
  return durations;
}

let h: GatewayHarness;
let holder: ChildProcess | undefined;

beforeAll(async () => {
  const softLimit = Number(execFileSync('sh', ['-c', 'ulimit -n']).toString().trim());
  if (Number.isFinite(softLimit) && softLimit < TOTAL + 1_000)
    throw new Error(
      `this test opens ${TOTAL} connections; raise the file descriptor limit (ulimit -n is ${softLimit})`,
    );
  h = await startGatewayHarness({
    sandbox: { limits: { readPerSecond: 100_000, writePerSecond: 100_000 } },
    // The admitted idle connections stay open through the measurement instead of timing out at 10 s.
    server: { headersTimeoutMs: 120_000, requestTimeoutMs: 120_000 },
  });
});

afterAll(async () => {
  if (holder && holder.exitCode === null) {
    const exited = new Promise((resolve) => holder!.once('exit', resolve));
    holder.stdin?.end();
    await exited;
  }
  await h?.close();
});

const TITLE = 'holds 10,000 idle connections to the default caps, the rest 503; legitimate requests keep their p99';

it(
  TITLE,
  async () => {
    const port = Number(new URL(h.gateway.url).port);
    // Warm the path (JIT, the upstream pool) so the baseline is the path's normal p99, not its first run.
    for (let i = 0; i < 20; i++) await h.as('reader', 'GET', '/api/v1/computes');
    const baselineMs = p99(await legitimateLatencies(h));
    const metricsBefore = await h.metricsText();

    const started = startHolder(port);
    holder = started.child;
    const report = await started.report;
    const kept = ATTACKER_ADDRESSES.length * CONNECTION_LIMIT_DEFAULTS.maxConnectionsPerClient;
    expect(report).toEqual({
      attempted: TOTAL,
      connectErrors: 0,
      stillOpen: kept,
      openWithData: 0,
      refusedWith503: TOTAL - kept,
      closedOtherwise: 0,
    });
    const metricsAfter = await h.metricsText();
    expect(
      refusalCount(metricsAfter, 'client-connection-limit') - refusalCount(metricsBefore, 'client-connection-limit'),
    ).toBe(TOTAL - kept);

    // While the held connections stay open: the legitimate client, and only it, reaches the sandbox.
    h.resetUpstream();
    const holdingMs = p99(await legitimateLatencies(h));
    const label = h.labelOf('members');
    expect(h.stats().keys[label]?.classes.all.admitted).toBe(LEGIT_REQUESTS);
    expect(holder.exitCode).toBeNull();

    const ratio = Math.max(holdingMs, P99_FLOOR_MS) / Math.max(baselineMs, P99_FLOOR_MS);
    if (ratio > P99_RATIO_BOUND)
      throw new Error(
        `p99 ${holdingMs.toFixed(1)} ms holding vs ${baselineMs.toFixed(1)} ms before (ratio ${ratio.toFixed(2)})`,
      );
  },
  120_000,
);
