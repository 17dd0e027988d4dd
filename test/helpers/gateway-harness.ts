/**
 * Integration harness for the gateway: the real sandbox on port 0 as the upstream, the real gateway
 * (public and admin ports 0) built from a test policy written as YAML and parsed with `parsePolicy`,
 * every gateway log line captured in memory, tokens minted or forged by hand, and requests sent
 * with `node:http` (or raw bytes with `net`) so that odd targets reach the gateway verbatim.
 *
 * One harness per test file: starting it costs a key generation and two listens.
 */
import {
  createHmac,
  createSecretKey,
  generateKeyPairSync,
  randomBytes,
  sign as cryptoSign,
  type KeyObject,
} from 'node:crypto';
import http, { type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import net from 'node:net';
import { mintToken, type JwtAlgorithm } from '../../src/gateway/auth';
import { startGateway, type GatewayOptions, type RunningGateway } from '../../src/gateway/compose';
import { createLogger } from '../../src/gateway/observability/logger';
import { activeTraceFields } from '../../src/gateway/observability/tracing';
import type { PipelineOptions } from '../../src/gateway/pipeline';
import { parsePolicy, type Policy } from '../../src/gateway/policy';
import {
  DEMO_KEYS,
  keyLabel,
  startSandbox,
  type RunningSandbox,
  type SandboxKey,
  type SandboxStats,
  type StartSandboxOptions,
} from '../../src/sandbox';
import { VALID_CREATE } from './valid-create';

export { VALID_CREATE };

export const ISSUER = 'https://auth.test.internal';
export const AUDIENCE = 'strettch-gateway-test';
export const RS_KID = 'rs';
/** A second RSA key, configured too: a token signed with `rs` but naming `rs2` must fail. */
export const RS2_KID = 'rs2';
export const HS_KID = 'hs';

/** The sandbox's demo keys, by role; the policy's accounts hold them (callers never see them). */
export const OWNER_KEY = DEMO_KEYS.find((k) => k.role === 'owner' && k.team === 'team-a')!;
export const MEMBER_KEY = DEMO_KEYS.find((k) => k.role === 'member')!;

/** One caller per shipped scope, plus a reader, two all-powerful operators and a sentinel caller. */
export const SCOPE_CALLERS = {
  'svc-catalog-read': 'catalog:read',
  'svc-computes-read': 'computes:read',
  'svc-computes-create': 'computes:create',
  'svc-computes-power': 'computes:power',
  'svc-computes-resize': 'computes:resize',
  'svc-computes-delete': 'computes:delete',
} as const;
export type ScopeCaller = keyof typeof SCOPE_CALLERS;
export type CallerName = ScopeCaller | 'reader' | 'operator' | 'operator-b' | 'sentinel-caller';

export interface GatewayHarnessOptions {
  /** Passed to `startSandbox` (limits, latency, …). Lifecycle delays default to 0 here. */
  sandbox?: Omit<StartSandboxOptions, 'port' | 'host' | 'keys'>;
  /** Upstream settings of the policy; `baseUrl` defaults to the sandbox's API base. */
  upstream?: { baseUrl?: string; timeoutMs?: number };
  /** How long `close()` lets in-flight requests finish. */
  drainMs?: number;
  /** Passed to `startGateway` (a short `bodyTimeoutMs` for slow-client tests, say). */
  pipeline?: Partial<PipelineOptions>;
  /** The public server's client timeouts and connection caps, passed to `startGateway`. */
  server?: GatewayOptions['server'];
  /** Passed to `startGateway` (the CLI warms the upstream path at start; tests do not by default). */
  warmUpConnections?: number;
  /** More callers, as YAML entries of the policy's `callers:` map (each line indented two spaces). */
  extraCallers?: string;
  /** Passed to `startGateway` (the CLI's registry, with process metrics); a fresh registry otherwise. */
  metrics?: GatewayOptions['metrics'];
  /** The policy's read limit per second for every account (default 1000: the schedule never throttles). */
  readPerSecond?: number;
  /** Passed to `startGateway`: a real Redis behind the schedule (in memory otherwise). */
  schedule?: GatewayOptions['schedule'];
  /** Passed to `startGateway`: OpenTelemetry traces (off otherwise). */
  tracing?: GatewayOptions['tracing'];
  /**
   * Replaces the policy's whole `auth:` section (YAML, starting with `auth:`), e.g. OIDC discovery
   * from a local issuer. `mint` then signs for its issuer; the env references JWT_RS_PUBLIC and
   * JWT_HS_SECRET stay available.
   */
  auth?: string;
}

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  /** Raw header lines as received, so duplicates and exact names are visible. */
  rawHeaders: string[];
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  requestId: string;
}

