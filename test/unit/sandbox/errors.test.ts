import { ERROR_STATUS, apiError } from '../../../src/sandbox/errors';

describe('the error catalogue', () => {
  it('maps each code to one status', () => {
    expect(ERROR_STATUS).toEqual({
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
    });
  });

  it('builds denials as values', () => {
    expect(apiError('CONFLICT', 'm')).toEqual({ kind: 'error', status: 409, code: 'CONFLICT', message: 'm' });
    expect(apiError('METHOD_NOT_ALLOWED', 'm', { allow: 'GET' }).headers).toEqual({ allow: 'GET' });
  });
});
