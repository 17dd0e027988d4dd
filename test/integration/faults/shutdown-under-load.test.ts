/**
 * SIGTERM under load, on a real process: the `start` entry (src/cli/main.ts) run by Node from a
 * fresh transpile of src/ (types are checked by `npm run typecheck`; transpiling alone takes a
 * few seconds, and nothing for unchanged files, where `tsc -p tsconfig.build.json` takes half a
 * minute on a busy machine), with
 * a policy file, in front of the sandbox running in this process as the judge. Twenty requests —
 * reads from two callers, keyed creates, power actions — are held by the sandbox's latency when
 * the signal arrives: each finishes with its real answer, new connections are refused, the process
 * exits 0 soon after the last answer (well inside its 10 s drain bound), and the referee saw each
 * request once.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ts from 'typescript';
import { mintToken } from '../../../src/gateway/auth';
import { keyLabel, startSandbox, type RunningSandbox } from '../../../src/sandbox';
import { waitUntil } from '../../helpers/fleet-harness';
import { AUDIENCE, createBody, HS_KID, ISSUER, OWNER_KEY } from '../../helpers/gateway-harness';
import { callPort, envelopeProblem, setFaults, type Answer, type Kind } from './fault-traffic';

const root = path.resolve(__dirname, '../../..');
const LATENCY_MS = 800;
/** The drain bound of `start` (docs/operations.md, Shutdown: in-flight requests finish, up to 10 s). */
const DRAIN_BOUND_MS = 10_000;

/**
 * src/ → `<outDir>/src` as CommonJS, one file at a time (isolatedModules makes that exact). Each
 * file's output is kept by the hash of its text, so a run re-transpiles only what changed.
 */
function transpileSources(outDir: string): void {
  const options: ts.CompilerOptions = {
    module: ts.ModuleKind.CommonJS,
    target: ts.ScriptTarget.ES2022,
    esModuleInterop: true,
  };
  const cacheDir = path.join(os.tmpdir(), 'sg-faults-transpiled');
  fs.mkdirSync(cacheDir, { recursive: true });
  const transpile = (source: string): string => {
    const text = fs.readFileSync(source, 'utf8');
    const cached = path.join(
      cacheDir,
      `${createHash('sha256')
        .update(`${ts.version}\0${JSON.stringify(options)}\0${text}`)
        .digest('hex')}.js`,
    );
    if (fs.existsSync(cached)) return fs.readFileSync(cached, 'utf8');
    const { outputText } = ts.transpileModule(text, { fileName: source, compilerOptions: options });
    fs.writeFileSync(`${cached}.${process.pid}`, outputText);
    fs.renameSync(`${cached}.${process.pid}`, cached);
    return outputText;
  };
  const walk = (from: string, to: string): void => {
    fs.mkdirSync(to, { recursive: true });
    for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
      const source = path.join(from, entry.name);
      if (entry.isDirectory()) walk(source, path.join(to, entry.name));
      else if (entry.name.endsWith('.ts'))
        fs.writeFileSync(path.join(to, entry.name.replace(/\.ts$/, '.js')), transpile(source));
      else fs.copyFileSync(source, path.join(to, entry.name));
    }
  };
  walk(path.join(root, 'src'), path.join(outDir, 'src'));
  // Dependencies resolve from the build's own directory upwards.
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(outDir, 'node_modules'), 'dir');
}

function policyYaml(upstreamBaseUrl: string): string {
  return `listen: { host: 127.0.0.1, port: 0, adminPort: 0 }
upstream: { baseUrl: ${upstreamBaseUrl}, timeoutMs: 5000 }
accounts:
  main: { apiKey: { env: KEY_MAIN } }
limits:
  default: { read: 1000, write: 1000 }
auth:
  issuer: ${ISSUER}
  audience: ${AUDIENCE}
  keys:
    - { kid: ${HS_KID}, algorithms: [HS256], secret: { env: JWT_HS_SECRET } }
callers:
  operator: { account: main, scopes: ["*"] }
  reader: { account: main, scopes: [computes:read, catalog:read] }
`;
}

interface GatewayProcess {
  child: ChildProcess;
  port: number;
  adminPort: number;
  /** Everything the process wrote to stdout (banner, then one JSON log line each). */
  stdout(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; atMs: number }>;
}

