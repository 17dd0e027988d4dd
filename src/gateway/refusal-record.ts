/**
 * What a request refused by the HTTP server (before the request path) leaves behind: an access-log
 * line shaped as the request path's own (`msg: "request"`, its id, method, status, reason) and a
 * count in `strettch_gateway_connection_refusals_total`. The line holds no header value: the
 * server hands over only fixed names (the reason, Node's parser error code) and the client address.
 */
import type { Refusal } from '../shared/connection-refusals';
import type { Logger } from './observability/logger';
import type { GatewayMetrics } from './observability/metrics';

export function recordRefusal(deps: { logger: Logger; metrics: GatewayMetrics }, refusal: Refusal): void {
  deps.metrics.connectionRefusals.inc({ reason: refusal.reason });
  const line = {
    requestId: refusal.requestId,
    method: refusal.method ?? '',
    status: refusal.status,
    reason: refusal.reason,
    refusedBy: 'server',
    clientAddress: refusal.clientAddress,
    parserCode: refusal.parserCode,
    completed: refusal.status !== undefined,
  };
  deps.logger.info(line, 'request');
}
