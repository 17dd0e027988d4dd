import { OPERATION_IDS, type OperationId } from '../../catalog/catalog';

/**
 * Wildcards, deliberately minimal: `*` alone, or a trailing `*` after a separator — `computes.*`
 * over operation ids, `computes:*` over scope names. No other globbing, so a pattern's reach is
 * obvious from reading it.
 */
export const ANY = '*';

function matchesWithSeparator(pattern: string, name: string, separator: '.' | ':'): boolean {
  if (pattern === ANY) return true;
  const suffix = `${separator}${ANY}`;
  if (pattern.endsWith(suffix)) return name.startsWith(pattern.slice(0, -ANY.length));
  return pattern === name;
}

export function operationMatches(pattern: string, operationId: string): boolean {
  return matchesWithSeparator(pattern, operationId, '.');
}

export function operationsMatching(pattern: string): OperationId[] {
  return OPERATION_IDS.filter((id) => operationMatches(pattern, id));
}

export function scopeMatches(pattern: string, scopeName: string): boolean {
  return matchesWithSeparator(pattern, scopeName, ':');
}

export function scopesMatching(pattern: string, scopeNames: readonly string[]): string[] {
  return scopeNames.filter((name) => scopeMatches(pattern, name));
}

export function isWildcard(pattern: string): boolean {
  return pattern.endsWith(ANY);
}