function startGatewayProcess(dir: string, env: Record<string, string>): Promise<GatewayProcess> {
  const child = spawn(
    process.execPath,
    [path.join(dir, 'src', 'cli', 'main.js'), '--config', path.join(dir, 'gateway.yaml')],
    {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', PORT: '0', ADMIN_PORT: '0', LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  let err = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; atMs: number }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal, atMs: Date.now() })),
  );
  return new Promise((resolve, reject) => {
    const giveUp = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no banner within 15 s: ${out}${err}`));
    }, 15_000);
    const onData = () => {
      const match =
        /listening on http:\/\/127\.0\.0\.1:(\d+) \(metrics and probes on http:\/\/127\.0\.0\.1:(\d+)\)/.exec(out);
      if (!match) return;
      clearTimeout(giveUp);
      child.stdout!.off('data', onData);
      resolve({ child, port: Number(match[1]), adminPort: Number(match[2]), stdout: () => out, exited });
    };
    child.stdout!.on('data', onData);
    void exited.then(({ code }) => {
      clearTimeout(giveUp);
      reject(new Error(`gateway exited early with ${code}: ${out}${err}`));
    });
  });
}

describe('SIGTERM while twenty requests are in flight', () => {
  let dir: string;
  let sandbox: RunningSandbox;
  let gateway: GatewayProcess;
  const hmacSecret = randomBytes(32).toString('hex');
  const tokenOf = (caller: string) =>
    mintToken({
      sub: caller,
      lifetimeSec: 600,
      signingKey: hmacSecret,
      alg: 'HS256',
      kid: HS_KID,
      issuer: ISSUER,
      audience: AUDIENCE,
      now: Date.now,
    });

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sg-faults-shutdown-'));
    transpileSources(dir);
    sandbox = await startSandbox({
      port: 0,
      createDelayMs: 0,
      transitionDelayMs: 0,
      limits: { readPerSecond: 10_000, writePerSecond: 10_000 },
      keys: [OWNER_KEY],
    });
    fs.writeFileSync(path.join(dir, 'gateway.yaml'), policyYaml(sandbox.apiBaseUrl));
    gateway = await startGatewayProcess(dir, { KEY_MAIN: OWNER_KEY.key, JWT_HS_SECRET: hmacSecret });
  }, 30_000);

  afterAll(async () => {
    if (gateway && gateway.child.exitCode === null && gateway.child.signalCode === null) {
      gateway.child.kill('SIGKILL');
      await gateway.exited;
    }
    await sandbox?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('every in-flight request completes with its real answer, new connections are refused, the process exits 0 soon after, nothing duplicated', async () => {
    const label = keyLabel(OWNER_KEY);
    const json = { 'content-type': 'application/json' };
    const auth = (caller: string) => ({ authorization: `Bearer ${tokenOf(caller)}` });
    // Six running computes for the power actions, made before the latency is on.
    const computeIds: string[] = [];
    for (let i = 0; i < 6; i += 1) {
      const created = await callPort(
        gateway.port,
        'POST',
        '/api/v1/computes',
        { ...auth('operator'), ...json, 'idempotency-key': crypto.randomUUID() },
        createBody(`before-${i}`),
      );
      expect(created.status).toBe(202);
      computeIds.push(String(created.body.data.id));
    }
    const before = sandbox.referee.stats().keys[label]!;
    const admitted = () => {
      const k = sandbox.referee.stats().keys[label]!;
      return (
        k.classes.read.admitted +
        k.classes.write.admitted -
        before.classes.read.admitted -
        before.classes.write.admitted
      );
    };
    await setFaults(sandbox.url, { latencyMs: LATENCY_MS });

    const plan: Array<{
      caller: string;
      kind: Kind;
      method: string;
      target: string;
      body?: string;
      headers: Record<string, string>;
      hostName?: string;
    }> = [
      ...Array.from({ length: 4 }, (_, i) => ({
        caller: 'reader',
        kind: 'read' as const,
        method: 'GET',
        target: ['/api/v1/computes?limit=20', '/api/v1/regions'][i % 2]!,
        headers: auth('reader'),
      })),
      ...Array.from({ length: 4 }, (_, i) => ({
        caller: 'operator',
        kind: 'read' as const,
        method: 'GET',
        target: `/api/v1/computes/${computeIds[i]!}`,
        headers: auth('operator'),
      })),
      ...Array.from({ length: 6 }, (_, i) => ({
        caller: 'operator',
        kind: 'create' as const,
        method: 'POST',
        target: '/api/v1/computes',
        body: createBody(`during-${i}`),
        hostName: `during-${i}`,
        headers: { ...auth('operator'), ...json, 'idempotency-key': crypto.randomUUID() },
      })),
      ...computeIds.map((id) => ({
        caller: 'operator',
        kind: 'power' as const,
        method: 'POST',
        target: `/api/v1/computes/${id}/reboot`,
        headers: auth('operator'),
      })),
    ];
    expect(plan).toHaveLength(20);
    const startedMs = Date.now();
    const inFlight = plan.map(async (p): Promise<Answer> => {
      const answer: Answer = {
        caller: p.caller,
        kind: p.kind,
        method: p.method,
        target: p.target,
        status: 0,
        body: undefined,
        requestId: '',
        forwarded: false,
        startMs: Date.now(),
        endMs: 0,
      };
      try {
        const reply = await callPort(gateway.port, p.method, p.target, p.headers, p.body);
        Object.assign(answer, {
          status: reply.status,
          body: reply.body,
          requestId: String(reply.headers['x-request-id'] ?? ''),
          forwarded: reply.headers['x-queue-wait-ms'] !== undefined,
        });
      } catch (error) {
        answer.error = `${(error as NodeJS.ErrnoException).code ?? ''} ${(error as Error).message}`;
      }
      answer.endMs = Date.now();
      return answer;
    });
    // All twenty are inside the upstream, held by its latency.
    await waitUntil(() => admitted() === 20, 3000, 5);

    const sigtermAtMs = Date.now();
    gateway.child.kill('SIGTERM');
    await waitUntil(() => gateway.stdout().includes('draining in-flight requests'), 2000, 5);
    // The listener closes in the same tick as that log line; a connection now is refused.
    await waitUntil(
      async () => {
        try {
          await callPort(gateway.port, 'GET', '/api/v1/regions', auth('reader'));
          return false;
        } catch (error) {
          return (error as NodeJS.ErrnoException).code === 'ECONNREFUSED';
        }
      },
      1000,
      10,
    );
    const refusedAtMs = Date.now();
    await expect(callPort(gateway.port, 'GET', '/healthz', {})).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await expect(
      callPort(
        gateway.port,
        'POST',
        '/api/v1/computes',
        { ...auth('operator'), ...json, 'idempotency-key': crypto.randomUUID() },
        createBody('after'),
      ),
    ).rejects.toMatchObject({ code: 'ECONNREFUSED' });

    const answers = await Promise.all(inFlight);
    const lastAnswerAtMs = Math.max(...answers.map((a) => a.endMs));
    const exit = await gateway.exited;
    console.log(
      `SIGTERM with 20 requests in flight (upstream latency ${LATENCY_MS} ms): new connections refused ${refusedAtMs - sigtermAtMs} ms after the signal; ` +
        `last answer ${lastAnswerAtMs - sigtermAtMs} ms after it; exit ${exit.code} ${exit.atMs - lastAnswerAtMs} ms after the last answer (${exit.atMs - sigtermAtMs} ms after the signal; bound ${DRAIN_BOUND_MS} ms)`,
    );

    // Every one of them got its real answer: the envelope, the upstream's status and data.
    expect(answers.map(envelopeProblem).filter((p) => p !== undefined)).toEqual([]);
    for (const a of answers) {
      expect([a.kind, a.status, a.forwarded]).toEqual([a.kind, a.kind === 'read' ? 200 : 202, true]);
      expect(a.endMs - startedMs).toBeGreaterThanOrEqual(LATENCY_MS - 20);
    }
    for (const [i, a] of answers.entries())
      if (plan[i]!.hostName !== undefined) expect(a.body.data.hostName).toBe(plan[i]!.hostName);
    // The process stopped cleanly, promptly once the last answer was out, well inside the bound.
    expect([exit.code, exit.signal]).toEqual([0, null]);
    expect(exit.atMs - lastAnswerAtMs).toBeLessThan(1500);
    expect(exit.atMs - sigtermAtMs).toBeLessThan(DRAIN_BOUND_MS);
    // The upstream saw each request once and nothing after the signal; no create twice.
    const stats = sandbox.referee.stats();
    expect(admitted()).toBe(20);
    expect(stats.duplicateCreates.total).toBe(0);
    expect(stats.keys[label]!.createsPerformed - before.createsPerformed).toBe(6);
    // Each of them is in the access log, as answered and completed.
    const lines = gateway
      .stdout()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { msg: string; requestId?: string; status?: number; completed?: boolean });
    for (const a of answers)
      expect(lines.find((l) => l.msg === 'request' && l.requestId === a.requestId)).toMatchObject({
        status: a.status,
        completed: true,
      });
  });
});
