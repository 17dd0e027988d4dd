/**
 * What the HTTP server refuses before a request reaches the request path: Node's parser refusals,
 * its header and request timeouts, the server's own header-line bound, Host checks and connection
 * caps. One table of reason → answer, so that the answer, the access-log reason, the metric label
 * and docs/errors.md ("Refused before the request path", held equal by a test) cannot drift apart.
 */

export interface RefusalAnswer {
  status: number;
  statusText: string;
  /** A code of the gateway's catalogue (`GATEWAY_ERRORS`), so clients keep one error handler. */
  code: 'BAD_REQUEST' | 'SERVICE_UNAVAILABLE';
  message: string;
}

export const CONNECTION_REFUSALS = {
  'too-many-header-lines': {
    status: 431,
    statusText: 'Request Header Fields Too Large',
    code: 'BAD_REQUEST',
    message: 'The request has too many header lines.',
  },
  'headers-too-large': {
    status: 431,
    statusText: 'Request Header Fields Too Large',
    code: 'BAD_REQUEST',
    message: 'The request headers are too large.',
  },
  'invalid-http': {
    status: 400,
    statusText: 'Bad Request',
    code: 'BAD_REQUEST',
    message: 'The request is not valid HTTP.',
  },
  'missing-host': {
    status: 400,
    statusText: 'Bad Request',
    code: 'BAD_REQUEST',
    message: 'The Host header is required.',
  },
  'repeated-host': {
    status: 400,
    statusText: 'Bad Request',
    code: 'BAD_REQUEST',
    message: 'The Host header is repeated.',
  },
  'authority-form-target': {
    status: 400,
    statusText: 'Bad Request',
    code: 'BAD_REQUEST',
    message: 'The request target must be an absolute path.',
  },
  'header-timeout': {
    status: 408,
    statusText: 'Request Timeout',
    code: 'BAD_REQUEST',
    message: 'The request was not received in time.',
  },
  'body-timeout': {
    status: 408,
    statusText: 'Request Timeout',
    code: 'BAD_REQUEST',
    message: 'The request was not received in time.',
  },
  'connection-limit': {
    status: 503,
    statusText: 'Service Unavailable',
    code: 'SERVICE_UNAVAILABLE',
    message: 'The gateway has too many open connections; retry later.',
  },
  'client-connection-limit': {
    status: 503,
    statusText: 'Service Unavailable',
    code: 'SERVICE_UNAVAILABLE',
    message: 'Too many connections are open from this address; retry later.',
  },
} as const satisfies Record<string, RefusalAnswer>;

export type AnsweredRefusal = keyof typeof CONNECTION_REFUSALS;
/**
 * Refusals no answer could reach. `aborted`: the connection broke (a reset, or bytes already sent on
 * it). `tls-handshake`: a TLS listener's handshake failed (a version below the minimum, plain HTTP
 * on the TLS port, no shared cipher), before any HTTP could be spoken.
 */
export type UnansweredRefusal = 'aborted' | 'tls-handshake';
export type RefusalReason = AnsweredRefusal | UnansweredRefusal;
export const REFUSAL_REASONS = [
  ...(Object.keys(CONNECTION_REFUSALS) as AnsweredRefusal[]),
  'aborted',
  'tls-handshake',
] as const;

/** One refused request or connection, for the access log and the metric (never a header value). */
export interface Refusal {
  reason: RefusalReason;
  /** The answer's status; absent when none could be sent (`aborted`). */
  status?: number;
  /** The id in the answer's envelope and `X-Request-Id`, so a client's report finds the line. */
  requestId: string;
  /** The request's method, when the parser got that far. */
  method?: string;
  clientAddress?: string;
  /** Node's error code behind a parser refusal (`HPE_INVALID_HEADER_TOKEN`, …): a fixed name, no request bytes. */
  parserCode?: string;
}

/** Node's parser error code → the reason; every other parser error is `invalid-http`. */
export function parserRefusalReason(errorCode: string | undefined, requestInProgress: boolean): RefusalReason {
  if (errorCode === 'ECONNRESET') return 'aborted';
  // OpenSSL's errors (ERR_SSL_*) and Node's TLS ones (ERR_TLS_HANDSHAKE_TIMEOUT, …) reach `clientError` too.
  if (errorCode?.startsWith('ERR_SSL_') || errorCode?.startsWith('ERR_TLS_')) return 'tls-handshake';
  if (errorCode === 'HPE_HEADER_OVERFLOW') return 'headers-too-large';
  // Node raises one error for both timeouts: before the handler has the request it is the headers'.
  if (errorCode === 'ERR_HTTP_REQUEST_TIMEOUT') return requestInProgress ? 'body-timeout' : 'header-timeout';
  return 'invalid-http';
}
