/**
 * Reads a request body with a hard size limit. A declared Content-Length over the limit is refused
 * before reading; an undeclared (chunked) body is refused as soon as it passes the limit.
 */
import type { IncomingMessage } from 'node:http';

export type BodyRead = { kind: 'read'; bytes: Buffer } | { kind: 'too-large' } | { kind: 'aborted' };

export function readBody(req: IncomingMessage, limitBytes: number): Promise<BodyRead> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limitBytes) {
    discard(req);
    return Promise.resolve({ kind: 'too-large' });
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let total = 0;
    let settled = false;
    const finish = (result: BodyRead): void => {
      if (settled) return;
      settled = true;
      req.off('data', onData);
      req.off('end', onEnd);
      resolve(result);
    };
    const onData = (chunk: Buffer): void => {
      total += chunk.length;
      if (total > limitBytes) {
        discard(req);
        finish({ kind: 'too-large' });
      } else {
        chunks.push(chunk);
      }
    };
    const onEnd = (): void => finish({ kind: 'read', bytes: Buffer.concat(chunks, total) });
    req.on('data', onData);
    req.on('end', onEnd);
    req.once('error', () => finish({ kind: 'aborted' }));
    req.once('close', () =>
      finish(req.complete ? { kind: 'read', bytes: Buffer.concat(chunks) } : { kind: 'aborted' }),
    );
  });
}

/** Keep draining so the client can still read our 413 instead of seeing a reset. */
function discard(req: IncomingMessage): void {
  req.on('error', () => undefined);
  req.resume();
}
