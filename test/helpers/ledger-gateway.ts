/**
 * One real gateway on a real Redis, in front of the real sandbox, with callers that use ownership
 * (owner tags on) and quotas: what the ledger's durability and `ledger rebuild` tests act through.
 * The policy is written as a file too (`policyPath`), so the CLI reads exactly what the gateway runs.
 * `direct()` calls the sandbox with the account's key, as someone working outside the gateway would.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http, { type IncomingHttpHeaders } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { mintToken } from '../../src/gateway/auth';
import { startGateway, type RunningGateway } from '../../src/gateway/compose';
import { createLogger } from '../../src/gateway/observability/logger';
import { parsePolicy } from '../../src/gateway/policy';
import { startSandbox, type RunningSandbox, type StartSandboxOptions } from '../../src/sandbox';
import { AUDIENCE, HS_KID, ISSUER, OWNER_KEY } from './gateway-harness';
import { VALID_CREATE } from './valid-create';
import { readAnswer } from './http-answer';

export const ACCOUNT = 'main';
/** Live-compute quotas of the callers, as the policy sets them. */
export const QUOTAS = { autoscaler: 3, ci: 5 } as const;
/**
 * Room for a busy machine: after Redis restarts empty the schedule holds new slots back for its
 * transition guard (a second), and these tests judge the ledger, not the queue.
 */
const MAX_WAIT_MS = 10_000;

export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

export interface LedgerGatewayOptions {
  redisUrl: string;
  /** The policy's read rate for the account (default 1000/s) and its safety factor (default 0.85). */
  readPerSecond?: number;
  safety?: number;
  sandbox?: Omit<StartSandboxOptions, 'port' | 'host' | 'keys'>;
}

export interface LedgerGateway {
  sandbox: RunningSandbox;
  gateway: RunningGateway;
  policyPath: string;
  /** The environment the policy's `{env: …}` references resolve from. */
  env: Readonly<Record<string, string>>;
  logLines: string[];
  as(caller: string, method: string, target: string, body?: object): Promise<Answer>;
  /** A create through the gateway; its compute id (fails the test on anything but 202). */
  create(caller: string): Promise<string>;
  /** The sandbox itself, with the account's key: outside the gateway. */
  direct(method: string, target: string, body?: object): Promise<Answer>;
  close(): Promise<void>;
}

function policyDocument(options: LedgerGatewayOptions, upstreamBaseUrl: string): object {
  const computes = ['computes:*'];
  return {
    listen: { host: '127.0.0.1', port: 0, adminPort: 0 },
    upstream: { baseUrl: upstreamBaseUrl, timeoutMs: 5000 },
    accounts: { [ACCOUNT]: { apiKey: { env: 'KEY_MAIN' } } },
    limits: { [ACCOUNT]: { read: options.readPerSecond ?? 1000, write: 1000, safety: options.safety ?? 0.85 } },
    auth: {
      issuer: ISSUER,
      audience: AUDIENCE,
      maxTokenLifetimeSec: 3600,
      keys: [{ kid: HS_KID, algorithms: ['HS256'], secret: { env: 'JWT_HS_SECRET' } }],
    },
    callers: {
      autoscaler: {
        account: ACCOUNT,
        scopes: computes,
        maxWaitMs: MAX_WAIT_MS,
        ownership: { foreign: 'forbidden', ownerTag: true },
        quotas: { liveComputes: QUOTAS.autoscaler },
      },
      ci: {
        account: ACCOUNT,
        scopes: computes,
        maxWaitMs: MAX_WAIT_MS,
        ownership: { foreign: 'not-found', ownerTag: true },
        quotas: { liveComputes: QUOTAS.ci },
      },
      ops: { account: ACCOUNT, scopes: ['*'], maxWaitMs: MAX_WAIT_MS },
    },
  };
}