/** Any header, any number of times: `OutgoingHttpHeaders` would type `authorization` as one string. */
export type RequestHeaders = Record<string, string | string[] | number | undefined>;

export interface RequestOptions {
  /** An array value sends the header once per element (two `Authorization` lines, say). */
  headers?: RequestHeaders;
  body?: string | Buffer;
  /** Defaults to the gateway's public port. */
  port?: number;
}

export interface MintOverrides {
  scope?: string | readonly string[];
  lifetimeSec?: number;
  alg?: JwtAlgorithm;
  kid?: string;
  /** Defaults to the configured key for `alg`. */
  signingKey?: KeyObject | string;
  issuer?: string;
  audience?: string;
  /** Milliseconds since the epoch at which the token is issued. */
  now?: () => number;
}

/** Access-log line fields the tests read (the whole line is kept for leak checks). */
export interface AccessLine {
  msg: string;
  requestId: string;
  method?: string;
  operation?: string;
  caller?: string;
  account?: string;
  status?: number;
  upstreamStatus?: number;
  reason?: string;
  [field: string]: unknown;
}

export interface GatewayHarness {
  sandbox: RunningSandbox;
  gateway: RunningGateway;
  policy: Policy;
  /** Every line the gateway logged, raw JSON text. */
  logLines: string[];
  keys: {
    rsa: { privateKey: KeyObject; publicKey: KeyObject; publicKeyPem: string };
    rsa2: { privateKey: KeyObject; publicKey: KeyObject };
    hmacSecret: string;
    sentinelApiKey: string;
  };
  /** The sandbox label of the key an account holds, as the referee shows it: `team:role:<hash>`. */
  labelOf(account: 'main' | 'members' | 'sentinel'): string;
  mint(caller: string, overrides?: MintOverrides): string;
  request(method: string, rawTarget: string, options?: RequestOptions): Promise<Reply>;
  /** `request` with `Authorization: Bearer <minted token for caller>`. */
  as(
    caller: CallerName,
    method: string,
    rawTarget: string,
    options?: RequestOptions & { token?: MintOverrides },
  ): Promise<Reply>;
  /** Raw bytes on a fresh socket to the gateway; resolves with everything received until close. */
  raw(bytes: string | Buffer, port?: number): Promise<string>;
  /** The access-log line of one request (waits for it: the line is written when the response closes). */
  accessLine(requestId: string): Promise<AccessLine>;
  stats(): SandboxStats;
  resetUpstream(): void;
  /** Runs `fn` after a referee reset and asserts that the sandbox received no request meanwhile. */
  withoutUpstream<T>(fn: () => Promise<T>): Promise<T>;
  metricsText(): Promise<string>;
  /** Idempotent: the gateway's own close (stop listening, drain, then the admin port and the pool). */
  closeGateway(): Promise<void>;
  /** Idempotent: closes the gateway (draining), then the sandbox. */
  close(): Promise<void>;
}

export function createBody(hostName = 'web-01'): string {
  return JSON.stringify({ ...VALID_CREATE, hostName });
}

export const b64url = (value: unknown): string =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/**
 * Builds a compact JWS by hand, so a test can put anything in the header (`alg: none`, `jku`,
 * embedded keys) or the payload — things a well-behaved signing library refuses to produce.
 * `signWith`: a private key (RS256/ES256), an HMAC secret (HS*), or 'none' for an empty signature.
 */
