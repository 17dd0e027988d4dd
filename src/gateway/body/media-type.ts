/**
 * The one request media type the gateway forwards: `application/json`, in UTF-8. A caller's
 * `charset` is the provider's business only if the gateway forwards it, and it must not: the
 * gateway reads the body as UTF-8, and a reader that honours `charset=utf-7` (express's
 * body-parser does) would see other keys and values in the same bytes (issue #11). So the caller
 * may say `application/json`, with at most `charset=utf-8`; the gateway always forwards exactly
 * `application/json`.
 */

/** What the upstream receives as `Content-Type` with every body the gateway forwards. */
export const FORWARDED_MEDIA_TYPE = 'application/json';

/**
 * RFC 9110 §8.3 `media-type`, narrowed: the type case-insensitively `application/json`, optional
 * whitespace around `;`, and no parameter but one `charset` whose value is `utf-8` (token or quoted,
 * any case). No empty parameters, no whitespace around `=`.
 */
const ACCEPTED = /^application\/json(?:[ \t]*;[ \t]*charset=(?:utf-8|"utf-8"))?[ \t]*$/i;

export function isAcceptedMediaType(contentType: string): boolean {
  return ACCEPTED.test(contentType);
}
