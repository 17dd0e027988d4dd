import { z } from 'zod';
import { matchesAny } from '../least-privilege/glob';
import { OWNER_TAG_PREFIX, isReservedTag } from '../least-privilege/owner-tag';
import { catastrophicBacktrackingProblem } from './regex-safety';

/**
 * The shape of a caller's least-privilege settings (issue #7): `constraints`, `ownership`,
 * `quotas` and `shadow`, and an account's `quotas`. Strict like the rest of the policy; each
 * check here needs only the value at hand (the owner tag's length, which depends on the caller's
 * name, is checked in check-references.ts).
 */

/** Regions, images, specifications and tags: 1–64 printable ASCII characters without spaces. */
const CONSTRAINT_VALUE = /^[\x21-\x7E]{1,64}$/;
const CONSTRAINT_VALUE_MESSAGE = 'must be 1–64 printable ASCII characters without spaces';

/** A hostName pattern longer than this is more likely a mistake than a rule. */
export const MAX_HOST_NAME_PATTERN_LENGTH = 256;

/** Quotas are counts of computes (or creates per hour): whole numbers from 1 to a million. */
const quota = z.number().int().min(1).max(1_000_000);

const isWellFormed = (value: unknown): value is string => typeof value === 'string' && CONSTRAINT_VALUE.test(value);

/**
 * Non-empty, every entry unique; a duplicate is reported at its own index, naming the first.
 * Zod runs this refinement even when an entry failed: malformed entries are left to their own message.
 */
function valueList(entry: z.ZodType<string>) {
  return z
    .array(entry)
    .min(1)
    .superRefine((values, ctx) => {
      const firstIndex = new Map<string, number>();
      values.forEach((value, index) => {
        if (!isWellFormed(value)) return;
        const first = firstIndex.get(value);
        if (first === undefined) firstIndex.set(value, index);
        else ctx.addIssue({ code: 'custom', path: [index], message: `duplicate "${value}" (first at [${first}])` });
      });
    });
}

const constraintValue = z.string().regex(CONSTRAINT_VALUE, CONSTRAINT_VALUE_MESSAGE);

const tagValue = constraintValue.refine((tag) => !isReservedTag(tag), {
  message: `the "${OWNER_TAG_PREFIX}" prefix is reserved for the gateway's owner tag (ownership.ownerTag)`,
  // Only for a well-formed tag: a malformed one gets one message, not two.
  when: (payload) => isWellFormed(payload.value),
});

const tagsSchema = z
  .strictObject({
    /** Each of these must be among the request's tags. */
    required: valueList(tagValue).optional(),
    /** Each of the request's tags must match one of these: exact, or a `*` glob (`pool-*`). */
    allowed: valueList(tagValue).optional(),
  })
  .superRefine((tags, ctx) => {
    const { required, allowed } = tags;
    // With a malformed allowed entry the answer would be a guess; its own message comes first.
    if (!required || !allowed || !allowed.every(isWellFormed)) return;
    required.forEach((tag, index) => {
      if (isWellFormed(tag) && !isReservedTag(tag) && !matchesAny(allowed, tag))
        ctx.addIssue({
          code: 'custom',
          path: ['required', index],
          message: `required tag "${tag}" is not allowed by tags.allowed`,
        });
    });
  });

/** Anchored so that the pattern must match the whole hostName, as a reader of the policy expects. */
export function anchorPattern(pattern: string): string {
  return `^(?:${pattern})$`;
}

const hostNamePattern = z
  .string()
  .min(1)
  .max(MAX_HOST_NAME_PATTERN_LENGTH)
  .superRefine((pattern, ctx) => {
    try {
      new RegExp(pattern);
      new RegExp(anchorPattern(pattern));
    } catch (error) {
      ctx.addIssue({
        code: 'custom',
        message: `is not a valid regular expression: ${error instanceof Error ? error.message : 'cannot be compiled'}`,
      });
      return;
    }
    // The anchored form is what runs (constraints.ts): analyse that.
    const catastrophic = catastrophicBacktrackingProblem(anchorPattern(pattern));
    if (catastrophic) ctx.addIssue({ code: 'custom', message: catastrophic });
  });

const createConstraintsSchema = z.strictObject({
  regions: valueList(constraintValue).optional(),
  images: valueList(constraintValue).optional(),
  specifications: valueList(constraintValue).optional(),
  tags: tagsSchema.optional(),
  /** A JavaScript regular expression the whole hostName must match. */
  hostName: hostNamePattern.optional(),
  /** Only `false` restricts (withPublicIp may not be true); `true` would restrict nothing and reads like a demand. */
  withPublicIp: z
    .literal(false, {
      error: (issue) =>
        issue.code === 'invalid_value'
          ? 'only false is meaningful (withPublicIp may not be true); leave it out to allow public IPs'
          : undefined,
    })
    .optional(),
});

const upsizeConstraintsSchema = z.strictObject({
  specifications: valueList(constraintValue).optional(),
});

export const constraintsSchema = z.strictObject({
  create: createConstraintsSchema.optional(),
  upsize: upsizeConstraintsSchema.optional(),
});

/** Present: the caller acts only on computes it created through the gateway. */
export const ownershipSchema = z.strictObject({
  /** What a request on another's compute gets: 403, or 404 to hide that it exists. */
  foreign: z.enum(['forbidden', 'not-found']).default('forbidden'),
  /** Tag every compute the caller creates with `owner:<caller>`. */
  ownerTag: z.boolean().default(false),
});

export const callerQuotasSchema = z.strictObject({
  /** Computes this caller created through the gateway and has not deleted through it. */
  liveComputes: quota.optional(),
  /** Creates in any rolling hour. */
  createsPerHour: quota.optional(),
});

export const accountQuotasSchema = z.strictObject({
  /** Computes all callers of the account created through the gateway and have not deleted. */
  liveComputes: quota.optional(),
});

/** The keys a caller gains; spread into the caller's strict object. */
export const callerLeastPrivilegeShape = {
  constraints: constraintsSchema.optional(),
  ownership: ownershipSchema.optional(),
  quotas: callerQuotasSchema.optional(),
  /** Would-be denials of constraints, ownership and quotas are logged and counted, not enforced. */
  shadow: z.boolean().default(false),
};

export type ConstraintsDocument = z.output<typeof constraintsSchema>;