export function forgeToken(
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
  signWith: KeyObject | Buffer | string | 'none',
): string {
  const input = `${b64url(header)}.${b64url(payload)}`;
  if (signWith === 'none') return `${input}.`;
  const alg = String(header.alg);
  let signature: Buffer;
  if (alg.toUpperCase().startsWith('HS')) {
    const secret = typeof signWith === 'string' || Buffer.isBuffer(signWith) ? signWith : signWith.export();
    signature = createHmac('sha256', secret).update(input).digest();
  } else if (alg.toUpperCase().startsWith('ES')) {
    signature = cryptoSign('sha256', Buffer.from(input), { key: signWith as KeyObject, dsaEncoding: 'ieee-p1363' });
  } else {
    signature = cryptoSign('sha256', Buffer.from(input), signWith as KeyObject);
  }
  return `${input}.${signature.toString('base64url')}`;
}

/** Claims that pass every check now, for `sub`; an `undefined` override removes the claim. */
export function claimsFor(sub: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const nowSec = Math.floor(Date.now() / 1000);
  const base: Record<string, unknown> = { sub, iss: ISSUER, aud: AUDIENCE, iat: nowSec, exp: nowSec + 300 };
  for (const [name, value] of Object.entries(overrides)) {
    if (value === undefined) delete base[name];
    else base[name] = value;
  }
  return base;
}

function policyText(
  upstreamBaseUrl: string,
  timeoutMs: number,
  extraCallers = '',
  readPerSecond = 1000,
  auth = defaultAuth(),
): string {
  const scopeCallers = Object.entries(SCOPE_CALLERS)
    .map(([name, scope]) => `  ${name}: { account: main, scopes: ["${scope}"] }`)
    .join('\n');
  return `# The integration tests' policy: every shipped scope, three accounts, keys by reference only.
listen: { host: 127.0.0.1, port: 0, adminPort: 0 }
upstream:
  baseUrl: ${upstreamBaseUrl}
  timeoutMs: ${timeoutMs}
  maxSockets: 16
accounts:
  main: { apiKey: { env: KEY_MAIN } }
  members: { apiKey: { env: KEY_MEMBERS } }
  sentinel: { apiKey: { file: secrets/sentinel-api-key } }
# High, so that a gateway-side schedule never throttles these tests; the sandbox's own limits do.
limits:
  default: { read: ${readPerSecond}, write: 1000 }
${auth}
callers:
${scopeCallers}
  reader: { account: members, scopes: [catalog:read, computes:read] }
  operator: { account: main, scopes: ["*"] }
  operator-b: { account: main, scopes: ["*"] }
  sentinel-caller: { account: sentinel, scopes: ["*"] }
${extraCallers}`;
}

function defaultAuth(): string {
  return `auth:
  issuer: ${ISSUER}
  audience: ${AUDIENCE}
  maxTokenLifetimeSec: 3600
  clockToleranceSec: 5
  maxTokenBytes: 8192
  keys:
    - { kid: ${RS_KID}, algorithms: [RS256], publicKey: { env: JWT_RS_PUBLIC } }
    - { kid: ${RS2_KID}, algorithms: [RS256], publicKeyFile: keys/rs2.pub.pem }
    - { kid: ${HS_KID}, algorithms: [HS256], secret: { env: JWT_HS_SECRET } }`;
}

/** RSA generation is the slow part of a start; harnesses of one test file share the pairs. */
let rsaPairs: ReturnType<typeof generateRsaPairs> | undefined;

/** The pairs behind `rs` and `rs2` (generated once per test file), for an issuer that publishes them. */
export function harnessRsaPairs(): ReturnType<typeof generateRsaPairs> {
  rsaPairs ??= generateRsaPairs();
  return rsaPairs;
}
function generateRsaPairs() {
  return [
    generateKeyPairSync('rsa', { modulusLength: 2048 }),
    generateKeyPairSync('rsa', { modulusLength: 2048 }),
  ] as const;
}

