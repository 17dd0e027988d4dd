/**
 * deploy/Dockerfile, read instruction by instruction and then run (no container engine runs here):
 * the final stage's files are laid out as the image holds them — what it copies, and the dist/ its
 * build stage compiles — and its default command is run from its WORKDIR with its ENV. Without
 * GATEWAY_CONFIG it is the embedded default, reachable on the container's address; with it, that
 * policy; a missing policy or an unwritable dev key directory is a clear refusal, not a stack.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import jwt from 'jsonwebtoken';
import { devKeyDirectory } from '../../../src/cli/embedded-token';
import { createLogger } from '../../../src/gateway/observability/logger';
import { startSandbox, type RunningSandbox } from '../../../src/sandbox';
import {
  flag,
  gatewayServices,
  loadCompose,
  parseDockerfile,
  read,
  root,
  type DockerInstruction,
} from './deploy-files';
import { compileProductInto } from '../../helpers/compile-product';

const stages = parseDockerfile(read('deploy/Dockerfile'));
const buildStage = stages.find((s) => s.name === 'build')!;
const image = stages.at(-1)!;
const all = (op: string): DockerInstruction[] => image.instructions.filter((i) => i.op === op);
const workdir = all('WORKDIR').at(-1)!.args[0]!;
const imageEnv = Object.fromEntries(
  all('ENV').map((i) => {
    const [name, ...value] = i.args.join(' ').split('=');
    return [name!, value.join('=')];
  }),
);
const cmd = all('CMD')[0]!.exec!;
/** The image's WORKDIR, laid out here: what the final stage copies, and the build stage's dist/. */
const app = path.join(root, '.test-build', 'image', 'app');

/** The final stage's COPY instructions, done into `app`; the build stage's output compiled with its own tsconfig. */
function layOutImage(): void {
  fs.rmSync(app, { recursive: true, force: true });
  fs.mkdirSync(app, { recursive: true });
  for (const copy of all('COPY')) {
    const from = copy.args.find((a) => a.startsWith('--from='));
    const [sources, dest] = [copy.args.filter((a) => !a.startsWith('--')).slice(0, -1), copy.args.at(-1)!];
    const target = path.resolve(app, dest);
    if (from) {
      // `COPY --from=build /app/dist ./dist`: what `npm run build` wrote in the build stage.
      expect({ from, sources }).toEqual({ from: '--from=build', sources: [path.posix.join(buildWorkdir(), 'dist')] });
      compileInto(target);
      continue;
    }
    for (const source of sources) {
      const into = dest.endsWith('/') ? path.join(target, path.basename(source)) : target;
      fs.cpSync(path.join(root, source), into, { recursive: true });
    }
  }
  // `npm ci --omit=dev` installs the dependencies; the repository's stand in for them.
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(app, 'node_modules'), 'dir');
}

const buildWorkdir = () => buildStage.instructions.filter((i) => i.op === 'WORKDIR').at(-1)!.args[0]!;

function compileInto(outDir: string): void {
  const runs = buildStage.instructions.filter((i) => i.op === 'RUN').map((i) => i.args.join(' '));
  expect(runs).toContain('npm run build');
  const buildScript = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts.build!;
  expect(buildScript).toContain('tsc -p tsconfig.build.json');
  const outDirOfBuild = (JSON.parse(read('tsconfig.build.json')) as { compilerOptions?: { outDir?: string } })
    .compilerOptions?.outDir;
  const tsconfig = JSON.parse(read('tsconfig.json')) as { compilerOptions?: { outDir?: string } };
  expect(path.normalize(outDirOfBuild ?? tsconfig.compilerOptions?.outDir ?? '')).toBe('dist');
  compileProductInto(outDir);
}

interface Started {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<number | null>;
}

const children: ChildProcess[] = [];

