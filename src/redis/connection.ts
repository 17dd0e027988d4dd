/**
 * The only module that constructs ioredis clients. Everything else receives a `RedisConnection`,
 * which speaks in our terms: scripts, readiness, counted commands, and one error type, whatever the
 * topology behind it (a single node, a Sentinel-watched master, a Cluster: `topology.ts`).
 *
 * Fail fast by design (DESIGN §4): no offline queue, a short command timeout, no per-request
 * retries. A schedule that cannot reach Redis within the timeout falls back to its local schedule
 * instead of holding the caller. The same holds during a failover: the request path never waits
 * for a new master, the schedule's probe finds it.
 */
import Redis, { Cluster, type ClusterOptions, type RedisOptions } from 'ioredis';
import { StoreUnavailableError, toStoreError } from './errors';
import type { LuaScript } from './lua-script';
import { tlsOptionsFrom } from './tls';
import type { RedisTopology } from './topology';

export interface RedisConnectionOptions {
  /** A single node: `redis://[user:password@]host:port[/db]` or `rediss://…`. Ignored when `topology` is set. */
  url?: string;
  /** Any topology (single, sentinel, cluster); what the gateway's settings build. */
  topology?: RedisTopology;
  /** Per-command deadline; a reply later than this counts as an outage. Default 150. */
  commandTimeoutMs?: number;
  /** TCP connect deadline. Default 1000. */
  connectTimeoutMs?: number;
  /** Fixed delay between reconnect attempts, so replicas notice a returning Redis together. Default 100. */
  reconnectDelayMs?: number;
  /** Shown in `CLIENT LIST`. */
  connectionName?: string;
}

export type ConnectionStatus = 'ready' | 'down';

export interface CommandCounts {
  /** Every command this connection sent (EVAL and EVALSHA included; connection setup excluded). */
  total: number;
  evalsha: number;
  eval: number;
  /** EVALSHA answered NOSCRIPT and was re-sent as EVAL (an extra round trip). */
  noscriptRetries: number;
}

