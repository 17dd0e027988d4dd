/**
 * The baseline: what a naive gateway does. One fixed-window counter per (account, class) in Redis
 * (`RateLimiterRedis`, 30 reads and 5 writes per 1 s, the window starting at the first hit), a
 * yes/no gate that forwards at once or answers 429, no queue, no weights. While Redis is
 * unreachable it uses the library's recommended insurance: a memory limiter per replica at
 * ⌊points ÷ replicas⌋. The bench runs three of these as separate processes sharing one Redis.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { createRedisConnection, type RedisConnection, type RedisTopology } from '../../src/redis';
import { errorEnvelope } from '../../src/shared/envelope';

export interface BaselineProxyOptions {
  /** The sandbox origin, `http://127.0.0.1:<port>`; request paths are forwarded as received. */
  upstreamOrigin: string;
  apiKey: string;
  redis: RedisTopology;
  readPerSecond: number;
  writePerSecond: number;
  replicas: number;
}

export interface BaselineProxy {
  handler(req: IncomingMessage, res: ServerResponse): void;
  close(): Promise<void>;
}

/** Request headers the baseline passes on (as the gateway does, minus its checks). */
const FORWARDED = ['content-type', 'content-length', 'idempotency-key', 'accept'];

export function createBaselineProxy(options: BaselineProxyOptions): BaselineProxy {
  const redis: RedisConnection = createRedisConnection({ topology: options.redis, connectionName: 'bench-baseline' });
  const upstream = new URL(options.upstreamOrigin);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const limiter = (name: string, points: number) =>
    new RateLimiterRedis({
      storeClient: redis.libraryClient(),
      keyPrefix: `baseline:${name}`,
      points,
      duration: 1,
      rejectIfRedisNotReady: true,
      insuranceLimiter: new RateLimiterMemory({
        keyPrefix: `baseline-insurance:${name}`,
        points: Math.max(1, Math.floor(points / options.replicas)),
        duration: 1,
      }),
    });
  const limiters = { read: limiter('read', options.readPerSecond), write: limiter('write', options.writePerSecond) };

  const reply = (
    res: ServerResponse,
    status: number,
    code: string,
    message: string,
    headers: Record<string, string> = {},
  ): void => {
    const body = JSON.stringify(errorEnvelope(code, message, 'baseline'));
    res.writeHead(status, {
      ...headers,
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
    });
    res.end(body);
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.url === '/healthz') return reply(res, 200, 'OK', 'ok');
    const operationClass = req.method === 'GET' ? 'read' : 'write';
    try {
      await limiters[operationClass].consume('fleet');
    } catch (error) {
      if (!(error instanceof RateLimiterRes)) throw error;
      return reply(res, 429, 'TOO_MANY_REQUESTS', 'Rate limit exceeded.', {
        'retry-after': String(Math.max(1, Math.ceil(error.msBeforeNext / 1000))),
      });
    }
    const headers: Record<string, string> = { authorization: `Bearer ${options.apiKey}`, host: upstream.host };
    for (const name of FORWARDED) {
      const value = req.headers[name];
      if (typeof value === 'string') headers[name] = value;
    }
    await new Promise<void>((resolve) => {
      const out = http.request(
        { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers, agent },
        (upstreamRes) => {
          res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
          upstreamRes.pipe(res);
          upstreamRes.on('end', resolve);
          upstreamRes.on('error', () => resolve());
        },
      );
      out.setTimeout(10_000, () => out.destroy(new Error('upstream timeout')));
      out.on('error', () => {
        if (!res.headersSent) reply(res, 502, 'BAD_GATEWAY', 'The upstream could not be reached.');
        else res.destroy();
        resolve();
      });
      req.pipe(out);
    });
  }

  return {
    handler(req, res) {
      handle(req, res).catch(() => {
        if (!res.headersSent) reply(res, 500, 'INTERNAL_SERVER_ERROR', 'baseline proxy failure');
        else res.destroy();
      });
    },
    async close() {
      agent.destroy();
      await redis.close();
    },
  };
}
