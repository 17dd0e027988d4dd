import type { z } from 'zod';
import type { PathedProblem, PathSegment } from './problems';

/**
 * Messages written for people editing YAML ("expected a list, got a mapping"). They never include
 * a string value from the document: a string in the wrong place may be a pasted secret.
 */
export const policyErrorMap: z.core.$ZodErrorMap = (issue) => {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return 'is required';
      return `expected ${typeName(issue.expected)}, got ${describeInput(issue.input)}`;
    case 'too_small':
      return bound(
        'at least',
        'greater than',
        'must not be empty',
        issue.origin,
        Number(issue.minimum),
        issue.inclusive !== false,
      );
    case 'too_big':
      return bound('at most', 'less than', undefined, issue.origin, Number(issue.maximum), issue.inclusive !== false);
    case 'invalid_value':
      return `must be one of: ${issue.values.map(String).join(', ')}`;
    default:
      return undefined;
  }
};

function bound(
  inclusiveWord: string,
  exclusiveWord: string,
  emptyMessage: string | undefined,
  origin: string,
  limit: number,
  inclusive: boolean,
): string {
  if (origin === 'string' || origin === 'array') {
    if (emptyMessage !== undefined && limit === 1) return emptyMessage;
    return `must have ${inclusiveWord} ${limit} ${origin === 'string' ? 'characters' : 'items'}`;
  }
  return `must be ${inclusive ? inclusiveWord : exclusiveWord} ${limit}`;
}

function typeName(expected: string): string {
  switch (expected) {
    case 'object':
    case 'record':
      return 'a mapping';
    case 'array':
      return 'a list';
    case 'int':
      return 'an integer';
    default:
      return `a ${expected}`;
  }
}

function describeInput(input: unknown): string {
  if (input === null) return 'nothing (null)';
  if (Array.isArray(input)) return 'a list';
  if (typeof input === 'number') return String(input);
  if (typeof input === 'object') return 'a mapping';
  return `a ${typeof input}`;
}

/** One problem per issue; an unknown key is reported at its own path, where the fix is. */
export function problemsFromIssues(issues: readonly z.core.$ZodIssue[]): PathedProblem[] {
  return issues.flatMap((issue): PathedProblem[] => {
    const at = issue.path.filter((s): s is PathSegment => typeof s !== 'symbol');
    switch (issue.code) {
      case 'unrecognized_keys':
        return issue.keys.map((key) => ({ at: [...at, key], message: 'unknown key' }));
      case 'invalid_key':
        return [{ at, message: `invalid name: ${issue.issues.map((i) => i.message).join('; ')}` }];
      default:
        return [{ at, message: issue.message }];
    }
  });
}
