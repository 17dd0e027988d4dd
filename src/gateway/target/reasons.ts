/**
 * Why a request target is refused, as a closed set. The reason goes to logs and metrics; the
 * public message is fixed per reason (or names a catalog parameter and its documented bounds), so
 * no byte of the caller's target is ever echoed back.
 */

/**
 * 400: the target is not in the one canonical shape the gateway accepts (`BAD_REQUEST`), or a
 * query value lies outside the document's bounds (`VALIDATION_ERROR`, see `codeOf`).
 */
export const BAD_TARGET_REASONS = [
  'too-long',
  'forbidden-byte',
  'asterisk-form',
  'absolute-form',
  'not-origin-form',
  'fragment',
  'malformed-percent-encoding',
  'double-encoding',
  'encoded-dot',
  'encoded-separator',
  'encoded-reserved',
  'encoded-unreserved',
  'backslash',
  'matrix-parameter',
  'forbidden-path-character',
  'empty-segment',
  'dot-segment',
  'forbidden-query-character',
  'empty-query-name',
  'bad-path-parameter',
  'unknown-query-parameter',
  'duplicate-query-parameter',
  'invalid-query-value',
  'query-value-out-of-bounds',
  'missing-query-parameter',
] as const;

/** 404: a well-formed target that names no operation of the catalog. */
export const UNKNOWN_ROUTE_REASONS = ['outside-base-path', 'no-route', 'method-not-allowed'] as const;

export type BadTargetReason = (typeof BAD_TARGET_REASONS)[number];
export type UnknownRouteReason = (typeof UNKNOWN_ROUTE_REASONS)[number];
export type TargetRejectReason = BadTargetReason | UnknownRouteReason;

const BAD_TARGET_MESSAGES: Record<BadTargetReason, string> = {
  'too-long': 'The request target is too long.',
  'forbidden-byte': 'The request target contains control or non-ASCII characters.',
  'asterisk-form': 'The request target must be an absolute path.',
  'absolute-form': 'The request target must be an absolute path, not a URL.',
  'not-origin-form': 'The request target must be an absolute path.',
  fragment: 'The request target must not contain a fragment.',
  'malformed-percent-encoding': 'The request target contains a malformed percent-encoding.',
  'double-encoding': 'The request target contains an encoded percent sign.',
  'encoded-dot': 'The request target contains an encoded dot.',
  'encoded-separator': 'The request target contains an encoded slash or backslash.',
  'encoded-reserved': 'The request target contains a percent-encoded reserved character.',
  'encoded-unreserved': 'The request target contains a percent-encoding; write the character itself.',
  backslash: 'The request path contains a backslash.',
  'matrix-parameter': 'The request path contains a semicolon parameter.',
  'forbidden-path-character': 'The request path contains a character that is not allowed.',
  'empty-segment': 'The request path contains an empty segment.',
  'dot-segment': 'The request path contains a dot segment.',
  'forbidden-query-character': 'The query string contains a character that is not allowed.',
  'empty-query-name': 'The query string contains an empty parameter name.',
  'bad-path-parameter': 'A path parameter is not valid.',
  'unknown-query-parameter': 'The query string contains a parameter this operation does not accept.',
  'duplicate-query-parameter': 'The query string repeats a parameter.',
  'invalid-query-value': 'A query parameter has an invalid value.',
  'query-value-out-of-bounds': 'A query parameter is outside its documented bounds.',
  'missing-query-parameter': 'A required query parameter is missing.',
};

const UNKNOWN_ROUTE_MESSAGE = 'No such operation.';

/** The gateway error code of a refusal; out-of-bounds values get the provider's own code. */
export function codeOf(reason: TargetRejectReason): 'BAD_REQUEST' | 'VALIDATION_ERROR' | 'ROUTE_NOT_FOUND' {
  if (isUnknownRouteReason(reason)) return 'ROUTE_NOT_FOUND';
  return reason === 'query-value-out-of-bounds' ? 'VALIDATION_ERROR' : 'BAD_REQUEST';
}

/**
 * The public message. `catalogName` (a declared parameter name) and `catalogRequirement` (its
 * documented bounds in words) must come from the catalog, never from the request, because they
 * are shown to the caller.
 */
export function publicMessageFor(
  reason: TargetRejectReason,
  catalogName?: string,
  catalogRequirement?: string,
): string {
  if (isUnknownRouteReason(reason)) return UNKNOWN_ROUTE_MESSAGE;
  if (catalogName !== undefined) {
    switch (reason) {
      case 'bad-path-parameter':
        return `Path parameter "${catalogName}" is not valid.`;
      case 'invalid-query-value':
        return `Query parameter "${catalogName}" has an invalid value.`;
      case 'query-value-out-of-bounds':
        if (catalogRequirement !== undefined) return `Query parameter "${catalogName}" must be ${catalogRequirement}.`;
        break;
      case 'missing-query-parameter':
        return `Query parameter "${catalogName}" is required.`;
      default:
        break;
    }
  }
  return BAD_TARGET_MESSAGES[reason];
}

export function isUnknownRouteReason(reason: TargetRejectReason): reason is UnknownRouteReason {
  return (UNKNOWN_ROUTE_REASONS as readonly string[]).includes(reason);
}
