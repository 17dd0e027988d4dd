/**
 * The compose demo load (deploy/compose/load.mjs), run for real against a gateway on the compose
 * policy, with the environment docker-compose.yml gives the `load` service: its tokens are
 * accepted, and it produces what deploy/README.md tells people to look for.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { startGateway, type RunningGateway } from '../../../src/gateway/compose';
import { createLogger } from '../../../src/gateway/observability/logger';
import { parseExposition } from '../../../bench/prometheus-text';
import { startSandbox, type RunningSandbox } from '../../../src/sandbox';
import {
  flag,
  gatewayServices,
  generateComposeSecrets,
  loadCompose,
  namedVolumeMounts,
  read,
  resolvedPolicy,
  root,
  volumeFileReader,
} from './deploy-files';

const compose = loadCompose();
const [, gatewayService] = gatewayServices(compose)[0]!;
const loadService = compose.services.load!;

let sandbox: RunningSandbox;
let gateway: RunningGateway;
/** The generated token secret, as compose's `secrets` service writes it into the shared volume. */
const secretsDir = generateComposeSecrets(compose);

beforeAll(async () => {
  const quiet = createLogger({ level: 'silent', destination: { write: () => undefined } });
  sandbox = await startSandbox({ port: 0, logger: quiet });
  const configFile = flag(gatewayService.command, '--config')!;
  const composeUpstream = 'http://sandbox:4010/api/v1';
  const text = read(configFile);
  expect(text).toContain(composeUpstream);
  const policy = resolvedPolicy(text.replace(composeUpstream, sandbox.apiBaseUrl), path.join(root, configFile), {
    readEnv: (name) => gatewayService.environment?.[name],
    readFile: volumeFileReader(gatewayService, secretsDir),
  });
  gateway = await startGateway({ policy, logger: quiet, host: '127.0.0.1', port: 0, adminPort: 0 });
});

afterAll(async () => {
  await gateway?.close();
  await sandbox?.close();
  fs.rmSync(secretsDir, { recursive: true, force: true });
});

function runLoad(env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(root, 'deploy/compose/load.mjs')], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

it('drives reads, writes, denied, unauthenticated and forged requests through the gateway, and stops by itself', async () => {
  const { code, stdout, stderr } = await runLoad({
    ...loadService.environment!,
    // The container path of the volume, as the generated file on this machine.
    JWT_HS_SECRET_FILE: path.join(
      secretsDir,
      path.posix.relative(namedVolumeMounts(loadService)[0]!.container, loadService.environment!.JWT_HS_SECRET_FILE!),
    ),
    GATEWAY_URL: gateway.url,
    DURATION_SEC: '4',
    CYCLE_SEC: '4',
  });
  expect(stderr).toBe('');
  expect(code).toBe(0);
  const last = stdout.trim().split('\n').at(-1)!;
  expect(last).toMatch(/^load: [4-6] s; .*read 200: \d+/);

  const samples = parseExposition(await (await fetch(`${gateway.adminUrl}/metrics`)).text());
  const count = (name: string, labels: Record<string, string>) =>
    samples
      .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
      .reduce((sum, s) => sum + s.value, 0);
  expect(
    count('strettch_gateway_requests_total', {
      caller: 'demo-reader',
      operation: 'computes.list',
      status_class: '2xx',
    }),
  ).toBeGreaterThan(30);
  expect(
    count('strettch_gateway_requests_total', {
      caller: 'demo-operator',
      operation: 'computes.create',
      status_class: '2xx',
    }),
  ).toBeGreaterThan(0);
  expect(
    count('strettch_gateway_requests_total', {
      caller: 'demo-operator',
      operation: 'regions.list',
      status_class: '2xx',
    }),
  ).toBeGreaterThan(0);
  expect(count('strettch_gateway_rejections_total', { reason: 'FORBIDDEN' })).toBeGreaterThan(0);
  expect(count('strettch_gateway_auth_failures_total', { reason: 'missing' })).toBeGreaterThan(0);
  expect(count('strettch_gateway_auth_failures_total', { reason: 'bad-signature' })).toBeGreaterThan(0);
  // The second half of each cycle offers 49 reads/s against 28.5/s: after 2 s the backlog passes the
  // callers' 1 s maxWaitMs, and the schedule answers the excess 429 at once.
  expect(count('strettch_gateway_schedule_rejections_total', { class: 'read', reason: 'deadline' })).toBeGreaterThan(0);
  // (That the provider then never sees more than its limit is the schedule's own tests' business.)
}, 20_000);
