/**
 * The owner tag (issue #7): with `ownership.ownerTag`, every compute a caller creates through the
 * gateway carries `owner:<caller>`, so the provider's console shows who made it. The prefix is the
 * gateway's alone: a tag starting with it is refused in every create body (`reservedTagViolations`
 * in constraints.ts), so no caller can pass a compute off as another's.
 *
 * Ownership itself is decided by the compute ledger, never by reading tags back in the request
 * path: the tag is a label for people, and the record an operator can restore a lost ledger from
 * (`ledger rebuild`, ledger-rebuild.ts), by an explicit command.
 */

export const OWNER_TAG_PREFIX = 'owner:';

/**
 * The provider documents no limit on tags and the sandbox accepts any string, so the gateway keeps
 * the tags it writes within the bound it sets on the tags a policy names (1–64 printable ASCII
 * characters): a caller whose name would make a longer owner tag cannot have `ownerTag: true`.
 */
export const OWNER_TAG_MAX_LENGTH = 64;

export function ownerTagFor(callerId: string): string {
  return `${OWNER_TAG_PREFIX}${callerId}`;
}

/** Why `owner:<callerId>` cannot be written, for the policy check; undefined when it can. */
export function ownerTagProblem(callerId: string): string | undefined {
  const tag = ownerTagFor(callerId);
  if (tag.length > OWNER_TAG_MAX_LENGTH) {
    return `the owner tag "${OWNER_TAG_PREFIX}<caller>" would have ${tag.length} characters, more than ${OWNER_TAG_MAX_LENGTH}: give this caller a name of at most ${OWNER_TAG_MAX_LENGTH - OWNER_TAG_PREFIX.length} characters, or set ownerTag: false`;
  }
  if (!/^[\x21-\x7E]+$/.test(tag)) return 'the owner tag must be printable ASCII without spaces';
  return undefined;
}

/** Case-insensitive: a provider or a reader that folds case must not see a forged owner tag either. */
export function isReservedTag(tag: string): boolean {
  return tag.slice(0, OWNER_TAG_PREFIX.length).toLowerCase() === OWNER_TAG_PREFIX;
}

/**
 * A copy of a create body with `owner:<callerId>` appended to `tags` (created when absent or null;
 * added once). A `tags` of another type is left as it is, for the provider to refuse as invalid.
 */
export function withOwnerTag(body: Record<string, unknown>, callerId: string): Record<string, unknown> {
  const tag = ownerTagFor(callerId);
  const tags = Object.hasOwn(body, 'tags') ? body.tags : undefined;
  if (tags === undefined || tags === null) return { ...body, tags: [tag] };
  if (!Array.isArray(tags)) return { ...body };
  return { ...body, tags: tags.includes(tag) ? [...(tags as unknown[])] : [...(tags as unknown[]), tag] };
}
