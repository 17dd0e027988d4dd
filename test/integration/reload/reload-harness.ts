/**
 * Harness for hot-reload tests: a real policy file and real key files in a temporary directory,
 * loaded through `policyFileSource` exactly as the CLI does, the real sandbox as upstream, and the
 * gateway on port 0 with `reload()` wired to the file. Tests rewrite the files, then reload.
 */
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import http, { type IncomingHttpHeaders } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { mintToken } from '../../../src/gateway/auth';
import { startGateway, type RunningGateway } from '../../../src/gateway/compose';
import { createLogger } from '../../../src/gateway/observability/logger';
import { policyFileSource, type PolicySource } from '../../../src/gateway/policy-source';
import { DEMO_KEYS, keyLabel, startSandbox, type RunningSandbox, type SandboxKey } from '../../../src/sandbox';

export const ISSUER = 'https://auth.reload.test';
export const AUDIENCE = 'strettch-gateway-reload-test';

export interface PolicyShape {
  /** Verification keys by kid; each `keys/<kid>.pub.pem` must have been written (`writeJwtKey`). */
  kids: string[];
  /** Provider write rate of the account (per second). */
  writePerSecond?: number;
  /** The `operator` caller's `maxWaitMs` (the policy's default, 1000, when absent). */
  operatorMaxWaitMs?: number;
  port?: number;
  /** A caller naming an account that does not exist (an invalid policy), after every other caller. */
  brokenCaller?: boolean;
  /** As many more callers as this, `caller-1`…, each with every scope: a large policy. */
  moreCallers?: number;
}

export interface SigningKey {
  kid: string;
  privateKey: KeyObject;
}

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: unknown;
  requestId: string;
}

export interface ReloadHarness {
  dir: string;
  policyPath: string;
  sandbox: RunningSandbox;
  gateway: RunningGateway;
  source: PolicySource;
  logLines: string[];
  /** The sandbox's team-a owner key, and a second team-a owner key to rotate to. */
  upstreamKeys: { current: SandboxKey; next: SandboxKey };
  labelOf(key: SandboxKey): string;
  /** Generates an ES256 pair and writes its public key to `keys/<kid>.pub.pem`. */
  writeJwtKey(kid: string): SigningKey;
  writePolicy(shape: PolicyShape): void;
  /** Writes the account's Strettch key file (as `echo key > file` would, trailing newline). */
  writeUpstreamKey(key: SandboxKey): void;
  mint(signing: SigningKey, sub?: string): string;
  request(method: string, target: string, token: string): Promise<Reply>;
  /** Log lines (parsed) whose `msg` contains `text`. */
  logged(text: string): Array<Record<string, unknown>>;
  metricsText(): Promise<string>;
  close(): Promise<void>;
}

function moreCallers(count: number): string {
  return Array.from({ length: count }, (_, i) => `  caller-${i + 1}: { account: main, scopes: ["*"] }\n`).join('');
}

function policyYaml(shape: PolicyShape): string {
  const keys = shape.kids
    .map((kid) => `    - { kid: ${kid}, algorithms: [ES256], publicKeyFile: keys/${kid}.pub.pem }`)
    .join('\n');
  return `listen: { host: 127.0.0.1, port: ${shape.port ?? 0}, adminPort: 0 }
upstream: { baseUrl: "{baseUrl}", timeoutMs: 5000 }
accounts:
  main: { apiKey: { file: secrets/main-key } }
limits:
  default: { read: 1000, write: ${shape.writePerSecond ?? 1000} }
auth:
  issuer: ${ISSUER}
  audience: ${AUDIENCE}
  maxTokenLifetimeSec: 3600
  keys:
${keys}
callers:
  operator: { account: main, scopes: ["*"]${shape.operatorMaxWaitMs === undefined ? '' : `, maxWaitMs: ${shape.operatorMaxWaitMs}`} }
${moreCallers(shape.moreCallers ?? 0)}${shape.brokenCaller ? '  stray: { account: nowhere, scopes: ["*"] }\n' : ''}`;
}

