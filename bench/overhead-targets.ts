/**
 * The things measured side by side, each on 127.0.0.1, port 0: the sandbox (the upstream), a bare
 * http-proxy-middleware passthrough (also with one no-op Redis script call per request), and the
 * gateway built by its own composition root — with tracing off (the default) and with tracing on,
 * exporting to an OTLP receiver that discards.
 */
import { generateKeyPairSync } from 'node:crypto';
import http from 'node:http';
import express from 'express';
import Redis from 'ioredis';
import { createProxyMiddleware } from 'http-proxy-middleware';
import type { DestinationStream } from 'pino';
import { stringify } from 'yaml';
import { mintToken, type JwtAlgorithm } from '../src/gateway/auth';
import { startGateway, type ScheduleSettings } from '../src/gateway/compose';
import { createLogger } from '../src/gateway/observability/logger';
import type { TracingSettings } from '../src/gateway/observability/tracing';
import { parsePolicy } from '../src/gateway/policy';
import { DEMO_KEYS, startSandbox } from '../src/sandbox';
import { listen } from '../src/shared/http-server';

export const BENCH_HOST = '127.0.0.1';
/** The sandbox's owner key; the passthrough and the gateway add it, the direct client sends it itself. */
export const BENCH_SANDBOX_KEY = DEMO_KEYS[0]!.key;
/** Far above what one machine can send, so the sandbox never answers 429 during the bench. */
export const UNLIMITED_PER_SECOND = 1_000_000;
/** The same upstream pool size for the passthrough and the gateway (the policy's default). */
export const UPSTREAM_MAX_SOCKETS = 64;

/** `silent`: level silent. `null-stream`: level info, every access line built and then dropped. */
export type GatewayLogMode = 'silent' | 'null-stream';
export type BenchAlgorithm = Extract<JwtAlgorithm, 'ES256' | 'RS256'>;

export interface BenchServer {
  /** `http://127.0.0.1:<port>` */
  url: string;
  close(): Promise<void>;
}

export async function startBenchSandbox(): Promise<BenchServer & { apiBaseUrl: string }> {
  const sandbox = await startSandbox({
    host: BENCH_HOST,
    port: 0,
    latencyMs: 0,
    jitterMs: 0,
    limits: { readPerSecond: UNLIMITED_PER_SECOND, writePerSecond: UNLIMITED_PER_SECOND },
  });
  return { url: sandbox.url, apiBaseUrl: sandbox.apiBaseUrl, close: () => sandbox.close() };
}

/**
 * Where the traced gateway exports: accepts `POST /v1/traces`, reads the body and drops it. It runs
 * beside the sandbox, so the gateway's thread pays for building and sending spans, not for receiving them.
 */
export async function startDiscardingOtlpReceiver(): Promise<BenchServer & { tracesUrl: string }> {
  const server = await listen(
    (req, res) => {
      req.resume();
      req.on('end', () =>
        res.writeHead(req.method === 'POST' ? 200 : 404, { 'content-type': 'application/json' }).end('{}'),
      );
    },
    { host: BENCH_HOST, port: 0 },
  );
  return { url: server.url, tracesUrl: `${server.url}/v1/traces`, close: () => server.close(1000) };
}

/** Tracing on as `OTEL_EXPORTER_OTLP_ENDPOINT` alone turns it on: every new trace sampled. */
export function benchTracing(tracesUrl: string): TracingSettings {
  return {
    enabled: true,
    tracesUrl,
    serviceName: 'strettch-gateway-bench',
    sampler: { kind: 'parentbased_always_on' },
  };
}

/** The baseline: what forwarding costs with nothing else — no auth, no checks, no logs. */
export async function startPassthrough(upstreamOrigin: string): Promise<BenchServer> {
  return startProxy(upstreamOrigin);
}

/**
 * The floor of any decision shared through Redis: the passthrough, plus one script call per request
 * that does nothing (`return 1`), sent with a reservation's keys and argument count. What the
 * Redis-schedule gateway adds over this is the schedule's own work, not the round trip.
 */
