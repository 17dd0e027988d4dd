/**
 * Request constraints (issue #7): what a caller may put in the body of `computes.create` and
 * `computes.upsize`. Pure and total: any JSON value gives a list of violations, never an exception.
 *
 * Fail closed: under a constraint, a field that is absent or of the wrong type is a violation, as
 * is a value outside the list — the gateway cannot know how the provider would read it. The one
 * exception is `withPublicIp`, whose absence means false. Every violation is reported, one per
 * constraint, with a public message that quotes the offending value (cut to 64 characters) and
 * says what is allowed.
 */
import { operationById, type OperationId } from '../../catalog/catalog';
import { quoteValue } from '../body/quote';
import { isJsonObject } from '../body/strict-json';
import { matchesAny } from './glob';
import { OWNER_TAG_PREFIX, isReservedTag } from './owner-tag';
import type { ConstraintViolation, CreateConstraints, LeastPrivilegePolicy, UpsizeConstraints } from './types';

/** The longest host name DNS allows; a longer one is refused before any pattern runs on it. */
export const MAX_HOST_NAME_LENGTH = 253;

/** At most this many allowed values, or offending tags, are named in one message. */
const LISTED_MAX = 10;

type Body = Record<string, unknown>;

/** The field, when the body has it as an own property (never one inherited from a prototype). */
function field(body: Body, name: string): unknown {
  return Object.hasOwn(body, name) ? body[name] : undefined;
}

/** A value as a message shows it: strings quoted and cut, other types by kind. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return quoteValue(value);
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return `a ${typeof value}`;
}

/** `"a", "b", "c"` — at most LISTED_MAX, then how many more. */
export function listValues(values: readonly string[]): string {
  const shown = values.slice(0, LISTED_MAX).map((value) => quoteValue(value));
  return values.length > LISTED_MAX ? `${shown.join(', ')} and ${values.length - LISTED_MAX} more` : shown.join(', ');
}

function violation(constraint: string, message: string): ConstraintViolation {
  return { constraint, message };
}

/** One of a list: the body field must be a string in it. */
function checkOneOf(constraint: string, name: string, allowed: readonly string[], body: Body): ConstraintViolation[] {
  const value = field(body, name);
  const what = `allowed: ${listValues(allowed)}`;
  if (value === undefined) return [violation(constraint, `${name} is required here (${what})`)];
  if (typeof value !== 'string')
    return [violation(constraint, `${name} must be a string, got ${describeValue(value)} (${what})`)];
  if (!allowed.includes(value))
    return [violation(constraint, `${name} ${describeValue(value)} is not allowed (${what})`)];
  return [];
}

/** Compiled once per resolved constraints object (policies are frozen and replaced whole on reload). */
const hostNamePatterns = new WeakMap<CreateConstraints, RegExp | null>();

function hostNameRegExp(create: CreateConstraints): RegExp | null {
  let compiled = hostNamePatterns.get(create);
  if (compiled === undefined) {
    try {
      compiled = new RegExp(create.hostNamePattern!);
    } catch {
      compiled = null; // the policy check refuses such a pattern; a hand-built policy fails closed here
    }
    hostNamePatterns.set(create, compiled);
  }
  return compiled;
}

function checkHostName(create: CreateConstraints, body: Body): ConstraintViolation[] {
  const constraint = 'create.hostName';
  const value = field(body, 'hostName');
  const what = `it must match ${create.hostNamePattern!}`;
  if (value === undefined) return [violation(constraint, `hostName is required here (${what})`)];
  if (typeof value !== 'string')
    return [violation(constraint, `hostName must be a string, got ${describeValue(value)} (${what})`)];
  if (value.length > MAX_HOST_NAME_LENGTH)
    return [
      violation(constraint, `hostName ${describeValue(value)} is longer than ${MAX_HOST_NAME_LENGTH} characters`),
    ];
  const pattern = hostNameRegExp(create);
  if (pattern === null) return [violation(constraint, 'hostName cannot be checked: the policy pattern is invalid')];
  return pattern.test(value)
    ? []
    : [violation(constraint, `hostName ${describeValue(value)} is not allowed (${what})`)];
}

