import type { OperationId } from '../../catalog/catalog';

/**
 * The scopes every policy starts with. A policy's `scopes:` section adds to them and may redefine
 * one by name. `health` is in none: it is public.
 */
export const DEFAULT_SCOPES: Readonly<Record<string, readonly OperationId[]>> = Object.freeze({
  'catalog:read': Object.freeze(['specifications.list', 'images.list', 'regions.list'] as const),
  'computes:read': Object.freeze(['computes.list', 'computes.get'] as const),
  'computes:create': Object.freeze(['computes.create'] as const),
  'computes:power': Object.freeze(['computes.start', 'computes.stop', 'computes.reboot'] as const),
  'computes:resize': Object.freeze(['computes.upsize'] as const),
  'computes:delete': Object.freeze(['computes.delete'] as const),
});

/** The shipped scope that grants an operation, for naming what a denied caller lacks. */
export function defaultScopeFor(operationId: OperationId): string | undefined {
  return Object.keys(DEFAULT_SCOPES).find((name) => DEFAULT_SCOPES[name]!.includes(operationId));
}