export async function startRedisRoundTripPassthrough(upstreamOrigin: string, redisUrl: string): Promise<BenchServer> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  const sha1 = String(await redis.script('LOAD', 'return 1'));
  const keys = ['sg:{bench}:s', 'sg:{bench}:cal', 'sg:{bench}:who'];
  const args = Array.from({ length: RESERVATION_ARGS }, (_, i) => String(i * 1234.5678));
  const proxy = await startProxy(upstreamOrigin, (_req, _res, next) => {
    redis.evalsha(sha1, keys.length, ...keys, ...args).then(
      () => next(),
      (error: unknown) => next(error),
    );
  });
  return {
    url: proxy.url,
    async close() {
      await proxy.close();
      redis.disconnect();
    },
  };
}

/** ARGV of one reservation (src/schedule/redis-store.ts: 5 common + 19 of the reservation). */
const RESERVATION_ARGS = 24;

async function startProxy(upstreamOrigin: string, before?: express.RequestHandler): Promise<BenchServer> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: UPSTREAM_MAX_SOCKETS });
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  if (before) app.use(before);
  app.use(
    createProxyMiddleware({
      target: upstreamOrigin,
      changeOrigin: true,
      agent,
      headers: { authorization: `Bearer ${BENCH_SANDBOX_KEY}` },
    }),
  );
  const server = await listen(app, { host: BENCH_HOST, port: 0 });
  return {
    url: server.url,
    async close() {
      await server.close(1000);
      agent.destroy();
    },
  };
}

const ISSUER = 'https://bench.strettch-gateway.local';
const AUDIENCE = 'strettch-gateway-bench';
const KID = 'bench';
const CALLER = 'bench-reader';
const TOKEN_LIFETIME_SEC = 3600;
const PUBLIC_KEY_ENV = 'BENCH_PUBLIC_KEY';
const SANDBOX_KEY_ENV = 'BENCH_SANDBOX_KEY';

/** Drops every line; pino still serialises and redacts it, as it would for a real sink. */
const nullDestination: DestinationStream = { write: () => undefined };

/** The gateway as `npm start` builds it (auth + scope + proxy), from a policy parsed like a user's file. */
export async function startBenchGateway(
  upstreamApiBaseUrl: string,
  options: {
    algorithm: BenchAlgorithm;
    logMode: GatewayLogMode;
    tracing?: TracingSettings;
    /** Absent: the schedule in memory (one replica); with `redisUrl`, shared through Redis. */
    schedule?: ScheduleSettings;
  },
): Promise<BenchServer & { token: string }> {
  const { publicKey, privateKey } =
    options.algorithm === 'ES256'
      ? generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
      : generateKeyPairSync('rsa', { modulusLength: 2048 });
  const env: Record<string, string> = {
    [PUBLIC_KEY_ENV]: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
    [SANDBOX_KEY_ENV]: BENCH_SANDBOX_KEY,
  };
  const policyText = stringify({
    listen: { host: BENCH_HOST, port: 0, adminPort: 0 },
    upstream: { baseUrl: upstreamApiBaseUrl, timeoutMs: 30_000, maxSockets: UPSTREAM_MAX_SOCKETS },
    accounts: { sandbox: { apiKey: { env: SANDBOX_KEY_ENV } } },
    limits: { default: { read: 100_000, write: 100_000 } },
    auth: {
      issuer: ISSUER,
      audience: AUDIENCE,
      maxTokenLifetimeSec: TOKEN_LIFETIME_SEC,
      keys: [{ kid: KID, algorithms: [options.algorithm], publicKey: { env: PUBLIC_KEY_ENV } }],
    },
    callers: { [CALLER]: { account: 'sandbox', scopes: ['catalog:read'] } },
  });
  const parsed = parsePolicy(policyText, '(bench policy)', {
    readEnv: (name) => env[name],
    readFile: (file) => {
      throw new Error(`the bench policy reads no files (${file})`);
    },
  });
  if (!parsed.ok)
    throw new Error(`bench policy is invalid: ${parsed.errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`);

  const logger = createLogger({
    level: options.logMode === 'silent' ? 'silent' : 'info',
    destination: nullDestination,
  });
  const gateway = await startGateway({
    policy: parsed.policy,
    logger,
    drainMs: 1000,
    tracing: options.tracing,
    schedule: options.schedule,
  });
  const token = mintToken({
    sub: CALLER,
    lifetimeSec: TOKEN_LIFETIME_SEC,
    signingKey: privateKey,
    alg: options.algorithm,
    kid: KID,
    issuer: ISSUER,
    audience: AUDIENCE,
    now: Date.now,
  });
  return { url: gateway.url, token, close: () => gateway.close() };
}
