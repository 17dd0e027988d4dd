/**
 * The gateway's own error catalogue: one stable code per failure, one status table, public
 * messages only. Internal detail goes to logs, never to the body.
 */
export const GATEWAY_ERRORS = {
  BAD_REQUEST: { status: 400, message: 'The request is malformed.' },
  // The provider's own code for this, so a Strettch client's handling of it keeps working.
  INVALID_IDEMPOTENCY_KEY: { status: 400, message: 'The Idempotency-Key header must be a UUID v4.' },
  // The provider's code for a parameter outside its documented range.
  VALIDATION_ERROR: { status: 400, message: 'The request is invalid.' },
  // The provider's code for a body that is not JSON; the gateway also refuses duplicate keys with it.
  MALFORMED_JSON: { status: 400, message: 'The request body is not valid JSON.' },
  UNAUTHORIZED: { status: 401, message: 'A valid bearer token is required.' },
  FORBIDDEN: { status: 403, message: 'The caller is not allowed to perform this operation.' },
  QUOTA_EXCEEDED: { status: 403, message: 'A quota of this caller or its account is used up.' },
  ROUTE_NOT_FOUND: { status: 404, message: 'No such operation.' },
  // The provider's code, for a compute hidden from a caller that may act only on its own.
  RESOURCE_NOT_FOUND: { status: 404, message: 'The resource was not found.' },
  PAYLOAD_TOO_LARGE: { status: 413, message: 'The request body is too large.' },
  // A body the gateway would read in one charset and the provider perhaps in another (issue #11).
  UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    message: 'The request body must be sent as Content-Type: application/json (UTF-8).',
  },
  TOO_MANY_REQUESTS: { status: 429, message: 'Too many requests; retry later.' },
  INTERNAL_SERVER_ERROR: { status: 500, message: 'The gateway failed to handle the request.' },
  UPSTREAM_UNAVAILABLE: { status: 502, message: 'The upstream API could not be reached.' },
  UPSTREAM_TIMEOUT: { status: 504, message: 'The upstream API did not answer in time.' },
  SERVICE_UNAVAILABLE: {
    status: 503,
    message: 'The gateway cannot reach its ownership and quota records; retry later.',
  },
} as const satisfies Record<string, { status: number; message: string }>;

export type GatewayErrorCode = keyof typeof GATEWAY_ERRORS;

/** A failure the gateway answers itself; `publicMessage` overrides the catalogue's default. */
export interface GatewayRejection {
  code: GatewayErrorCode;
  publicMessage?: string;
  headers?: Record<string, string>;
  /** For logs and metrics only. */
  reason?: string;
}

export function statusOf(code: GatewayErrorCode): number {
  return GATEWAY_ERRORS[code].status;
}
