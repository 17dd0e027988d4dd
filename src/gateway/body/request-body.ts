/**
 * Step 6 of the request path, after the bytes are read: what a request body may be (issue #11).
 * The gateway forwards only a body it has read one way, as the provider's document describes it:
 *
 * - an operation whose document declares no request body takes none (→ 400);
 * - one `Content-Type`, `application/json` with at most `charset=utf-8` (→ 415 otherwise);
 * - strict JSON (`parseStrictJson`: no duplicate or case-colliding keys, exact numbers);
 * - an object whose properties are all declared by the operation's schema, spelled exactly as there.
 *
 * The parsed value is what later steps check and what is forwarded (`forwardedJsonBytes`), so every
 * reading of the forwarded bytes is the one the gateway checked. These checks hold for every caller.
 */
import type { Operation } from '../../catalog/catalog';
import { deny, pass, type Checked } from '../checked';
import { isAcceptedMediaType } from './media-type';
import { quoteValue } from './quote';
import { isJsonObject, parseStrictJson, type StrictJsonRefusal } from './strict-json';

/** A body that passed these checks: a JSON object with declared properties only. */
export interface JsonBody {
  value: Record<string, unknown>;
}

/** Refusals about what the JSON means rather than its grammar: the provider's code for an invalid request. */
const MEANING_REFUSALS: ReadonlySet<StrictJsonRefusal> = new Set(['case-colliding-key', 'inexact-number']);

/** At most this many undeclared properties are named in one message. */
const NAMED_MAX = 10;

function undeclaredMessage(operation: Operation, undeclared: readonly string[]): string {
  const named = undeclared.slice(0, NAMED_MAX).map((name) => quoteValue(name));
  const more = undeclared.length > NAMED_MAX ? ` and ${undeclared.length - NAMED_MAX} more` : '';
  const noun = undeclared.length === 1 ? 'property' : 'properties';
  const declared = operation.bodyProperties.join(', ');
  return `The request body has ${noun} ${named.join(', ')}${more} that ${operation.id} does not declare (declared: ${declared}).`;
}

/**
 * The checked body, undefined when there is none (no bytes, or zero of them), or why it is refused.
 * `contentTypes`: every `Content-Type` line of the request (Node keeps only the first in `headers`).
 */
export function acceptRequestBody(
  operation: Operation,
  contentTypes: readonly string[],
  bytes: Buffer | undefined,
): Checked<JsonBody | undefined> {
  if (bytes === undefined || bytes.length === 0) return pass(undefined);
  if (!operation.hasRequestBody)
    return deny({
      code: 'BAD_REQUEST',
      publicMessage: `${operation.id} takes no request body.`,
      reason: 'body-not-expected',
    });
  // Two lines may be read as either one by whoever is next: refused, never picked from.
  if (contentTypes.length > 1)
    return deny({
      code: 'BAD_REQUEST',
      publicMessage: 'The Content-Type header is repeated.',
      reason: 'body-duplicate-content-type',
    });
  if (contentTypes.length === 0 || !isAcceptedMediaType(contentTypes[0]!))
    return deny({ code: 'UNSUPPORTED_MEDIA_TYPE', reason: 'body-media-type' });

  const parsed = parseStrictJson(bytes);
  if (!parsed.ok)
    return deny({
      code: MEANING_REFUSALS.has(parsed.reason) ? 'VALIDATION_ERROR' : 'MALFORMED_JSON',
      publicMessage: parsed.message,
      reason: `body-${parsed.reason}`,
    });
  if (!isJsonObject(parsed.value))
    return deny({
      code: 'VALIDATION_ERROR',
      publicMessage: 'The request body must be a JSON object.',
      reason: 'body-not-an-object',
    });
  const undeclared = Object.keys(parsed.value).filter((name) => !operation.bodyProperties.includes(name));
  if (undeclared.length > 0)
    return deny({
      code: 'VALIDATION_ERROR',
      publicMessage: undeclaredMessage(operation, undeclared),
      reason: 'body-undeclared-property',
    });
  return pass({ value: parsed.value });
}
