/**
 * Claim rules: a caller matched by what a verified token says rather than by its name. Pure
 * functions, table-tested; the request path and `explain` use the same ones.
 *
 * - `subject`: the token's `sub` against a pattern where `*` stands for any run of characters
 *   other than `:` (so `system:serviceaccount:shop:*` is every service account of namespace shop,
 *   and never one of a namespace `shop:x`).
 * - `claims`: each named claim must equal the given string. A name is a path of `/`-separated keys
 *   into nested objects, because claim names themselves hold dots: `kubernetes.io/namespace` is
 *   `claims["kubernetes.io"]["namespace"]`.
 */
export interface CallerMatchRule {
  readonly subject?: string;
  readonly claims?: Readonly<Record<string, string>>;
}

/** Subject patterns: printable ASCII, `*` as the only wildcard. */
export const SUBJECT_PATTERN = /^[\x21-\x7E]{1,256}$/;
/** Claim paths: up to four `/`-separated keys of printable ASCII. */
export const CLAIM_PATH = /^[\x21-\x2E\x30-\x7E]{1,128}(\/[\x21-\x2E\x30-\x7E]{1,128}){0,3}$/;

export function subjectMatches(pattern: string, subject: string): boolean {
  // "*" never crosses ":", so the two match segment by segment; no regular expression, so a long
  // `sub` against a pattern with many stars costs at most length × length, never backtracking blow-up.
  const patternParts = pattern.split(':');
  const subjectParts = subject.split(':');
  return (
    patternParts.length === subjectParts.length && patternParts.every((part, i) => globMatches(part, subjectParts[i]!))
  );
}

/** The classic wildcard match: on a mismatch, the last star takes one more character. */
function globMatches(pattern: string, text: string): boolean {
  let p = 0;
  let t = 0;
  let star = -1;
  let starText = 0;
  while (t < text.length) {
    if (p < pattern.length && pattern[p] !== '*' && pattern[p] === text[t]) {
      p++;
      t++;
    } else if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      starText = t;
    } else if (star >= 0) {
      p = star + 1;
      t = ++starText;
    } else return false;
  }
  while (p < pattern.length && pattern[p] === '*') p++;
  return p === pattern.length;
}

/** The value at a claim path, own properties only (a path through `__proto__` finds nothing). */
export function claimAt(claims: Readonly<Record<string, unknown>>, path: string): unknown {
  let value: unknown = claims;
  for (const key of path.split('/')) {
    if (typeof value !== 'object' || value === null || Array.isArray(value) || !Object.hasOwn(value, key))
      return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

export function ruleMatches(
  rule: CallerMatchRule,
  subject: string,
  claims: Readonly<Record<string, unknown>>,
): boolean {
  if (rule.subject !== undefined && !subjectMatches(rule.subject, subject)) return false;
  for (const [path, expected] of Object.entries(rule.claims ?? {}))
    if (claimAt(claims, path) !== expected) return false;
  return true;
}

/**
 * Whether some token could satisfy both rules: their subject patterns intersect (or one has none)
 * and no claim both name is required to hold two different values. Such rules are a configuration
 * error, found when the policy loads rather than as 403s at request time.
 */
export function rulesMayOverlap(a: CallerMatchRule, b: CallerMatchRule): boolean {
  if (a.subject !== undefined && b.subject !== undefined && !patternsIntersect(a.subject, b.subject)) return false;
  for (const [path, value] of Object.entries(a.claims ?? {})) {
    const other = b.claims?.[path];
    if (other !== undefined && other !== value) return false;
  }
  // `sub` is a claim too: a claims rule on `sub` and a subject pattern may exclude each other.
  const subjects = [a.claims?.sub, b.claims?.sub].filter((s): s is string => s !== undefined);
  for (const subject of subjects)
    for (const rule of [a, b]) if (rule.subject !== undefined && !subjectMatches(rule.subject, subject)) return false;
  return true;
}

/**
 * Whether two `*` patterns (where `*` never matches `:`) match a common string: a search over the
 * pairs of positions, as in the product of the two patterns' automata.
 */
export function patternsIntersect(p: string, q: string): boolean {
  const seen = new Set<string>();
  const stack: Array<[number, number]> = [[0, 0]];
  while (stack.length > 0) {
    const [i, j] = stack.pop()!;
    const key = `${i},${j}`;
    if (seen.has(key)) continue;
    seen.add(key);
    if (i === p.length && j === q.length) return true;
    const a = p[i];
    const b = q[j];
    // A star may match nothing.
    if (a === '*') stack.push([i + 1, j]);
    if (b === '*') stack.push([i, j + 1]);
    // One character consumed by both: a literal pair must agree; a star takes any literal but ":".
    if (a !== undefined && b !== undefined) {
      if (a !== '*' && b !== '*' && a === b) stack.push([i + 1, j + 1]);
      else if (a === '*' && b !== '*' && b !== ':') stack.push([i, j + 1]);
      else if (b === '*' && a !== '*' && a !== ':') stack.push([i + 1, j]);
    }
  }
  return false;
}

const SERVICE_ACCOUNT_SUBJECT = /^system:serviceaccount:([^:]+):([^:]+)$/;

/**
 * The claims a Kubernetes projected service-account token carries for this subject (namespace and
 * service account name), so that `explain` can resolve a subject against claim rules without a
 * token. Other subjects: `sub` alone.
 */
export function claimsForSubject(subject: string): Record<string, unknown> {
  const serviceAccount = SERVICE_ACCOUNT_SUBJECT.exec(subject);
  if (!serviceAccount) return { sub: subject };
  const [, namespace, name] = serviceAccount;
  return { sub: subject, 'kubernetes.io': { namespace, serviceaccount: { name } } };
}

/** A rule as one line: `subject system:serviceaccount:shop:*, kubernetes.io/namespace = shop`. */
export function describeRule(rule: CallerMatchRule): string {
  return [
    ...(rule.subject !== undefined ? [`subject ${rule.subject}`] : []),
    ...Object.entries(rule.claims ?? {}).map(([path, value]) => `${path} = ${value}`),
  ].join(', ');
}