export interface RedisConnection {
  /** Runs a script in one round trip: EVALSHA once Redis has seen it on this connection, EVAL the first time. */
  runScript(script: LuaScript, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown>;
  /** Any other command, for probes and diagnostics. */
  command(name: string, ...args: (string | number)[]): Promise<unknown>;
  status(): ConnectionStatus;
  /** Called on every transition; returns an unsubscribe function. */
  onStatusChange(listener: (status: ConnectionStatus) => void): () => void;
  /** Subscribes on a second connection (pub/sub needs its own); messages arrive until `close()`. */
  subscribe(channel: string, onMessage: (message: string) => void): Promise<void>;
  counts(): CommandCounts;
  /** The underlying client, typed opaquely, for libraries that take one (rate-limiter-flexible's `storeClient`). */
  libraryClient(): unknown;
  close(): Promise<void>;
}

type Client = Redis | Cluster;

export function createRedisConnection(options: RedisConnectionOptions): RedisConnection {
  const commandTimeoutMs = options.commandTimeoutMs ?? 150;
  const topology = topologyOf(options);
  const client = createClient(topology, options, 'commands');
  let subscriber: Client | undefined;
  let closed = false;
  const listeners = new Set<(status: ConnectionStatus) => void>();
  const loadedScripts = new Set<string>();
  const counts: CommandCounts = { total: 0, evalsha: 0, eval: 0, noscriptRetries: 0 };
  let current: ConnectionStatus = 'down';

  const setStatus = (next: ConnectionStatus): void => {
    if (next === current) return;
    current = next;
    for (const listener of listeners) listener(next);
  };
  client.on('ready', () => {
    // A new socket: the server may be a fresh process that has never seen our scripts.
    loadedScripts.clear();
    setStatus('ready');
  });
  for (const event of ['close', 'end', 'reconnecting'] as const) client.on(event, () => setStatus('down'));

  const refuseWhenClosed = (): void => {
    if (closed) throw new StoreUnavailableError('unavailable', 'connection closed');
  };

  const send = async (name: string, args: (string | number)[]): Promise<unknown> => {
    refuseWhenClosed();
    counts.total += 1;
    try {
      return await withinDeadline(client.call(name, ...args), commandTimeoutMs);
    } catch (error) {
      throw toStoreError(error);
    }
  };

  return {
    async runScript(script, keys, args) {
      const tail = [keys.length, ...keys, ...args];
      if (!loadedScripts.has(script.sha1)) {
        counts.eval += 1;
        const reply = await send('eval', [script.source, ...tail]);
        loadedScripts.add(script.sha1);
        return reply;
      }
      counts.evalsha += 1;
      try {
        return await send('evalsha', [script.sha1, ...tail]);
      } catch (error) {
        if (!(error instanceof StoreUnavailableError) || error.replyCode !== 'NOSCRIPT') throw error;
        // SCRIPT FLUSH, or a failover to a replica that never saw the script.
        counts.noscriptRetries += 1;
        counts.eval += 1;
        loadedScripts.delete(script.sha1);
        const reply = await send('eval', [script.source, ...tail]);
        loadedScripts.add(script.sha1);
        return reply;
      }
    },
    command(name, ...args) {
      return send(name, args);
    },
    status: () => current,
    onStatusChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async subscribe(channel, onMessage) {
      // A subscriber made after close() would never be closed, and would keep its process alive.
      refuseWhenClosed();
      if (subscriber === undefined) {
        // Off the request path, so this one may queue while (re)connecting; it resubscribes by itself.
        subscriber = createClient(topology, options, 'subscriber');
      }
      const target = subscriber;
      target.on('message', (received: string, message: string) => {
        if (received === channel) onMessage(message);
      });
      await target.subscribe(channel);
    },
    counts: () => ({ ...counts }),
    libraryClient: () => client,
    async close() {
      if (closed) return;
      closed = true;
      listeners.clear();
      await Promise.all(
        [client, subscriber].map(async (c) => {
          if (c === undefined) return;
          if (c.status === 'ready') {
            try {
              await c.quit();
              return;
            } catch {
              // fall through to a hard disconnect
            }
          }
          c.disconnect();
        }),
      );
    },
  };
}

function topologyOf(options: RedisConnectionOptions): RedisTopology {
  if (options.topology !== undefined) return options.topology;
  if (options.url !== undefined) return { kind: 'single', url: options.url };
  throw new Error('createRedisConnection: neither topology nor url given');
}

/**
 * One ioredis client for the topology. `commands`: the request path's, fail fast. `subscriber`: the
 * pub/sub one, off the request path, so it may queue while (re)connecting and resubscribes by itself.
 */
function createClient(
  topology: RedisTopology,
  options: RedisConnectionOptions,
  role: 'commands' | 'subscriber',
): Client {
  const commandTimeoutMs = options.commandTimeoutMs ?? 150;
  const reconnectDelayMs = options.reconnectDelayMs ?? 100;
  const tls = topology.tls === undefined ? undefined : tlsOptionsFrom(topology.tls);
  const node: RedisOptions = {
    connectTimeout: options.connectTimeoutMs ?? 1000,
    protocol: 2,
    disableClientInfo: true,
    ...(options.connectionName === undefined ? {} : { connectionName: options.connectionName }),
    ...(topology.kind !== 'single' && topology.username !== undefined ? { username: topology.username } : {}),
    ...(topology.kind !== 'single' && topology.password !== undefined ? { password: topology.password } : {}),
    ...(tls === undefined ? {} : { tls }),
    ...(role === 'commands'
      ? {
          // The deadline is ours (`withinDeadline`): ioredis's own timer fires after an event-loop stall
          // before the reply that arrived meanwhile is read, and calls a busy process's Redis down. Its
          // timeout stays, much longer, only to drop commands abandoned on a silent connection.
          commandTimeout: Math.max(5000, commandTimeoutMs * 20),
          maxRetriesPerRequest: 0,
          autoResendUnfulfilledCommands: false,
        }
      : { maxRetriesPerRequest: null, autoResubscribe: true }),
  };
  const enableOfflineQueue = role === 'subscriber';
  let client: Client;
  switch (topology.kind) {
    case 'single':
      client = new Redis(topology.url, {
        ...node,
        enableOfflineQueue,
        enableReadyCheck: false,
        retryStrategy: () => reconnectDelayMs,
      });
      break;
    case 'sentinel':
      client = new Redis({
        ...node,
        sentinels: topology.sentinels.map((a) => ({ host: a.host, port: a.port })),
        name: topology.masterName,
        ...(topology.sentinelPassword === undefined ? {} : { sentinelPassword: topology.sentinelPassword }),
        ...(tls === undefined ? {} : { enableTLSForSentinelMode: true, sentinelTLS: tls }),
        sentinelCommandTimeout: options.connectTimeoutMs ?? 1000,
        // Keep asking the Sentinels at the same pace as a single node reconnects; never give up.
        sentinelRetryStrategy: () => reconnectDelayMs,
        // No `failoverDetector`: with ioredis 6.0.0 its +switch-master handler, arriving while the client is
        // already reconnecting (the usual case after a crash), ends the client for good ("Connection is
        // closed." forever; seen in test/integration/redis/topologies.test.ts). The fixed-delay reconnect
        // asks the Sentinels every `reconnectDelayMs` anyway.
        failoverDetector: false,
        enableOfflineQueue,
        // The ready check asks the node its role: a demoted master that comes back is not written to.
        enableReadyCheck: true,
        retryStrategy: () => reconnectDelayMs,
      });
      break;
    case 'cluster': {
      const clusterOptions: ClusterOptions = {
        redisOptions: node,
        enableOfflineQueue,
        clusterRetryStrategy: () => reconnectDelayMs,
        // A command to a lost master fails within our deadline either way; these only pace ioredis's own
        // slot refreshes, so the new master (MOVED) is learnt within a few probes of the failover.
        retryDelayOnFailover: reconnectDelayMs,
        retryDelayOnClusterDown: reconnectDelayMs,
        retryDelayOnTryAgain: reconnectDelayMs,
        slotsRefreshTimeout: options.connectTimeoutMs ?? 1000,
        slotsRefreshInterval: 1000,
      };
      client = new Cluster(
        topology.nodes.map((a) => ({ host: a.host, port: a.port })),
        clusterOptions,
      );
      break;
    }
  }
  // Without a listener, ioredis would re-throw connection errors as uncaught; the status events carry them.
  client.on('error', () => undefined);
  if (client instanceof Cluster) {
    client.on('node error', () => undefined);
    client.on('+node', (node: Redis) => keepSocketErrorsHandled(node));
  } else {
    keepSocketErrorsHandled(client);
  }
  return client;
}

/**
 * Gives every socket the client takes an 'error' listener of its own, for the socket's whole life.
 * ioredis listens to a socket's 'error' only once, and a TLS socket can fail twice: a server
 * certificate our CA did not sign destroys it, then an alert already read from Redis is emitted as
 * a second 'error' — with no listener left, an uncaught exception that ends the process. Redis sends
 * that alert (50, decode error) when we hang up in the middle of the handshake, as `close()` does
 * while a refused client is reconnecting. The first failure still reaches the client's events.
 */
function keepSocketErrorsHandled(redis: Redis): void {
  let socket: Redis['stream'] | undefined = redis.stream;
  socket?.on('error', ignoreLateSocketError);
  // ioredis assigns `stream` for each new socket, before the socket has read anything.
  Object.defineProperty(redis, 'stream', {
    configurable: true,
    enumerable: true,
    get: () => socket,
    set: (next: Redis['stream'] | undefined) => {
      next?.on('error', ignoreLateSocketError);
      socket = next;
    },
  });
}

function ignoreLateSocketError(): void {
  // The client's own 'error' and status events have reported the socket's failure.
}

/** How often the deadline checks whether this process, not Redis, is what kept the reply waiting. */
const DEADLINE_TICK_MS = 10;

/**
 * Rejects with a timeout when `reply` has not settled after `ms` of time in which this process could
 * have read it. A timeout is evidence that Redis is unreachable only when our own event loop was
 * free: time spent stalled (a busy CPU, a long GC) is not counted, since the reply may be sitting
 * unread in the socket. So the deadline advances in ticks, each counting at most twice its length,
 * and its verdict waits one more turn of the loop (`setImmediate` runs after the poll phase, where
 * pending socket reads are handled).
 */
function withinDeadline<T>(reply: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    let responsiveMs = 0;
    let lastTickAt = performance.now();
    const settle = (finish: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      finish();
    };
    const tick = (): void => {
      const now = performance.now();
      responsiveMs += Math.min(now - lastTickAt, 2 * DEADLINE_TICK_MS);
      lastTickAt = now;
      if (responsiveMs >= ms) {
        setImmediate(() =>
          settle(() => reject(new StoreUnavailableError('timeout', `Command timed out after ${ms} ms`))),
        );
        return;
      }
      timer = setTimeout(tick, Math.min(DEADLINE_TICK_MS, ms - responsiveMs));
    };
    timer = setTimeout(tick, Math.min(DEADLINE_TICK_MS, ms));
    reply.then(
      (value) => settle(() => resolve(value)),
      (error: unknown) => settle(() => reject(error)),
    );
  });
}
