import { operationById, type OperationId } from '../../catalog/catalog';
import { defaultScopeFor } from './default-scopes';
import { scopeMatches } from './patterns';
import type { CallerPolicy } from './types';

/** Same shape as every check of the request path (`ok`); the pipeline turns a denial into a 403. */
export type AuthorizationDecision = { ok: true; grantedBy: string } | { ok: false; missingScope: string };

/** What authorization reads of a caller. */
export type CallerGrants = Pick<CallerPolicy, 'grants' | 'missingScopeHints'>;

/** What `grantedBy` says for an operation the provider documents as needing no key (`health`). */
export const PUBLIC_GRANT = '(public)';

/**
 * Deny by default. The effective grant is the caller's configured scopes, narrowed to those the
 * token's `scope` claim names when it has one: a token can give up power, never add it — a token
 * scope the caller is not granted matches nothing. Token scopes may use the same `prefix:*` / `*`
 * patterns as the policy.
 */
export function authorize(
  caller: CallerGrants,
  tokenScopes: readonly string[] | undefined,
  operationId: OperationId,
): AuthorizationDecision {
  if (!operationById(operationId).requiresAuth) return { ok: true, grantedBy: PUBLIC_GRANT };
  for (const grant of caller.grants) {
    if (!grant.operations.includes(operationId)) continue;
    if (tokenScopes !== undefined && !tokenScopes.some((pattern) => scopeMatches(pattern, grant.scope))) continue;
    return { ok: true, grantedBy: grant.scope };
  }
  return {
    ok: false,
    missingScope: caller.missingScopeHints[operationId] ?? defaultScopeFor(operationId) ?? operationId,
  };
}
