/**
 * One baseline replica as its own process (the bench starts three): reads its settings from the
 * environment the bench gives it, listens on 127.0.0.1, stops on SIGTERM.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createBaselineProxy } from './baseline-proxy';
import { redisTopologyFromEnv } from '../../src/gateway/redis-settings';

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`${name} is not set`);
  return value;
}

/** The same Redis settings as the gateways' (REDIS_URL, REDIS_SENTINELS…, REDIS_CLUSTER_NODES). */
function redisFromEnv() {
  const read = redisTopologyFromEnv(process.env);
  if (!read.ok) throw new Error(read.problems.join('; '));
  if (read.topology === undefined) throw new Error('no Redis: set REDIS_URL, REDIS_SENTINELS or REDIS_CLUSTER_NODES');
  return read.topology;
}

async function main(): Promise<void> {
  const proxy = createBaselineProxy({
    upstreamOrigin: required('BASELINE_UPSTREAM'),
    apiKey: required('BASELINE_API_KEY'),
    redis: redisFromEnv(),
    readPerSecond: Number(required('BASELINE_READ_PER_SECOND')),
    writePerSecond: Number(required('BASELINE_WRITE_PER_SECOND')),
    replicas: Number(required('BASELINE_REPLICAS')),
  });
  const server = http.createServer({ keepAliveTimeout: 5000 }, proxy.handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  // The bench reads the port from this line (it starts replicas on port 0: no race for free ports).
  process.stdout.write(`baseline listening on http://127.0.0.1:${port}\n`);
  const stop = () => {
    server.close();
    server.closeAllConnections();
    void proxy.close().finally(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`baseline-replica: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
