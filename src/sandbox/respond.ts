/** The one place that writes responses: JSON, request id echoed, never cached. */
import type { ServerResponse } from 'node:http';
import { errorEnvelope } from '../shared/envelope';
import type { ApiError } from './errors';

export function writeJson(res: ServerResponse, status: number, body: string, headers: Record<string, string>): void {
  // The client may have gone while we waited (latency); there is nobody left to answer.
  if (res.writableEnded || res.destroyed) return;
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(body)),
    'cache-control': 'no-store',
  });
  res.end(body);
}

export function errorBody(error: ApiError, requestId: string, nowMs: number): string {
  return JSON.stringify(errorEnvelope(error.code, error.message, requestId, new Date(nowMs)));
}
