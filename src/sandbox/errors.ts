/**
 * The sandbox's error catalogue: one status per code, one place. Codes are the provider's
 * documented ones (NOTES.md §4) plus two HTTP-level ones the provider documents none for
 * (`METHOD_NOT_ALLOWED`, `PAYLOAD_TOO_LARGE`, the latter matching the gateway's own code).
 */
export const ERROR_STATUS = {
  BAD_REQUEST: 400,
  VALIDATION_ERROR: 400,
  MALFORMED_JSON: 400,
  INVALID_IDEMPOTENCY_KEY: 400,
  COMPUTE_RUNNING: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  RESOURCE_NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNPROCESSABLE_ENTITY: 422,
  TOO_MANY_REQUESTS: 429,
  INTERNAL_SERVER_ERROR: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

/** A denial as a value: handlers return it, the HTTP edge writes it. */
export interface ApiError {
  kind: 'error';
  status: number;
  code: ErrorCode;
  message: string;
  headers?: Record<string, string>;
}

export function apiError(code: ErrorCode, message: string, headers?: Record<string, string>): ApiError {
  const error: ApiError = { kind: 'error', status: ERROR_STATUS[code], code, message };
  if (headers) error.headers = headers;
  return error;
}