/** The image's default command, from its WORKDIR, with its ENV plus `env` (as `docker run -e`). */
function runImageCommand(env: Record<string, string>): Started {
  const child = spawn(cmd[0]!, cmd.slice(1), {
    cwd: app,
    env: { PATH: process.env.PATH!, ...imageEnv, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, stdout: () => stdout, stderr: () => stderr, exit };
}

/** Resolves with stdout once it holds `pattern`, or rejects when the process exits first. */
async function waitForOutput(started: Started, pattern: RegExp, timeoutMs = 60_000): Promise<RegExpExecArray> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void started.exit.then(() => (exited = true));
  for (;;) {
    const match = pattern.exec(started.stdout());
    if (match) return match;
    if (exited || Date.now() > deadline)
      throw new Error(`no ${pattern} (exited: ${exited})\nstdout: ${started.stdout()}\nstderr: ${started.stderr()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const LISTENING = /listening on http:\/\/([^:]+):(\d+) \(metrics and probes on http:\/\/([^:]+):(\d+)\)/;
/** Ports 0: parallel tests and the machine's own 8080/9090 must not collide. */
const ANY_PORTS = { PORT: '0', ADMIN_PORT: '0' };

beforeAll(() => layOutImage(), 240_000);

afterEach(() => {
  for (const child of children.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

describe('deploy/Dockerfile: the image', () => {
  it('copies bin/ and the built dist/ beside it: the default command is a file the image holds', () => {
    expect(cmd[0]).toBe('node');
    const entry = path.join(app, cmd[1]!);
    expect(fs.existsSync(entry)).toBe(true);
    expect(path.posix.dirname(cmd[1]!)).toBe('bin');
    // The shim requires ../dist/cli/bin.js, which the build stage produced.
    const required = /require\('([^']+)'\)/.exec(fs.readFileSync(entry, 'utf8'))![1]!;
    expect(fs.existsSync(path.resolve(path.dirname(entry), required))).toBe(true);
    expect(cmd.slice(2)).toEqual(['start']);
  });

  it('copies nothing the build context leaves out (.dockerignore), and leaves out what the image builds itself', () => {
    const ignored = read('.dockerignore')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('#'));
    // Plain names only: a pattern with wildcards would need Docker's matcher to judge.
    expect(ignored.filter((pattern) => /[*?[!]/.test(pattern))).toEqual([]);
    const copied = [...buildStage.instructions, ...image.instructions]
      .filter((i) => i.op === 'COPY' && !i.args.some((a) => a.startsWith('--from=')))
      .flatMap((i) => i.args.filter((a) => !a.startsWith('--')).slice(0, -1));
    for (const source of copied)
      for (const pattern of ignored)
        expect({ source, pattern, excluded: source === pattern || source.startsWith(`${pattern}/`) }).toEqual({
          source,
          pattern,
          excluded: false,
        });
    // A local dist/, node_modules/ or dev key must not reach the image: it builds and installs its own.
    expect(ignored).toEqual(expect.arrayContaining(['node_modules', 'dist', '.strettch-gateway']));
  });

  it('runs as `node`, writing only the directory the embedded default keeps its dev key in', () => {
    const users = all('USER').map((i) => i.args[0]);
    expect(users.at(-1)).toBe('node');
    const runsAfterUser = image.instructions.slice(image.instructions.findIndex((i) => i.op === 'USER'));
    expect(runsAfterUser.filter((i) => i.op === 'RUN')).toEqual([]);
    const writable = all('RUN')
      .map((i) => i.args.join(' '))
      .flatMap((run) => [...run.matchAll(/chown node:node (\S+)/g)].map((m) => path.posix.resolve(workdir, m[1]!)));
    expect(writable).toHaveLength(1);
    expect(devKeyDirectory(workdir).startsWith(`${writable[0]}/`)).toBe(true);
  });

  it('listens on the container address: HOST is set, so a published port reaches the gateway', () => {
    expect(imageEnv.HOST).toBe('0.0.0.0');
    expect(imageEnv.NODE_ENV).toBe('production');
    expect(imageEnv.GATEWAY_CONFIG).toBeUndefined();
  });
});

describe('deploy/Dockerfile: its default command', () => {
  it('without GATEWAY_CONFIG runs the embedded default: a demo token that works, and a health check that passes', async () => {
    const started = runImageCommand(ANY_PORTS);
    const [, host, port, adminHost, adminPort] = await waitForOutput(started, LISTENING);
    expect(host).toBe('0.0.0.0');
    const [, token] = await waitForOutput(started, /Authorization: Bearer ([\w.-]+)/);
    expect(started.stdout()).toContain('embedded default');
    const answer = await fetch(`http://127.0.0.1:${port}/api/v1/computes`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(answer.status).toBe(200);
    // The image's HEALTHCHECK, as Docker runs it inside the container, on the admin port this run got.
    const healthcheck = all('HEALTHCHECK')[0]!.exec!;
    const probe = healthcheck.map((arg) => arg.replace('127.0.0.1:9090', `${adminHost}:${adminPort}`));
    expect(probe.join(' ')).not.toBe(healthcheck.join(' '));
    execFileSync(probe[0]!, probe.slice(1), { cwd: app, stdio: 'ignore' });
    started.child.kill('SIGTERM');
    expect(await started.exit).toBe(0);
  }, 90_000);

  describe('with GATEWAY_CONFIG', () => {
    let sandbox: RunningSandbox;
    let dir: string;
    const hsSecret = randomBytes(32).toString('base64url');
    beforeAll(async () => {
      sandbox = await startSandbox({
        port: 0,
        logger: createLogger({ level: 'silent', destination: { write: () => undefined } }),
      });
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sg-image-'));
    });
    afterAll(async () => {
      await sandbox.close();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('runs the policy it names (the compose policy, with this machine as its network)', async () => {
      const [, service] = gatewayServices(loadCompose())[0]!;
      const composePolicy = read(flag(service.command, '--config')!);
      const secretFile = path.join(dir, 'jwt-hs-secret');
      fs.writeFileSync(secretFile, hsSecret);
      const policyFile = path.join(dir, 'policy.yaml');
      fs.writeFileSync(
        policyFile,
        composePolicy
          .replace('http://sandbox:4010/api/v1', sandbox.apiBaseUrl)
          .replace('/run/secrets/strettch-gateway/jwt-hs-secret', secretFile),
      );
      const started = runImageCommand({
        ...ANY_PORTS,
        GATEWAY_CONFIG: policyFile,
        STRETTCH_KEY_SANDBOX: service.environment!.STRETTCH_KEY_SANDBOX!,
      });
      const [, , port] = await waitForOutput(started, LISTENING);
      expect(started.stdout()).not.toContain('embedded default');
      const token = jwt.sign({ sub: 'demo-reader' }, hsSecret, {
        algorithm: 'HS256',
        keyid: 'compose-hs',
        issuer: 'https://auth.compose.local',
        audience: 'strettch-gateway',
        expiresIn: 300,
      });
      const answer = await fetch(`http://127.0.0.1:${port}/api/v1/regions`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(answer.status).toBe(200);
      // The sandbox received it: the named policy's upstream, not the embedded default's.
      expect(sandbox.referee.stats().lastRequest?.target).toBe('/api/v1/regions');
      started.child.kill('SIGTERM');
      expect(await started.exit).toBe(0);
    }, 90_000);

    it('names a file that is not there: exit 1, a message naming GATEWAY_CONFIG and the path, no stack', async () => {
      const missing = path.join(dir, 'not-mounted', 'policy.yaml');
      const started = runImageCommand({ ...ANY_PORTS, GATEWAY_CONFIG: missing });
      expect(await started.exit).toBe(1);
      expect(started.stderr()).toContain(`GATEWAY_CONFIG names ${missing}, which cannot be read`);
      expect(started.stderr()).toContain('ENOENT');
      expect(started.stderr()).not.toMatch(/\n\s+at /);
      expect(started.stdout()).not.toContain('listening');
    }, 60_000);
  });

  it('without a writable dev key directory (a read-only root filesystem): exit 1 saying what to do', async () => {
    const keys = path.join(app, path.relative(workdir, devKeyDirectory(workdir)));
    fs.rmSync(keys, { recursive: true, force: true });
    fs.mkdirSync(path.dirname(keys), { recursive: true });
    fs.writeFileSync(keys, 'not a directory');
    try {
      const started = runImageCommand(ANY_PORTS);
      expect(await started.exit).toBe(1);
      const stderr = started.stderr();
      expect(stderr).toContain(`keeps its dev signing key in ${keys}, which cannot be written`);
      expect(stderr).toContain('GATEWAY_CONFIG');
      expect(stderr).not.toMatch(/\n\s+at /);
      expect(started.stdout()).not.toContain('listening');
    } finally {
      fs.rmSync(keys, { force: true });
    }
  }, 60_000);
});
