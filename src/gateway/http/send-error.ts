import type { ServerResponse } from 'node:http';
import { errorEnvelope } from '../../shared/envelope';
import { GATEWAY_ERRORS, type GatewayRejection } from '../errors';

/** The one place that writes a gateway error: the Strettch envelope, JSON, never cached. */
export function sendRejection(res: ServerResponse, rejection: GatewayRejection, requestId: string): void {
  if (res.headersSent) {
    // Too late for an envelope: cut the response so the client sees it as incomplete, not as success.
    res.destroy();
    return;
  }
  const { status, message } = GATEWAY_ERRORS[rejection.code];
  const body = JSON.stringify(errorEnvelope(rejection.code, rejection.publicMessage ?? message, requestId));
  res.statusCode = status;
  for (const [name, value] of Object.entries(rejection.headers ?? {})) res.setHeader(name, value);
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.setHeader('content-length', Buffer.byteLength(body));
  res.setHeader('cache-control', 'no-store');
  res.setHeader('x-request-id', requestId);
  // A refused request whose body was never read: close rather than read and discard it.
  if (res.req !== undefined && !res.req.complete) res.setHeader('connection', 'close');
  res.end(body);
}
