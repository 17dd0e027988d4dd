import pino, { type DestinationStream, type Logger } from 'pino';

/**
 * Credentials can only reach a log line by mistake; redaction is the second line of defence.
 * Paths are lower-case because Node lower-cases header names.
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["proxy-authorization"]',
  'headers.authorization',
  'headers.cookie',
  'authorization',
  'token',
  '*.token',
  'apiKey',
  '*.apiKey',
  'secret',
  '*.secret',
  'privateKeyPem',
  '*.privateKeyPem',
];

export interface LoggerOptions {
  level?: string;
  /** Where lines go; tests pass an in-memory sink. Defaults to stdout. */
  destination?: DestinationStream;
  name?: string;
  /** Fields added to every line (with tracing on: the running request's `trace_id` and `span_id`). */
  mixin?: () => object;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      name: options.name ?? 'strettch-gateway',
      level: options.level ?? 'info',
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      ...(options.mixin ? { mixin: options.mixin } : {}),
    },
    options.destination ?? pino.destination({ dest: 1, sync: false }),
  );
}

/** A logger that writes nothing (components built without one). */
export function silentLogger(): Logger {
  return pino({ enabled: false });
}

/** A synchronous destination on an open file descriptor: an audit record is written when the call returns. */
export function syncFileDestination(fd: number): ReturnType<typeof pino.destination> {
  return pino.destination({ dest: fd, sync: true });
}

export type { DestinationStream, Logger };
