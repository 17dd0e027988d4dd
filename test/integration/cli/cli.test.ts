/**
 * The CLI entries as a user runs them: compiled, as separate processes, in a fresh directory
 * (so the dev signing key is created on first use and shared by `start` and `token`).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { compileProductInto } from '../../helpers/compile-product';

const root = path.resolve(__dirname, '../../..');
const buildDir = path.join(root, '.test-build', 'cli');
const entry = (name: string) => path.join(buildDir, 'cli', `${name}.js`);

let workDir: string;

beforeAll(() => {
  compileProductInto(buildDir);
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sg-cli-'));
}, 60_000);

afterAll(() => fs.rmSync(workDir, { recursive: true, force: true }));

function run(name: string, args: string[], env: Record<string, string> = {}) {
  try {
    const stdout = execFileSync(process.execPath, [entry(name), ...args], {
      cwd: workDir,
      env: { PATH: process.env.PATH!, ...env },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return { code: 0, stdout, stderr: '' };
  } catch (error) {
    const failed = error as { status: number; stdout: string; stderr: string };
    return { code: failed.status, stdout: failed.stdout, stderr: failed.stderr };
  }
}

/** Starts `npm start`'s entry and resolves with the gateway URL once its banner is out. */
function startGateway(): Promise<{ child: ChildProcess; url: string; banner: string }> {
  const child = spawn(process.execPath, [entry('main')], {
    cwd: workDir,
    env: { PATH: process.env.PATH!, PORT: '0', ADMIN_PORT: '0', LOG_LEVEL: 'warn' },
  });
  return new Promise((resolve, reject) => {
    let banner = '';
    const giveUp = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no banner within 20 s: ${banner}`));
    }, 20_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      banner += chunk.toString();
      const url = /listening on (http:\/\/[^\s]+)/.exec(banner)?.[1];
      if (url && banner.includes('npm run token')) {
        clearTimeout(giveUp);
        resolve({ child, url, banner });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(giveUp);
      reject(new Error(`gateway exited early with ${code}: ${banner}`));
    });
  });
}

describe('npm start (embedded default) and npm run token', () => {
  let gateway: { child: ChildProcess; url: string; banner: string };

  beforeAll(async () => {
    gateway = await startGateway();
  }, 30_000);

  afterAll(async () => {
    if (gateway && gateway.child.exitCode === null) {
      const exited = new Promise((resolve) => gateway.child.once('exit', resolve));
      gateway.child.kill('SIGTERM');
      await exited;
    }
  });

  it('prints a ready-to-paste curl whose token works', async () => {
    const token = /Bearer ([\w.-]+)/.exec(gateway.banner)![1]!;
    const response = await fetch(`${gateway.url}/api/v1/computes`, { headers: { authorization: `Bearer ${token}` } });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ success: true, data: [], meta: { total: 0, page: 1, limit: 20 } });
  });

  it("token prints only a token that the running gateway accepts, with the caller's scopes", async () => {
    const minted = run('token', ['demo-operator']);
    expect(minted.code).toBe(0);
    expect(minted.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    const token = minted.stdout.trim();
    const created = await fetch(`${gateway.url}/api/v1/computes`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        'idempotency-key': '5b0f8a4e-2d1c-4f3a-9b7e-1c2d3e4f5a6b',
      },
      body: JSON.stringify({
        hostName: 'cli-test',
        image: 'UBUNTU-24.04',
        region: 'KGL-1',
        specification: 'S-1C',
        publicKeys: ['ssh-ed25519 AAAA test'],
      }),
    });
    expect(created.status).toBe(202);
    const reader = run('token', ['demo-reader']).stdout.trim();
    const denied = await fetch(`${gateway.url}/api/v1/computes/1/stop`, {
      method: 'POST',
      headers: { authorization: `Bearer ${reader}` },
    });
    expect(denied.status).toBe(403);
  });

  it('token refuses an unknown caller on stderr with exit code 2', () => {
    const result = run('token', ['nobody']);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('unknown caller "nobody"');
  });

  it('stops cleanly on SIGTERM', async () => {
    const exited = new Promise<number | null>((resolve) => gateway.child.once('exit', resolve));
    gateway.child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});

describe('npm start -- --config', () => {
  it('refuses an invalid policy, listing every problem with its path, and exits 1', () => {
    const file = path.join(workDir, 'bad.yaml');
    fs.writeFileSync(file, 'accounts: {}\ncallers:\n  billing: { account: prod, scopes: [computes:reed] }\nbogus: 1\n');
    const result = run('main', ['--config', file]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('bogus');
    expect(result.stderr).toMatch(/problem\(s\) in .*bad\.yaml; not starting/);
    expect(result.stdout).toBe('');
  });

  it('refuses a bad PORT before doing anything', () => {
    const result = run('main', [], { PORT: 'eighty' });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('PORT: must be a port number');
  });
});
