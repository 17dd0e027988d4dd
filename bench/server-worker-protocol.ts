/** Messages between the bench's main thread (the load client) and its server threads. */
import type { BenchAlgorithm, GatewayLogMode } from './overhead-targets';
import type { ThreadCpuSample } from './thread-cpu';

export type ServerWorkerData =
  | { role: 'upstream' }
  | {
      role: 'front';
      upstreamOrigin: string;
      upstreamApiBaseUrl: string;
      algorithm: BenchAlgorithm;
      logMode: GatewayLogMode;
      /**
       * `plain`: the passthrough and the gateway (tracing off, in-memory schedule). `traced`: the gateway
       * with tracing on, alone on its thread, so that its SDK (batching, exporting, garbage) never runs on
       * the thread whose CPU is charged to the untraced gateway. `redis`: the gateway with its schedule in
       * Redis, on a thread of its own (its connection's reads and timers are its own), and beside it the
       * same gateway with slots reserved ahead switched off (a round trip before every request) and the
       * passthrough with one no-op Redis script call per request (the floor of any shared decision).
       */
      serves: 'plain' | 'traced' | 'redis';
      /** The bench's redis-server (`serves: 'redis'` only). */
      redisUrl?: string;
      /** Where the traced gateway exports its spans (the upstream thread's discarding receiver). */
      otlpTracesUrl: string;
    };

export type ServerWorkerMessage =
  | {
      kind: 'ready';
      urls: Record<string, string>;
      apiBaseUrl?: string;
      otlpTracesUrl?: string;
      gatewayToken?: string;
      /** Tokens of further gateways on the thread, by target name. */
      gatewayTokens?: Record<string, string>;
    }
  | { kind: 'failed'; message: string }
  | { kind: 'cpu'; id: number; sample: ThreadCpuSample | null }
  | { kind: 'closed' };

export type ServerWorkerCommand = { kind: 'close' } | { kind: 'cpu'; id: number };
