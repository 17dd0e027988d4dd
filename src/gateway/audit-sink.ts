/**
 * Where audit records go, and the one tap the request path needs for them. The composition root
 * picks the destination: a channel of the main logger (`"audit": true` on its stream, so lines never
 * interleave mid-line with the access log) or a file of its own.
 */
import fs from 'node:fs';
import type { ServerResponse } from 'node:http';
import { syncFileDestination, type DestinationStream, type Logger } from './observability/logger';
import type { AuditRecord, AuditTrail } from './audit';

/**
 * Records are written at `info` whatever the logger's level: LOG_LEVEL=warn must not silence the
 * audit trail.
 */
export function auditTrailOn(logger: Logger): AuditTrail {
  const channel = logger.child({ audit: true }, { level: 'info' });
  return { record: (entry: AuditRecord) => channel.info(entry, 'audit') };
}

export interface AuditFile {
  stream: DestinationStream;
  close(): Promise<void>;
}

/**
 * Opens (or creates, mode 0600) the audit file for appending, at once, so a bad path stops the start
 * rather than the first write. Writes are synchronous: a record is on disk before the next request's,
 * and writes are few (the provider allows a handful per second).
 */
export function openAuditFile(file: string, onError: (error: unknown) => void): AuditFile {
  const fd = fs.openSync(file, 'a', 0o600);
  const stream = syncFileDestination(fd);
  stream.on('error', onError);
  return {
    stream,
    close: () =>
      new Promise<void>((resolve) => {
        stream.once('close', () => resolve());
        stream.end();
      }),
  };
}

/**
 * Keeps a copy of the first `maxBytes` written to `res` (the forwarder pipes the provider's answer
 * into it), without changing what is sent. Returns a reader of what was kept; more than `maxBytes`
 * reads as undefined.
 */
export function captureResponseStart(res: ServerResponse, maxBytes: number): () => Buffer | undefined {
  const chunks: Buffer[] = [];
  let size = 0;
  const keep = (chunk: unknown, encoding: unknown) => {
    if (size > maxBytes || chunk === undefined || chunk === null || typeof chunk === 'function') return;
    const bytes =
      typeof chunk === 'string'
        ? Buffer.from(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8')
        : Buffer.from(chunk as Uint8Array);
    size += bytes.length;
    if (size <= maxBytes) chunks.push(bytes);
  };
  const write = res.write;
  const end = res.end;
  res.write = function (this: ServerResponse, chunk: unknown, ...rest: unknown[]) {
    keep(chunk, rest[0]);
    return (write as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
  } as typeof res.write;
  res.end = function (this: ServerResponse, chunk?: unknown, ...rest: unknown[]) {
    keep(chunk, rest[0]);
    return (end as (...args: unknown[]) => ServerResponse).call(this, chunk, ...rest);
  } as typeof res.end;
  return () => (size <= maxBytes ? Buffer.concat(chunks) : undefined);
}
