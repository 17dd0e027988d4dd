/**
 * A replica's first requests must leave on time like its later ones (issue #14). Measured on
 * `bench:fleet`: on a freshly started gateway, cold code (the JIT) and an empty upstream connection
 * pool put 5–40 ms between a request's release at its slot and its bytes on the wire, a good part of
 * the send budget; rollouts then showed an upstream 429 a second after a replica started. So before
 * the gateway reports ready it sends a few requests through its own public port to the provider's
 * health operation (public, no key, no rate slot): the whole request path runs once, and the
 * keep-alive pool holds open upstream connections when the first real request comes.
 * Best effort: failures and time-outs are logged by the caller, never fatal.
 */
import http from 'node:http';
import https from 'node:https';
import { API_BASE_PATH, HEALTH_CHECK } from '../catalog/catalog';

/**
 * The warm-up requests' `X-Request-Id` prefix: their access lines go at debug level, so a start
 * prints its banner, not four health lines. Only for the public health operation, so a caller
 * cannot use the prefix to keep its own requests out of the access log.
 */
export const WARM_UP_REQUEST_ID_PREFIX = 'gateway-warm-up-';

export interface WarmUpResult {
  /** Requests the gateway answered (any status). */
  answered: number;
  elapsedMs: number;
}

/** Whether a request is one of the gateway's own warm-up requests (not traffic: not traced either). */
export function isWarmUpRequest(method: string | undefined, target: string | undefined, requestId: string): boolean {
  return (
    method === 'GET' &&
    target === API_BASE_PATH + HEALTH_CHECK.pathTemplate &&
    requestId.startsWith(WARM_UP_REQUEST_ID_PREFIX)
  );
}

export async function warmUp(publicUrl: string, connections: number, timeoutMs: number): Promise<WarmUpResult> {
  const startedAt = performance.now();
  const url = new URL(API_BASE_PATH + HEALTH_CHECK.pathTemplate, publicUrl);
  // A one-off agent: the warming requests are concurrent, so each takes an upstream connection of its own.
  // Over TLS the gateway calls its own listener, whose certificate names the service, not the address
  // it bound: nothing is sent but a public health request, and the answer is only read to its end.
  const tls = url.protocol === 'https:';
  const agent = tls
    ? new https.Agent({ keepAlive: false, rejectUnauthorized: false })
    : new http.Agent({ keepAlive: false });
  const get = tls ? https.get : http.get;
  const once = (_: unknown, index: number): Promise<boolean> =>
    new Promise((resolve) => {
      const req = get(
        url,
        { agent, timeout: timeoutMs, headers: { 'x-request-id': `${WARM_UP_REQUEST_ID_PREFIX}${index}` } },
        (res) => {
          res.resume();
          res.once('end', () => resolve(true));
          res.once('error', () => resolve(false));
        },
      );
      req.once('timeout', () => req.destroy());
      req.once('error', () => resolve(false));
    });
  const results = await Promise.all(Array.from({ length: connections }, once));
  agent.destroy();
  return { answered: results.filter(Boolean).length, elapsedMs: Math.round(performance.now() - startedAt) };
}
