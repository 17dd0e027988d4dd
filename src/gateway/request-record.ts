/**
 * What a request leaves behind: one access-log line for every request, built up as it goes, and an
 * audit record for every audited operation (the writes), whatever became of it.
 */
import type { ServerResponse } from 'node:http';
import { HEALTH_CHECK, type Operation } from '../catalog/catalog';
import { buildAuditRecord, type AuditTrail } from './audit';
import type { GatewayErrorCode } from './errors';
import type { Logger } from './observability/logger';
import { statusClass, type GatewayMetrics } from './observability/metrics';
import { WARM_UP_REQUEST_ID_PREFIX } from './warm-up';

/** One access-log line is built up as the request goes. */
export interface RequestRecord {
  requestId: string;
  method: string;
  operation?: string;
  caller?: string;
  account?: string;
  queueWaitMs?: number;
  attempts?: number;
  status?: number;
  upstreamStatus?: number;
  reason?: string;
  /** The request's trace, when tracing is on (OpenTelemetry's log field names). */
  trace_id?: string;
  span_id?: string;
}

/** What an audit record needs beyond the access-log record. */
export interface WriteTrace {
  operation: Operation;
  computeId?: string;
  forwarded: boolean;
  rejection?: { code: GatewayErrorCode; reason?: string };
  responseStart?: () => Buffer | undefined;
}

export interface RecordDeps {
  logger: Logger;
  metrics: GatewayMetrics;
  audit: AuditTrail;
  /** Sees every finished request's record, beside the metrics (the status page's per-caller counts). */
  onRequestRecorded?: (record: Readonly<RequestRecord>) => void;
}

export function writeAccessLog(deps: RecordDeps, record: RequestRecord, res: ServerResponse, durationMs: number): void {
  record.status = res.statusCode;
  const line = { ...record, durationMs, completed: res.writableFinished };
  const labels = { operation: record.operation ?? 'none', status_class: statusClass(res.statusCode) };
  deps.metrics.requests.inc({ ...labels, caller: record.caller ?? 'anonymous' });
  deps.onRequestRecorded?.(record);
  // End to end, as the caller saw it: from arrival to the answer's end (or the connection's close).
  deps.metrics.requestDuration.observe(labels, durationMs / 1000);
  // The gateway's own warm-up requests are not traffic worth a line at info.
  const warmUp = record.operation === HEALTH_CHECK.id && record.requestId.startsWith(WARM_UP_REQUEST_ID_PREFIX);
  if (warmUp) deps.logger.debug(line, 'request');
  else deps.logger.info(line, 'request');
}

export function writeAuditRecord(
  deps: RecordDeps,
  record: RequestRecord,
  write: WriteTrace,
  res: ServerResponse,
  receivedAtMs: number,
): void {
  try {
    const entry = buildAuditRecord({
      requestId: record.requestId,
      operation: write.operation,
      receivedAtMs,
      caller: record.caller,
      account: record.account,
      pathComputeId: write.computeId,
      forwarded: write.forwarded,
      upstreamStatus: record.upstreamStatus,
      rejection: write.rejection,
      status: res.headersSent ? res.statusCode : undefined,
      responseStart: write.responseStart?.(),
    });
    deps.audit.record(entry);
    deps.metrics.auditRecords.inc({ outcome: entry.outcome });
  } catch (error) {
    deps.logger.error({ requestId: record.requestId, err: error }, 'could not write the audit record');
  }
}
