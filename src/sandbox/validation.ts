/**
 * Request validation, pure. Everything here answers with a value; the operations turn problems
 * into `VALIDATION_ERROR`, `MALFORMED_JSON` or `BAD_REQUEST`.
 *
 * Unknown body fields are refused (VALIDATION_ERROR): the provider renamed `specificationId` to
 * `specification` and `newSpecificationId` to `newSpecification` on 2026-04-17, and silently
 * ignoring an old name would turn a client's mistake into a confusing "missing field" elsewhere.
 */
import { z } from 'zod';
import { IMAGES, REGIONS, SPECIFICATIONS, findImage, findRegion, findSpecification } from './reference-data';

export type Checked<T> = { ok: true; value: T } | { ok: false; message: string };

export const DEFAULT_PAGE = 1;
export const DEFAULT_LIMIT = 20;
export const MAX_LIMIT = 100;

/** RFC 1123 host name label rules, dots allowed: 1-63 characters, no leading/trailing hyphen or dot. */
const HOST_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,61}[A-Za-z0-9])?$/;

const RENAMED_FIELDS: Record<string, string> = {
  specificationId: 'specification (renamed on 2026-04-17)',
  newSpecificationId: 'newSpecification (renamed on 2026-04-17)',
};

const createSchema = z.strictObject({
  hostName: z
    .string()
    .regex(
      HOST_NAME,
      'must be 1-63 characters of letters, digits, "-" and ".", starting and ending with a letter or digit',
    ),
  image: z.string(),
  region: z.string(),
  specification: z.string(),
  publicKeys: z.array(z.string().min(1, 'must not be empty')).min(1, 'must hold at least one key'),
  tags: z.array(z.string()).optional(),
  withPublicIp: z.boolean().optional(),
});

const upsizeSchema = z.strictObject({ newSpecification: z.string() });

export interface CreateRequest {
  hostName: string;
  image: string;
  region: string;
  specification: string;
  publicKeys: string[];
  tags: string[];
  withPublicIp: boolean;
}

export function checkCreateBody(body: Record<string, unknown>): Checked<CreateRequest> {
  const parsed = createSchema.safeParse(body);
  if (!parsed.success) return { ok: false, message: describeIssues(parsed.error.issues) };
  const value = parsed.data;
  const problems: string[] = [];
  if (!findImage(value.image))
    problems.push(`image: unknown image "${value.image}" (known: ${IMAGES.map((i) => i.image).join(', ')})`);
  if (!findRegion(value.region))
    problems.push(`region: unknown region "${value.region}" (known: ${REGIONS.map((r) => r.region).join(', ')})`);
  if (!findSpecification(value.specification))
    problems.push(`specification: ${unknownSpecification(value.specification)}`);
  if (problems.length > 0) return { ok: false, message: problems.join('; ') };
  return { ok: true, value: { ...value, tags: value.tags ?? [], withPublicIp: value.withPublicIp ?? false } };
}

export function checkUpsizeBody(body: Record<string, unknown>): Checked<{ newSpecification: string }> {
  const parsed = upsizeSchema.safeParse(body);
  if (!parsed.success) return { ok: false, message: describeIssues(parsed.error.issues) };
  if (!findSpecification(parsed.data.newSpecification)) {
    return { ok: false, message: `newSpecification: ${unknownSpecification(parsed.data.newSpecification)}` };
  }
  return { ok: true, value: parsed.data };
}

function unknownSpecification(slug: string): string {
  return `unknown specification "${slug}" (known: ${SPECIFICATIONS.map((s) => s.specification).join(', ')})`;
}

function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues
    .map((issue) => {
      if (issue.code === 'unrecognized_keys') {
        return issue.keys
          .map((key) => `${key}: unknown field${RENAMED_FIELDS[key] ? `, use ${RENAMED_FIELDS[key]}` : ''}`)
          .join('; ');
      }
      const where = issue.path.length > 0 ? issue.path.join('.') : 'body';
      return `${where}: ${issue.message}`;
    })
    .join('; ');
}

/**
 * `page` (default 1) and `limit` (default 20, at most 100). Anything else is refused rather than
 * clamped — including limit > 100, which the provider leaves undocumented — so a client never gets
 * fewer items than it asked for without being told.
 */
export function checkPagination(query: URLSearchParams): Checked<{ page: number; limit: number }> {
  const page = positiveInteger(query, 'page', DEFAULT_PAGE);
  if (!page.ok) return page;
  const limit = positiveInteger(query, 'limit', DEFAULT_LIMIT);
  if (!limit.ok) return limit;
  if (limit.value > MAX_LIMIT) return { ok: false, message: `limit: must be at most ${MAX_LIMIT}` };
  return { ok: true, value: { page: page.value, limit: limit.value } };
}

function positiveInteger(query: URLSearchParams, name: string, fallback: number): Checked<number> {
  const values = query.getAll(name);
  if (values.length === 0) return { ok: true, value: fallback };
  if (values.length > 1) return { ok: false, message: `${name}: given more than once` };
  const text = values[0]!;
  const value = Number(text);
  if (!/^[0-9]+$/.test(text) || !Number.isSafeInteger(value) || value < 1) {
    return { ok: false, message: `${name}: must be a whole number of at least 1` };
  }
  return { ok: true, value };
}

/** `application/json`, optionally with `charset=utf-8` (any other charset is refused). */
export function isJsonContentType(header: string | undefined): boolean {
  if (header === undefined) return false;
  const [type, ...parameters] = header.split(';').map((part) => part.trim().toLowerCase());
  if (type !== 'application/json') return false;
  return parameters.every((p) => !p.startsWith('charset=') || p === 'charset=utf-8' || p === 'charset="utf-8"');
}

/** A JSON object in UTF-8; invalid bytes, invalid JSON and non-objects are all "malformed". */
export function parseJsonObject(bytes: Uint8Array): Checked<Record<string, unknown>> {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return { ok: false, message: 'the request body is not valid UTF-8' };
  }
  if (text.trim() === '') return { ok: false, message: 'the request body is empty; a JSON object is required' };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, message: 'the request body is not valid JSON' };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { ok: false, message: 'the request body must be a JSON object' };
  }
  if (depthExceeds(value, MAX_JSON_DEPTH))
    return { ok: false, message: `the request body nests deeper than ${MAX_JSON_DEPTH} levels` };
  return { ok: true, value: value as Record<string, unknown> };
}

/** No documented body nests beyond 2; the bound keeps later recursive walks (fingerprints) safe. */
export const MAX_JSON_DEPTH = 32;

/** Iterative, so a hostile body cannot exhaust the stack here either. */
function depthExceeds(root: unknown, maxDepth: number): boolean {
  const stack: [unknown, number][] = [[root, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (node === null || typeof node !== 'object') continue;
    if (depth > maxDepth) return true;
    for (const child of Object.values(node)) stack.push([child, depth + 1]);
  }
  return false;
}