function send(
  port: number,
  method: string,
  target: string,
  headers: Record<string, string>,
  body?: object,
): Promise<Answer> {
  const text = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method,
        path: target,
        headers: {
          ...headers,
          ...(text === undefined
            ? {}
            : {
                'content-type': 'application/json',
                'content-length': Buffer.byteLength(text),
                'idempotency-key': randomUUID(),
              }),
        },
      },
      (res) => readAnswer(res).then(resolve, reject),
    );
    req.on('error', reject);
    req.end(text);
  });
}

let hosts = 0;

export async function startLedgerGateway(options: LedgerGatewayOptions): Promise<LedgerGateway> {
  const sandbox = await startSandbox({
    port: 0,
    createDelayMs: 0,
    transitionDelayMs: 0,
    limits: { readPerSecond: 1000, writePerSecond: 1000 },
    ...options.sandbox,
    keys: [OWNER_KEY],
  });
  const hmacSecret = randomBytes(32).toString('hex');
  const env = { KEY_MAIN: OWNER_KEY.key, JWT_HS_SECRET: hmacSecret };
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sg-ledger-'));
  const policyPath = path.join(dir, 'policy.yaml');
  // JSON is YAML: the gateway and the CLI read the same file through the same parser.
  const policyText = JSON.stringify(policyDocument(options, sandbox.apiBaseUrl), null, 2);
  writeFileSync(policyPath, policyText);
  const parsed = parsePolicy(policyText, policyPath, {
    readEnv: (name) => (Object.hasOwn(env, name) ? env[name as keyof typeof env] : undefined),
    readFile: () => {
      throw new Error('no files');
    },
  });
  if (!parsed.ok) {
    await sandbox.close();
    throw new Error(`policy: ${parsed.errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`);
  }
  const logLines: string[] = [];
  const gateway = await startGateway({
    policy: parsed.policy,
    logger: createLogger({ level: 'info', destination: { write: (line: string) => void logLines.push(line) } }),
    host: '127.0.0.1',
    port: 0,
    adminPort: 0,
    drainMs: 2000,
    // A generous command deadline: an event-loop stall on a loaded machine is not the outage under test.
    schedule: { redisUrl: options.redisUrl, expectedReplicas: 1, commandTimeoutMs: 1000 },
  });
  // Until its Redis connection is up, the gateway answers ownership checks 503 (fails closed).
  await eventually(async () => gateway.schedule.state().reason !== 'connecting').catch(async (error: unknown) => {
    await gateway.close();
    await sandbox.close();
    throw error;
  });
  const port = Number(new URL(gateway.url).port);
  const sandboxPort = Number(new URL(sandbox.url).port);
  const tokens = new Map<string, string>();
  const token = (caller: string) => {
    if (!tokens.has(caller))
      tokens.set(
        caller,
        mintToken({
          sub: caller,
          lifetimeSec: 3600,
          signingKey: hmacSecret,
          alg: 'HS256',
          kid: HS_KID,
          issuer: ISSUER,
          audience: AUDIENCE,
          now: Date.now,
        }),
      );
    return tokens.get(caller)!;
  };
  const as = (caller: string, method: string, target: string, body?: object) =>
    send(port, method, target, { authorization: `Bearer ${token(caller)}` }, body);
  let closed = false;
  return {
    sandbox,
    gateway,
    policyPath,
    env,
    logLines,
    as,
    async create(caller) {
      const answer = await as(caller, 'POST', '/api/v1/computes', {
        ...VALID_CREATE,
        hostName: `ledger-${(hosts += 1)}`,
      });
      if (answer.status !== 202)
        throw new Error(`create as ${caller}: ${answer.status} ${JSON.stringify(answer.body)}`);
      return String(answer.body.data.id);
    },
    direct: (method, target, body) =>
      send(sandboxPort, method, `/api/v1${target}`, { authorization: `Bearer ${OWNER_KEY.key}` }, body),
    async close() {
      if (closed) return;
      closed = true;
      await gateway.close();
      await sandbox.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Polls until `check` holds (Redis back, say); generous, for a loaded machine. */
export async function eventually(check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
