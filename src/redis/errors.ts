/**
 * The one failure the Redis layer lets out. Whatever ioredis rejects with (a timeout, a closed
 * stream, an error reply) is wrapped here, by the error's type, so callers never depend on the
 * client's error types and never read a message to know what failed: they read `kind`.
 */
import { ReplyError } from 'ioredis';

/**
 * `unavailable`: no answer (closed, not connected, not writable); `timeout`: no answer within the
 * command deadline; `script`: Redis answered with an error, or our script answered what it never
 * should (a bug, or a Redis that cannot run scripts), so it is logged loudly, not as an outage.
 */
export type StoreFailureKind = 'unavailable' | 'timeout' | 'script';

export class StoreUnavailableError extends Error {
  readonly code = 'STORE_UNAVAILABLE' as const;
  /** The error reply's code (`ERR`, `NOSCRIPT`, `WRONGTYPE`, `BUSY`, …) when Redis answered with one. */
  readonly replyCode?: string;

  constructor(
    readonly kind: StoreFailureKind,
    message: string,
    options?: { cause?: unknown; replyCode?: string },
  ) {
    super(message, options);
    this.name = 'StoreUnavailableError';
    if (options?.replyCode !== undefined) this.replyCode = options.replyCode;
  }
}

// ioredis types its `ReplyError` export as `any`; it is redis-errors' class, an `Error`.
const RedisReplyError = ReplyError as new (...args: never[]) => Error;

/** Classifies a client rejection by its type: an error reply from Redis, or no answer at all. */
export function toStoreError(error: unknown): StoreUnavailableError {
  if (error instanceof StoreUnavailableError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof RedisReplyError) {
    // RESP error replies start with their code in capitals: `NOSCRIPT No matching script…`.
    const replyCode = /^[A-Z]+\b/.exec(message)?.[0];
    return new StoreUnavailableError('script', message, { cause: error, replyCode });
  }
  return new StoreUnavailableError('unavailable', message, { cause: error });
}

/**
 * Whether a failure deserves a loud log: an error reply or a malformed reply (`script`), or not a
 * store failure at all (a bug). An outage (`unavailable`, `timeout`) is expected and handled.
 */
export function isLoudStoreFailure(error: unknown): boolean {
  return !(error instanceof StoreUnavailableError) || error.kind === 'script';
}