export async function startReloadHarness(
  initial: Omit<PolicyShape, 'kids'> & { kid: string },
): Promise<ReloadHarness & { firstKey: SigningKey }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sg-reload-'));
  fs.mkdirSync(path.join(dir, 'keys'));
  fs.mkdirSync(path.join(dir, 'secrets'));
  const policyPath = path.join(dir, 'gateway.yaml');
  const current = DEMO_KEYS.find((k) => k.team === 'team-a' && k.role === 'owner')!;
  const next: SandboxKey = { key: `rotated-${randomBytes(12).toString('hex')}`, team: 'team-a', role: 'owner' };
  const sandbox = await startSandbox({
    port: 0,
    createDelayMs: 0,
    transitionDelayMs: 0,
    limits: { readPerSecond: 10_000, writePerSecond: 10_000 },
    keys: [...DEMO_KEYS, next],
  });

  const writeJwtKey = (kid: string): SigningKey => {
    const pair = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    fs.writeFileSync(path.join(dir, 'keys', `${kid}.pub.pem`), pair.publicKey.export({ format: 'pem', type: 'spki' }));
    return { kid, privateKey: pair.privateKey };
  };
  const writePolicy = (shape: PolicyShape) =>
    fs.writeFileSync(policyPath, policyYaml(shape).replace('{baseUrl}', sandbox.apiBaseUrl));
  const writeUpstreamKey = (key: SandboxKey) => fs.writeFileSync(path.join(dir, 'secrets', 'main-key'), `${key.key}\n`);

  const firstKey = writeJwtKey(initial.kid);
  writeUpstreamKey(current);
  writePolicy({ ...initial, kids: [initial.kid] });

  const source = policyFileSource(policyPath, {
    readEnv: () => undefined,
    readFile: (file) => fs.readFileSync(file, 'utf8'),
  });
  const loaded = source.load();
  if (!loaded.ok) {
    await sandbox.close();
    throw new Error(`reload test policy is invalid: ${JSON.stringify(loaded.errors)}`);
  }
  const logLines: string[] = [];
  const logger = createLogger({ level: 'debug', destination: { write: (line: string) => void logLines.push(line) } });
  // No listen overrides: the policy's own listen settings are in force, so changing them is visible.
  const gateway = await startGateway({ policy: loaded.policy, logger, loadPolicy: source.load });
  const port = Number(new URL(gateway.url).port);

  const request = (method: string, target: string, token: string, portOverride = port): Promise<Reply> =>
    new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port: portOverride,
          method,
          path: target,
          headers: { authorization: `Bearer ${token}` },
          agent: false,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', reject);
          res.on('end', () => {
            let body: unknown;
            try {
              body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
            } catch {
              body = undefined;
            }
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body,
              requestId: String(res.headers['x-request-id'] ?? ''),
            });
          });
        },
      );
      req.on('error', reject);
      req.end();
    });

  let closing: Promise<void> | undefined;
  return {
    dir,
    policyPath,
    sandbox,
    gateway,
    source,
    logLines,
    upstreamKeys: { current, next },
    labelOf: keyLabel,
    firstKey,
    writeJwtKey,
    writePolicy,
    writeUpstreamKey,
    mint: (signing, sub = 'operator') =>
      mintToken({
        sub,
        lifetimeSec: 600,
        signingKey: signing.privateKey,
        alg: 'ES256',
        kid: signing.kid,
        issuer: ISSUER,
        audience: AUDIENCE,
        now: Date.now,
      }),
    request: (method, target, token) => request(method, target, token),
    logged: (text) =>
      logLines
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .filter((line) => String(line.msg).includes(text)),
    metricsText: async () => {
      const adminPort = Number(new URL(gateway.adminUrl).port);
      return new Promise<string>((resolve, reject) => {
        http
          .get({ host: '127.0.0.1', port: adminPort, path: '/metrics', agent: false }, (res) => {
            let text = '';
            res.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
            res.on('end', () => resolve(text));
          })
          .on('error', reject);
      });
    },
    close() {
      closing ??= (async () => {
        await gateway.close();
        await sandbox.close();
        fs.rmSync(dir, { recursive: true, force: true });
      })();
      return closing;
    },
  };
}

/** The value of one sample in Prometheus text (`name{labels}`), or undefined. */
export function sample(metrics: string, series: string): number | undefined {
  const line = metrics.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}