export async function startGatewayHarness(options: GatewayHarnessOptions = {}): Promise<GatewayHarness> {
  rsaPairs ??= generateRsaPairs();
  const [rsa, rsa2] = rsaPairs;
  const publicKeyPem = rsa.publicKey.export({ format: 'pem', type: 'spki' }).toString();
  const hmacSecret = randomBytes(32).toString('hex');
  const sentinelApiKey = `sentinel-REAL-KEY-${randomBytes(12).toString('hex')}`;
  const sentinelKey: SandboxKey = { key: sentinelApiKey, team: 'team-s', role: 'owner' };

  const sandbox = await startSandbox({
    port: 0,
    createDelayMs: 0,
    transitionDelayMs: 0,
    ...options.sandbox,
    keys: [...DEMO_KEYS, sentinelKey],
  });

  const sourcePath = '/policy/gateway.yaml';
  const env: Record<string, string> = {
    KEY_MAIN: OWNER_KEY.key,
    KEY_MEMBERS: MEMBER_KEY.key,
    JWT_RS_PUBLIC: publicKeyPem,
    JWT_HS_SECRET: hmacSecret,
  };
  const files: Record<string, string> = {
    '/policy/secrets/sentinel-api-key': `${sentinelApiKey}\n`,
    '/policy/keys/rs2.pub.pem': rsa2.publicKey.export({ format: 'pem', type: 'spki' }).toString(),
  };
  const parsed = parsePolicy(
    policyText(
      options.upstream?.baseUrl ?? sandbox.apiBaseUrl,
      options.upstream?.timeoutMs ?? 5000,
      options.extraCallers,
      options.readPerSecond,
      options.auth,
    ),
    sourcePath,
    {
      readEnv: (name) => (Object.hasOwn(env, name) ? env[name] : undefined),
      readFile: (file) => {
        if (!Object.hasOwn(files, file)) throw Object.assign(new Error(`ENOENT: ${file}`), { code: 'ENOENT' });
        return files[file]!;
      },
    },
  );
  if (!parsed.ok) {
    await sandbox.close();
    throw new Error(`test policy is invalid: ${parsed.errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`);
  }
  const policy = parsed.policy;

  const logLines: string[] = [];
  const logger = createLogger({
    level: 'debug',
    destination: { write: (line: string) => void logLines.push(line) },
    // As the CLI does: with tracing on, every line logged on a request's behalf names its trace.
    ...(options.tracing?.enabled ? { mixin: activeTraceFields } : {}),
  });
  let gateway: RunningGateway;
  try {
    gateway = await startGateway({
      policy,
      logger,
      host: '127.0.0.1',
      port: 0,
      adminPort: 0,
      ...(options.drainMs !== undefined ? { drainMs: options.drainMs } : {}),
      ...(options.pipeline ? { pipeline: options.pipeline } : {}),
      ...(options.server ? { server: options.server } : {}),
      ...(options.warmUpConnections !== undefined ? { warmUpConnections: options.warmUpConnections } : {}),
      ...(options.metrics ? { metrics: options.metrics } : {}),
      ...(options.schedule ? { schedule: options.schedule } : {}),
      ...(options.tracing ? { tracing: options.tracing } : {}),
    });
  } catch (error) {
    await sandbox.close();
    throw error;
  }
  const gatewayPort = Number(new URL(gateway.url).port);

  const labels = {
    main: keyLabel(OWNER_KEY),
    members: keyLabel(MEMBER_KEY),
    sentinel: keyLabel(sentinelKey),
  };

  const mint = (caller: string, overrides: MintOverrides = {}): string => {
    const alg = overrides.alg ?? 'RS256';
    return mintToken({
      sub: caller,
      ...(overrides.scope !== undefined ? { scope: overrides.scope } : {}),
      lifetimeSec: overrides.lifetimeSec ?? 300,
      signingKey: overrides.signingKey ?? (alg === 'HS256' ? hmacSecret : rsa.privateKey),
      alg,
      kid: overrides.kid ?? (alg === 'HS256' ? HS_KID : RS_KID),
      issuer: overrides.issuer ?? policy.auth.issuer,
      audience: overrides.audience ?? AUDIENCE,
      now: overrides.now ?? Date.now,
    });
  };

  const request = (method: string, rawTarget: string, o: RequestOptions = {}): Promise<Reply> =>
    new Promise((resolve, reject) => {
      const headers = { ...o.headers } as OutgoingHttpHeaders;
      if (
        o.body !== undefined &&
        headers['content-length'] === undefined &&
        headers['transfer-encoding'] === undefined
      ) {
        headers['content-length'] = Buffer.byteLength(o.body);
      }
      // `path` is sent as given: no URL parsing, no dot-segment removal (unlike fetch).
      const req = http.request(
        { host: '127.0.0.1', port: o.port ?? gatewayPort, method, path: rawTarget, headers, agent: false },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', reject);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let body: unknown;
            try {
              body = JSON.parse(text);
            } catch {
              body = undefined;
            }
            const requestId = res.headers['x-request-id'];
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              rawHeaders: res.rawHeaders,
              text,
              body,
              requestId: typeof requestId === 'string' ? requestId : '',
            });
          });
        },
      );
      req.on('error', reject);
      req.end(o.body);
    });

  const as = (
    caller: CallerName,
    method: string,
    rawTarget: string,
    o: RequestOptions & { token?: MintOverrides } = {},
  ) =>
    request(method, rawTarget, { ...o, headers: { authorization: `Bearer ${mint(caller, o.token)}`, ...o.headers } });

  const raw = (bytes: string | Buffer, port = gatewayPort): Promise<string> =>
    new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => socket.write(bytes));
      let received = '';
      socket.on('data', (chunk) => {
        received += chunk.toString('latin1');
        // One response is all a test wants; do not wait for keep-alive to time out.
        if (/\r\n\r\n/.test(received) && responseComplete(received)) socket.end();
      });
      socket.on('close', () => resolve(received));
      socket.on('error', reject);
    });

  const accessLine = async (requestId: string): Promise<AccessLine> => {
    for (let attempt = 0; attempt < 200; attempt++) {
      for (const line of logLines) {
        const parsedLine = JSON.parse(line) as AccessLine;
        if (parsedLine.msg === 'request' && parsedLine.requestId === requestId) return parsedLine;
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    throw new Error(`no access-log line for request ${requestId}`);
  };

  const withoutUpstream = async <T>(fn: () => Promise<T>): Promise<T> => {
    sandbox.referee.reset();
    const result = await fn();
    const seen = sandbox.referee.stats().lastRequest;
    if (seen !== null) throw new Error(`the upstream was called: ${seen.method} ${seen.target}`);
    return result;
  };

  let gatewayClosing: Promise<void> | undefined;
  const closeGateway = (): Promise<void> => (gatewayClosing ??= gateway.close());
  let closing: Promise<void> | undefined;
  return {
    sandbox,
    gateway,
    policy,
    logLines,
    keys: { rsa: { ...rsa, publicKeyPem }, rsa2, hmacSecret, sentinelApiKey },
    labelOf: (account) => labels[account],
    mint,
    request,
    as,
    raw,
    accessLine,
    stats: () => sandbox.referee.stats(),
    resetUpstream: () => sandbox.referee.reset(),
    withoutUpstream,
    metricsText: async () => (await request('GET', '/metrics', { port: Number(new URL(gateway.adminUrl).port) })).text,
    closeGateway,
    close() {
      closing ??= (async () => {
        await closeGateway();
        await sandbox.close();
      })();
      return closing;
    },
  };
}

/** Whether a raw HTTP/1.1 response text holds a whole response (by Content-Length, or a chunked end). */
function responseComplete(text: string): boolean {
  const [head, ...rest] = text.split('\r\n\r\n');
  const body = rest.join('\r\n\r\n');
  const length = /\r\ncontent-length: *(\d+)/i.exec(head ?? '');
  if (length) return Buffer.byteLength(body, 'latin1') >= Number(length[1]);
  if (/\r\ntransfer-encoding: *chunked/i.test(head ?? '')) return body.endsWith('0\r\n\r\n');
  return false;
}

/** An HS256 key object from any secret (even one the policy would refuse), for signing wrong tokens. */
export function hmacKey(secret: string | Buffer): KeyObject {
  return createSecretKey(typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret);
}

/** A port nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