function checkTags(create: CreateConstraints, body: Body): ConstraintViolation[] {
  const { requiredTags, allowedTags } = create;
  if (requiredTags === undefined && allowedTags === undefined) return [];
  const tags = field(body, 'tags');
  const violations: ConstraintViolation[] = [];
  if (tags !== undefined && !Array.isArray(tags)) {
    const got = `tags must be a list of strings, got ${describeValue(tags)}`;
    if (requiredTags)
      violations.push(violation('create.tags.required', `${got} (required: ${listValues(requiredTags)})`));
    if (allowedTags) violations.push(violation('create.tags.allowed', `${got} (allowed: ${listValues(allowedTags)})`));
    return violations;
  }
  const list: readonly unknown[] = tags ?? [];
  if (requiredTags) {
    const missing = requiredTags.filter((tag) => !list.includes(tag));
    if (missing.length > 0)
      violations.push(violation('create.tags.required', `tags must include ${listValues(missing)}`));
  }
  if (allowedTags) {
    // Required tags are allowed whether or not the list names them.
    const allowed = requiredTags ? [...allowedTags, ...requiredTags] : allowedTags;
    const offending = list.filter((tag) => typeof tag !== 'string' || !matchesAny(allowed, tag));
    if (offending.length > 0) {
      const shown = offending.slice(0, LISTED_MAX).map(describeValue).join(', ');
      const more = offending.length > LISTED_MAX ? ` and ${offending.length - LISTED_MAX} more` : '';
      const noun = offending.length === 1 ? 'tag' : 'tags';
      const verb = offending.length === 1 ? 'is' : 'are';
      violations.push(
        violation(
          'create.tags.allowed',
          `${noun} ${shown}${more} ${verb} not allowed (allowed: ${listValues(allowedTags)})`,
        ),
      );
    }
  }
  return violations;
}

function checkWithPublicIp(create: CreateConstraints, body: Body): ConstraintViolation[] {
  if (create.withPublicIp !== false) return [];
  const value = field(body, 'withPublicIp');
  if (value === undefined || value === false) return [];
  if (typeof value !== 'boolean')
    return [
      violation(
        'create.withPublicIp',
        `withPublicIp must be a boolean, got ${describeValue(value)} (only false is allowed)`,
      ),
    ];
  return [
    violation(
      'create.withPublicIp',
      'withPublicIp true is not allowed: this caller may not create computes with a public IP',
    ),
  ];
}

function hasCreateConstraint(create: CreateConstraints): boolean {
  const { regions, images, specifications, requiredTags, allowedTags, hostNamePattern, withPublicIp } = create;
  return (
    [regions, images, specifications, requiredTags, allowedTags, hostNamePattern].some((c) => c !== undefined) ||
    withPublicIp === false
  );
}

function checkCreate(create: CreateConstraints, body: Body): ConstraintViolation[] {
  return [
    ...(create.regions ? checkOneOf('create.regions', 'region', create.regions, body) : []),
    ...(create.images ? checkOneOf('create.images', 'image', create.images, body) : []),
    ...(create.specifications ? checkOneOf('create.specifications', 'specification', create.specifications, body) : []),
    ...checkTags(create, body),
    ...(create.hostNamePattern !== undefined ? checkHostName(create, body) : []),
    ...checkWithPublicIp(create, body),
  ];
}

function checkUpsize(upsize: UpsizeConstraints, body: Body): ConstraintViolation[] {
  return upsize.specifications
    ? checkOneOf('upsize.specifications', 'newSpecification', upsize.specifications, body)
    : [];
}

const NOT_AN_OBJECT: ConstraintViolation = Object.freeze({
  constraint: 'body',
  message: 'the request body must be a JSON object',
});

/**
 * Every constraint of `policy` that the body of `operationId` breaks; [] when none (or when no
 * constraint applies to the operation). Shadow mode is the caller's business: this only reports.
 */
export function checkRequestBody(
  policy: LeastPrivilegePolicy,
  operationId: OperationId,
  body: unknown,
): ConstraintViolation[] {
  const { constraints } = policy;
  const { body: kind } = operationById(operationId).traits;
  if (kind === 'create' && constraints?.create && hasCreateConstraint(constraints.create)) {
    return isJsonObject(body) ? checkCreate(constraints.create, body) : [NOT_AN_OBJECT];
  }
  if (kind === 'upsize' && constraints?.upsize?.specifications) {
    return isJsonObject(body) ? checkUpsize(constraints.upsize, body) : [NOT_AN_OBJECT];
  }
  return [];
}

/**
 * The `owner:` prefix belongs to the gateway: a create body naming such a tag (in any letter case)
 * is refused for every caller, whatever its policy. Anything that is not a list of tags is left
 * to the provider's own validation.
 */
export function reservedTagViolations(body: unknown): ConstraintViolation[] {
  if (!isJsonObject(body)) return [];
  const tags = field(body, 'tags');
  if (!Array.isArray(tags)) return [];
  const reserved = tags.filter((tag): tag is string => typeof tag === 'string' && isReservedTag(tag));
  if (reserved.length === 0) return [];
  const noun = reserved.length === 1 ? 'tag' : 'tags';
  const verb = reserved.length === 1 ? 'is' : 'are';
  return [
    violation(
      'tags.reserved',
      `${noun} ${listValues(reserved)} ${verb} not allowed: the "${OWNER_TAG_PREFIX}" prefix is reserved for the gateway's owner tag`,
    ),
  ];
}
