/**
 * Issue #11 §4, as an operator meets it: the compiled CLI, as separate processes, in front of a real
 * sandbox whose referee says what reached the provider. A gateway that must not start sends nothing
 * upstream; one that may start (the controls) sends what it is asked to.
 *  - an HS256 secret shipped in the repository's examples is refused by start and check-config;
 *  - `token --config` reads only the signing key: it mints where the provider keys are absent;
 *  - several replicas, or ownership and quotas, without Redis are refused unless one replica is
 *    declared on purpose (GATEWAY_SINGLE_REPLICA);
 *  - a catastrophic hostName pattern is refused at load.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEMO_KEYS, keyLabel, startSandbox, type RunningSandbox } from '../../../src/sandbox';
import { compileProductInto } from '../../helpers/compile-product';

const root = path.resolve(__dirname, '../../..');
const buildDir = path.join(root, '.test-build', 'unsafe-defaults');
const entry = (name: string) => path.join(buildDir, 'cli', `${name}.js`);
const OWNER = DEMO_KEYS.find((k) => k.role === 'owner')!;
/** docker-compose.yml's demo token secret before issue #11: public since it was committed. */
const SHIPPED_SECRET = 'compose-demo-secret-not-for-production-use-0123456789';

let workDir: string;
let sandbox: RunningSandbox;

beforeAll(async () => {
  compileProductInto(buildDir);
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sg-unsafe-'));
  sandbox = await startSandbox({ port: 0, createDelayMs: 0, transitionDelayMs: 0 });
}, 120_000);

afterAll(async () => {
  await sandbox?.close();
  fs.rmSync(workDir, { recursive: true, force: true });
});

beforeEach(() => sandbox.referee.reset());

/** Whether anything at all reached the provider since the last reset (with a key or without). */
const nothingReceived = () => sandbox.referee.stats().lastRequest === null;

function writePolicy(name: string, callerExtra = ''): string {
  const file = path.join(workDir, `${name}.yaml`);
  fs.writeFileSync(
    file,
    `listen: { host: 127.0.0.1, port: 0, adminPort: 0 }
upstream: { baseUrl: ${sandbox.apiBaseUrl}, timeoutMs: 5000 }
accounts:
  main: { apiKey: { env: KEY_MAIN } }
auth:
  issuer: https://auth.test.internal
  audience: strettch-gateway
  keys:
    - { kid: hs, algorithms: [HS256], secret: { env: JWT_HS_SECRET } }
callers:
  reader: { account: main, scopes: [computes:read]${callerExtra} }
`,
  );
  return file;
}

function run(name: string, args: string[], env: Record<string, string>) {
  try {
    const stdout = execFileSync(process.execPath, [entry(name), ...args], {
      cwd: workDir,
      env: { PATH: process.env.PATH!, LOG_LEVEL: 'warn', ...env },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return { code: 0, stdout, stderr: '' };
  } catch (error) {
    const failed = error as { status: number; stdout: string; stderr: string };
    return { code: failed.status, stdout: failed.stdout, stderr: failed.stderr };
  }
}

interface Running {
  child: ChildProcess;
  url: string;
  /** Everything it wrote so far (logs go to stdout). */
  output: () => string;
}

/** Starts the gateway; resolves with its URL once listening, or with its exit code and stderr if it stops first. */
function start(
  args: string[],
  env: Record<string, string>,
): Promise<Running | { code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [entry('main'), ...args], {
    cwd: workDir,
    env: {
      PATH: process.env.PATH!,
      PORT: '0',
      ADMIN_PORT: '0',
      LOG_LEVEL: 'warn',
      GATEWAY_WARM_UP_CONNECTIONS: '0',
      ...env,
    },
  });
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    const giveUp = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`neither listening nor stopped within 30 s: ${stdout} ${stderr}`));
    }, 30_000);
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const url = /listening on (http:\/\/[^\s]+)/.exec(stdout)?.[1];
      if (url) {
        clearTimeout(giveUp);
        resolve({ child, url, output: () => stdout + stderr });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(giveUp);
      resolve({ code, stderr });
    });
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

/** The stderr of a start that was refused (exit 1); a gateway that started anyway is stopped, and fails the test. */
async function refusedWith(started: Running | { code: number | null; stderr: string }): Promise<string> {
  if ('url' in started) {
    await stop(started.child);
    throw new Error('the gateway started; it should have refused');
  }
  expect(started.code).toBe(1);
  return started.stderr;
}

const strongSecret = () => randomBytes(32).toString('base64url');

