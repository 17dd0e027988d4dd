/**
 * Runs inside a worker thread: starts its servers, reports their URLs, closes them on command.
 * Each server thread has its own event loop, so the proxy under test does not share one with the
 * load client or the sandbox.
 */
import { parentPort, workerData } from 'node:worker_threads';
import {
  benchTracing,
  startBenchGateway,
  startBenchSandbox,
  startDiscardingOtlpReceiver,
  startPassthrough,
  startRedisRoundTripPassthrough,
  type BenchServer,
} from './overhead-targets';
import { SCHEDULE_TUNING_DEFAULTS } from '../src/schedule/tuning';
import type { ServerWorkerCommand, ServerWorkerData, ServerWorkerMessage } from './server-worker-protocol';
import { threadCpuSample } from './thread-cpu';

async function main(port: NonNullable<typeof parentPort>, data: ServerWorkerData): Promise<void> {
  const post = (message: ServerWorkerMessage) => port.postMessage(message);
  const servers: BenchServer[] = [];
  const closeAll = async () => {
    // Reverse order of start; each close also drops its keep-alive sockets.
    for (const server of servers.reverse()) await server.close();
  };
  port.on('message', (command: ServerWorkerCommand) => {
    if (command.kind === 'cpu') {
      post({ kind: 'cpu', id: command.id, sample: threadCpuSample() ?? null });
      return;
    }
    closeAll()
      .catch(() => undefined)
      .finally(() => {
        post({ kind: 'closed' });
        port.close();
      });
  });
  try {
    if (data.role === 'upstream') {
      const sandbox = await startBenchSandbox();
      servers.push(sandbox);
      const receiver = await startDiscardingOtlpReceiver();
      servers.push(receiver);
      post({
        kind: 'ready',
        urls: { sandbox: sandbox.url },
        apiBaseUrl: sandbox.apiBaseUrl,
        otlpTracesUrl: receiver.tracesUrl,
      });
    } else if (data.serves === 'traced') {
      const traced = await startBenchGateway(data.upstreamApiBaseUrl, {
        algorithm: data.algorithm,
        logMode: data.logMode,
        tracing: benchTracing(data.otlpTracesUrl),
      });
      servers.push(traced);
      post({ kind: 'ready', urls: { 'gateway-traced': traced.url }, gatewayToken: traced.token });
    } else if (data.serves === 'redis') {
      if (data.redisUrl === undefined) throw new Error('the Redis-schedule gateway needs redisUrl');
      const gateway = await startBenchGateway(data.upstreamApiBaseUrl, {
        algorithm: data.algorithm,
        logMode: data.logMode,
        schedule: { redisUrl: data.redisUrl, expectedReplicas: 1 },
      });
      servers.push(gateway);
      const withoutPrefetch = await startBenchGateway(data.upstreamApiBaseUrl, {
        algorithm: data.algorithm,
        logMode: data.logMode,
        schedule: {
          redisUrl: data.redisUrl,
          expectedReplicas: 1,
          tuning: { ...SCHEDULE_TUNING_DEFAULTS, prefetchMinRatePerSecond: 0 },
        },
      });
      servers.push(withoutPrefetch);
      const roundTrip = await startRedisRoundTripPassthrough(data.upstreamOrigin, data.redisUrl);
      servers.push(roundTrip);
      post({
        kind: 'ready',
        urls: {
          'gateway-redis': gateway.url,
          'gateway-redis-no-prefetch': withoutPrefetch.url,
          'passthrough-redis': roundTrip.url,
        },
        gatewayToken: gateway.token,
        gatewayTokens: { 'gateway-redis-no-prefetch': withoutPrefetch.token },
      });
    } else {
      const passthrough = await startPassthrough(data.upstreamOrigin);
      servers.push(passthrough);
      const gateway = await startBenchGateway(data.upstreamApiBaseUrl, {
        algorithm: data.algorithm,
        logMode: data.logMode,
      });
      servers.push(gateway);
      post({
        kind: 'ready',
        urls: { passthrough: passthrough.url, gateway: gateway.url },
        gatewayToken: gateway.token,
      });
    }
  } catch (error) {
    post({ kind: 'failed', message: error instanceof Error ? error.message : String(error) });
  }
}

if (!parentPort) throw new Error('server-worker runs only as a worker thread');
void main(parentPort, workerData as ServerWorkerData);
