/**
 * The `strettch-gateway` bin as a user runs it: compiled, through the real shim
 * (bin/strettch-gateway.js → ../dist/cli/bin.js), as separate processes in a fresh directory.
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import jwt from 'jsonwebtoken';
import { compileProductInto } from '../../helpers/compile-product';

const root = path.resolve(__dirname, '../../..');
const buildRoot = path.join(root, '.test-build', 'bin');
const shim = path.join(buildRoot, 'bin', 'strettch-gateway.js');
const fixture = (name: string) => path.join(root, 'test/fixtures/config', name);
const exampleConfig = path.join(root, 'config/gateway.example.yaml');

const SECRETS = {
  STRETTCH_KEY_PROD: 'sk-prod-bin-test-0123456789abcdef',
  JWT_HS_SECRET: 'hs-bin-test-secret-0123456789abcdef0123456789',
};

let workDir: string;

beforeAll(() => {
  // The same layout as the package: dist/ next to bin/, so the shim's relative require is exercised.
  compileProductInto(path.join(buildRoot, 'dist'));
  fs.mkdirSync(path.dirname(shim), { recursive: true });
  fs.copyFileSync(path.join(root, 'bin/strettch-gateway.js'), shim);
  fs.copyFileSync(path.join(root, 'package.json'), path.join(buildRoot, 'package.json'));
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sg-bin-'));
}, 60_000);

afterAll(() => fs.rmSync(workDir, { recursive: true, force: true }));

function run(args: string[], env: Record<string, string> = {}) {
  try {
    const stdout = execFileSync(process.execPath, [shim, ...args], {
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

describe('the shim', () => {
  it('is an executable node script', () => {
    const file = path.join(root, 'bin/strettch-gateway.js');
    expect(fs.readFileSync(file, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
    expect(fs.statSync(file).mode & 0o111).not.toBe(0);
  });
});

describe('strettch-gateway help and usage', () => {
  it('--help lists every command: exit 0', () => {
    const result = run(['--help']);
    expect(result.code).toBe(0);
    for (const command of ['start', 'check-config', 'token', 'explain', 'ledger'])
      expect(result.stdout).toContain(`strettch-gateway ${command} `);
  });

  it('help ledger, and ledger rebuild without REDIS_URL: the command is loaded on demand', () => {
    const help = run(['help', 'ledger']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: strettch-gateway ledger rebuild --account <name> --config <policy.yaml>');
    const result = run(['ledger', 'rebuild', '--account', 'prod', '--config', exampleConfig], SECRETS);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('ledger rebuild: REDIS_URL (or REDIS_SENTINELS, or REDIS_CLUSTER_NODES): required');
    expect(result.stdout + result.stderr).not.toContain(SECRETS.STRETTCH_KEY_PROD);
  });

  it("help <command> prints that command's help: exit 0", () => {
    const result = run(['help', 'start']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Usage: strettch-gateway start [--config <policy.yaml>] [--watch]');
  });

  it("--version prints the package's version: exit 0", () => {
    const { version } = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string };
    expect(run(['--version'])).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
    expect(run(['start', '--version'])).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
  });

  it.each([[[]], [['deploy']], [['help', 'deploy']]])('%j: usage on stderr, exit 2', (args) => {
    const result = run(args);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('Usage: strettch-gateway <command> [options]');
  });
});

describe('strettch-gateway check-config', () => {
  it('summarizes the example policy with --no-secrets: exit 0', () => {
    // Its provisioner has ownership and quotas, which need the shared ledger in Redis.
    const result = run(['check-config', exampleConfig, '--no-secrets'], { REDIS_URL: 'redis://redis.internal:6379' });
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toContain('valid in shape and references (secrets not resolved: --no-secrets)');
    expect(result.stdout).toMatch(
      /accounts \(2\)\n {2}prod +read 30\/s, write 5\/s × safety 0\.95 = 28\.5 reads\/s, 4\.75 writes\/s\n {2}staging +all 2\/s × safety 0\.95 = 1\.9\/s\n/,
    );
    expect(result.stdout).toMatch(
      / {2}autoscaler +account prod, weight 3, maxWaitMs 2000; scopes computes:read, computes:power, computes:resize\n/,
    );
    expect(result.stdout).toMatch(/ {2}inventory +computes\.list, regions\.list\n/);
  });

  it('lists the settings in force with their source, never the Redis password', () => {
    const result = run(['check-config', exampleConfig, '--no-secrets'], {
      REDIS_URL: 'redis://:s3cret-pass@redis.internal:6379',
      GATEWAY_REPLICAS: '4',
    });
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toMatch(/settings \(\d+: as start would run in this environment\)\n/);
    expect(result.stdout).toMatch(/ {2}GATEWAY_REPLICAS +4 +\(env\)\n/);
    expect(result.stdout).toMatch(/ {2}REDIS_URL +redis:\/\/:\*\*\*@redis\.internal:6379 +\(env\)\n/);
    expect(result.stdout).toMatch(/ {2}SCHEDULE_FALLBACK_MAX_WAIT_MS +500 ms +\(default\)\n/);
    expect(result.stdout).not.toContain('s3cret-pass');
  });

  it('refuses the example without REDIS_URL: its ownership and quotas would be per process: exit 1', () => {
    const result = run(['check-config', exampleConfig, '--no-secrets'], { GATEWAY_REPLICAS: '3' });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^check-config: GATEWAY_REPLICAS: is 3 but REDIS_URL is not set/);
    expect(result.stderr).toContain('check-config: callers.provisioner.ownership: needs REDIS_URL');
    expect(result.stderr).toContain('check-config: 3 problem(s) without shared state (REDIS_URL)\n');
    expect(run(['check-config', exampleConfig, '--no-secrets'], { GATEWAY_SINGLE_REPLICA: '1' }).code).toBe(0);
  });

  it('reports every settings problem at once, naming each variable: exit 1', () => {
    const result = run(['check-config', exampleConfig, '--no-secrets'], { PORT: 'x', SCHEDULE_IDLE_TTL_MS: '5' });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      'check-config: PORT: must be a port number from 0 to 65535\n' +
        'check-config: SCHEDULE_IDLE_TTL_MS: must be a whole number of milliseconds from 1000 to 86400000\n' +
        'check-config: 2 problem(s) in the settings (environment)\n',
    );
  });

  it('resolves secrets by default, so the example without its environment lists each one: exit 1', () => {
    const result = run(['check-config', exampleConfig]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `${exampleConfig}:24: accounts.prod.apiKey.env: environment variable STRETTCH_KEY_PROD is not set`,
    );
    expect(result.stderr).toContain(`check-config: 4 problem(s) in ${exampleConfig}`);
  });

  it('resolves every secret and key of a valid policy with its environment set, and prints none: exit 0', () => {
    const config = fixture('valid/full.yaml');
    const result = run(['check-config', config], SECRETS);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toContain(`${config}: valid\n`);
    expect(result.stdout).toContain(
      'keys k1 (RS256), k2 (ES256), hs (HS256); JWKS https://auth.internal/.well-known/jwks.json',
    );
    const stagingKey = fs.readFileSync(fixture('valid/secrets/staging-api-key'), 'utf8').trim();
    for (const secret of [...Object.values(SECRETS), stagingKey]) expect(result.stdout).not.toContain(secret);
  });

  it.each([[[]], [['--no-secrets']]])(
    "lists an invalid fixture's problem with its file, line and path %j: exit 1",
    (flags) => {
      const config = fixture('invalid/caller-unknown-scope.yaml');
      const result = run(['check-config', config, ...flags], { STRETTCH_KEY_PROD: SECRETS.STRETTCH_KEY_PROD });
      expect(result.code).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr).toBe(
        `${config}:10: callers.billing.scopes[1]: unknown scope "computes:reed"\ncheck-config: 1 problem(s) in ${config}\n`,
      );
    },
  );
});

describe('strettch-gateway explain', () => {
  it('allowed: exit 0, with the scope, the account and the limit', () => {
    const result = run(['explain', 'demo-reader', 'GET /api/v1/computes']);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toContain('ALLOWED  demo-reader → GET /api/v1/computes');
    expect(result.stdout).toContain('granted by   computes:read');
    expect(result.stdout).toContain('limit        read 30/s × safety 0.95 = 28.5/s');
  });

  it('denied: exit 1, naming the missing scope', () => {
    const result = run(['explain', 'demo-reader', 'POST /api/v1/computes/42/stop']);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('DENIED 403 FORBIDDEN');
    expect(result.stdout).toContain('missing      computes:power');
  });

  it('against a policy file, without its secrets, as JSON', () => {
    const result = run(['explain', 'ci-smoke', 'GET /api/v1/regions', '--config', exampleConfig, '--json']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      outcome: 'granted',
      grantedBy: 'inventory',
      limit: { accountId: 'staging', class: 'all', ratePerSecond: 2, safety: 0.95, effectivePerSecond: 1.9 },
    });
  });

  it('a usage error: exit 2', () => {
    const result = run(['explain', 'demo-reader']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('explain: name the request');
  });
});

describe('strettch-gateway token', () => {
  it('prints only a token for a caller of the embedded default', () => {
    const result = run(['token', 'demo-reader', '--lifetime', '60']);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    const claims = jwt.decode(result.stdout.trim()) as jwt.JwtPayload;
    expect(claims).toMatchObject({ sub: 'demo-reader' });
    expect(claims.exp! - claims.iat!).toBe(60);
  });

  it("mints with a policy's HS256 key, narrowed by --scope", () => {
    const result = run(
      ['token', 'billing', '--config', fixture('valid/full.yaml'), '--kid', 'hs', '--scope', 'ops:read'],
      SECRETS,
    );
    expect(result).toMatchObject({ code: 0, stderr: '' });
    const claims = jwt.verify(result.stdout.trim(), SECRETS.JWT_HS_SECRET, { algorithms: ['HS256'] }) as jwt.JwtPayload;
    expect(claims).toMatchObject({
      sub: 'billing',
      scope: 'ops:read',
      iss: 'https://auth.internal',
      aud: 'strettch-gateway',
    });
  });

  it('refuses an unknown caller on stderr: exit 2', () => {
    const result = run(['token', 'nobody']);
    expect(result).toMatchObject({ code: 2, stdout: '' });
    expect(result.stderr).toContain('unknown caller "nobody"');
  });
});

describe('strettch-gateway start', () => {
  it('runs the embedded default, its banner names the bin, and stops on SIGTERM', async () => {
    const child = spawn(process.execPath, [shim, 'start'], {
      cwd: workDir,
      env: { PATH: process.env.PATH!, PORT: '0', ADMIN_PORT: '0', LOG_LEVEL: 'warn' },
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      const banner = await new Promise<string>((resolve, reject) => {
        let text = '';
        const giveUp = setTimeout(() => reject(new Error(`no banner within 20 s: ${text}`)), 20_000);
        child.stdout.on('data', (chunk: Buffer) => {
          text += chunk.toString();
          if (text.includes('mint another token')) {
            clearTimeout(giveUp);
            resolve(text);
          }
        });
        void exited.then((code) => reject(new Error(`exited early with ${code}: ${text}`)));
      });
      expect(banner).toContain('mint another token:  strettch-gateway token demo-operator');
      const url = /listening on (http:\/\/\S+)/.exec(banner)![1]!;
      const token = /Bearer ([\w.-]+)/.exec(banner)![1]!;
      const response = await fetch(`${url}/api/v1/computes`, { headers: { authorization: `Bearer ${token}` } });
      expect(response.status).toBe(200);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  }, 30_000);
});
