/**
 * The one failure the Redis layer lets out. Whatever ioredis rejects with (a timeout, a closed
 * stream, a script error) is wrapped here, so callers never depend on the client's error types.
 */
export type StoreFailureKind = 'unavailable' | 'timeout' | 'script';

export class StoreUnavailableError extends Error {
  readonly code = 'STORE_UNAVAILABLE' as const;

  constructor(
    readonly kind: StoreFailureKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StoreUnavailableError';
  }
}

/** Classifies a client rejection. Script errors (a bug, or a Redis that cannot run scripts) are loud, not silent. */
export function toStoreError(error: unknown): StoreUnavailableError {
  if (error instanceof StoreUnavailableError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (/timed out/i.test(message)) return new StoreUnavailableError('timeout', message, { cause: error });
  if (/^(ERR|WRONGTYPE|NOSCRIPT|BUSY)\b/.test(message) || /script/i.test(message)) {
    return new StoreUnavailableError('script', message, { cause: error });
  }
  return new StoreUnavailableError('unavailable', message, { cause: error });
}
