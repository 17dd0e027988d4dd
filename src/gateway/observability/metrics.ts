import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Every label value is bounded: operation ids from the catalog, configured caller names (or
 * "anonymous"/"unknown"), status classes, and closed sets of reasons. Never raw paths or subjects.
 */
export interface GatewayMetrics {
  registry: Registry;
  requests: Counter<'operation' | 'caller' | 'status_class'>;
  rejections: Counter<'reason'>;
  authFailures: Counter<'reason'>;
  upstreamDuration: Histogram<'operation'>;
}

export function createMetrics(options: { collectProcessMetrics?: boolean } = {}): GatewayMetrics {
  const registry = new Registry();
  if (options.collectProcessMetrics) collectDefaultMetrics({ register: registry, prefix: 'strettch_gateway_' });
  return {
    registry,
    requests: new Counter({
      name: 'strettch_gateway_requests_total',
      help: 'Requests answered, by operation, caller and status class',
      labelNames: ['operation', 'caller', 'status_class'],
      registers: [registry],
    }),
    rejections: new Counter({
      name: 'strettch_gateway_rejections_total',
      help: 'Requests the gateway answered itself, by reason',
      labelNames: ['reason'],
      registers: [registry],
    }),
    authFailures: new Counter({
      name: 'strettch_gateway_auth_failures_total',
      help: 'Caller authentication failures, by reason',
      labelNames: ['reason'],
      registers: [registry],
    }),
    upstreamDuration: new Histogram({
      name: 'strettch_gateway_upstream_duration_seconds',
      help: 'Time from forwarding to the upstream response headers',
      labelNames: ['operation'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
  };
}

export function statusClass(status: number): string {
  return `${Math.floor(status / 100)}xx`;
}