async function waitFor(condition: () => boolean, timeoutMs: number, describe: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`not met within ${timeoutMs} ms: ${describe()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('an HS256 secret shipped in the examples', () => {
  it('start refuses it, naming the key and not the value; the provider receives nothing', async () => {
    const policy = writePolicy('shipped');
    const started = await start(['--config', policy], { KEY_MAIN: OWNER.key, JWT_HS_SECRET: SHIPPED_SECRET });
    const stderr = await refusedWith(started);
    expect(stderr).toMatch(/auth\.keys\[0\]\.secret: is a value shipped in the repository's examples/);
    expect(stderr).not.toContain(SHIPPED_SECRET);
    expect(nothingReceived()).toBe(true);
  }, 60_000);

  it('check-config refuses it too', () => {
    const policy = writePolicy('shipped-check');
    const result = run('bin', ['check-config', policy], { KEY_MAIN: OWNER.key, JWT_HS_SECRET: SHIPPED_SECRET });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/auth\.keys\[0\]\.secret: is a value shipped/);
    expect(result.stderr + result.stdout).not.toContain(SHIPPED_SECRET);
  });
});

describe('token --config', () => {
  it("mints without the provider's key, and a gateway holding the key forwards the caller's request", async () => {
    const policy = writePolicy('token');
    const secret = strongSecret();
    // No KEY_MAIN: only the signing key is read.
    const minted = run('token', ['reader', '--config', policy], { JWT_HS_SECRET: secret });
    expect(minted.stderr).toBe('');
    expect(minted.code).toBe(0);
    const token = minted.stdout.trim();

    const started = await start(['--config', policy], { KEY_MAIN: OWNER.key, JWT_HS_SECRET: secret });
    if (!('url' in started)) throw new Error(`gateway did not start: ${started.stderr}`);
    try {
      const response = await fetch(`${started.url}/api/v1/computes`, { headers: { authorization: `Bearer ${token}` } });
      expect(response.status).toBe(200);
      expect(sandbox.referee.stats().keys[keyLabel(OWNER)]?.classes.read.admitted).toBe(1);
    } finally {
      await stop(started.child);
    }
  }, 60_000);

  it('still refuses a weak signing key', () => {
    const policy = writePolicy('token-weak');
    const result = run('token', ['reader', '--config', policy], { JWT_HS_SECRET: SHIPPED_SECRET });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/auth\.keys\[0\]\.secret: is a value shipped/);
  });
});

describe('state that only Redis shares', () => {
  it('start refuses GATEWAY_REPLICAS above 1 without REDIS_URL; the provider receives nothing', async () => {
    const policy = writePolicy('replicas');
    const started = await start(['--config', policy], {
      KEY_MAIN: OWNER.key,
      JWT_HS_SECRET: strongSecret(),
      GATEWAY_REPLICAS: '3',
    });
    expect(await refusedWith(started)).toMatch(/GATEWAY_REPLICAS: is 3 but REDIS_URL is not set/);
    expect(nothingReceived()).toBe(true);
  }, 60_000);

  it('start refuses ownership and quotas without REDIS_URL, and check-config says why', async () => {
    const policy = writePolicy('ownership', ', ownership: {}, quotas: { liveComputes: 5 }');
    const env = { KEY_MAIN: OWNER.key, JWT_HS_SECRET: strongSecret() };
    const started = await start(['--config', policy], env);
    const stderr = await refusedWith(started);
    expect(stderr).toMatch(/callers\.reader\.ownership: needs REDIS_URL/);
    expect(stderr).toMatch(/callers\.reader\.quotas: needs REDIS_URL/);
    expect(nothingReceived()).toBe(true);
    const checked = run('bin', ['check-config', policy], env);
    expect(checked.code).toBe(1);
    expect(checked.stderr).toMatch(/check-config: callers\.reader\.ownership: needs REDIS_URL/);
  }, 60_000);

  it('GATEWAY_SINGLE_REPLICA=1 runs them in this process on purpose: requests reach the provider', async () => {
    const policy = writePolicy('single', ', ownership: {}, quotas: { liveComputes: 5 }');
    const secret = strongSecret();
    const started = await start(['--config', policy], {
      KEY_MAIN: OWNER.key,
      JWT_HS_SECRET: secret,
      GATEWAY_SINGLE_REPLICA: '1',
    });
    if (!('url' in started)) throw new Error(`gateway did not start: ${started.stderr}`);
    try {
      const token = run('token', ['reader', '--config', policy], { JWT_HS_SECRET: secret }).stdout.trim();
      const response = await fetch(`${started.url}/api/v1/computes`, { headers: { authorization: `Bearer ${token}` } });
      expect(response.status).toBe(200);
      expect(sandbox.referee.stats().keys[keyLabel(OWNER)]?.classes.read.admitted).toBe(1);
    } finally {
      await stop(started.child);
    }
  }, 60_000);
});

describe('a reload that would need Redis', () => {
  it('is refused like a start: the new caller with ownership is not let in, the provider receives nothing', async () => {
    const policy = writePolicy('reload');
    const secret = strongSecret();
    const started = await start(['--config', policy], { KEY_MAIN: OWNER.key, JWT_HS_SECRET: secret });
    if (!('url' in started)) throw new Error(`gateway did not start: ${started.stderr}`);
    try {
      // Answered only after the tick that printed the banner, which also installs the SIGHUP handler.
      expect((await fetch(`${started.url}/healthz`)).status).toBe(200);
      fs.appendFileSync(policy, '  writer: { account: main, scopes: [computes:read], ownership: {} }\n');
      started.child.kill('SIGHUP');
      const refused = /callers\.writer\.ownership: needs REDIS_URL/;
      await waitFor(() => refused.test(started.output()), 20_000, started.output);
      // The file names writer, so a token mints; the running policy does not, so it is refused.
      const token = run('token', ['writer', '--config', policy], { JWT_HS_SECRET: secret }).stdout.trim();
      const response = await fetch(`${started.url}/api/v1/computes`, { headers: { authorization: `Bearer ${token}` } });
      expect(response.status).toBe(403);
      expect(nothingReceived()).toBe(true);
    } finally {
      await stop(started.child);
    }
  }, 60_000);
});

describe('a catastrophic hostName pattern', () => {
  it('check-config and start refuse ^(a+)+$ at load; the provider receives nothing', async () => {
    const policy = writePolicy('redos', `, constraints: { create: { hostName: '^(a+)+$' } }`);
    const env = { KEY_MAIN: OWNER.key, JWT_HS_SECRET: strongSecret() };
    const checked = run('bin', ['check-config', policy], env);
    expect(checked.code).toBe(1);
    expect(checked.stderr).toMatch(/callers\.reader\.constraints\.create\.hostName: .*(catastrophic|backtracking)/);
    const started = await start(['--config', policy], env);
    await refusedWith(started);
    expect(nothingReceived()).toBe(true);
  }, 60_000);
});
