/**
 * Freezes plain objects and arrays all the way down. Anything else (a KeyObject, a Buffer) is left
 * alone: they are not ours to freeze, and freezing a typed array throws.
 */
export function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null) return value;
  const prototype: unknown = Object.getPrototypeOf(value);
  if (!Array.isArray(value) && prototype !== Object.prototype && prototype !== null) return value;
  // Recurse even into already-frozen objects: a shallow freeze elsewhere must not leave children mutable.
  Object.freeze(value);
  for (const key of Reflect.ownKeys(value)) deepFreeze((value as Record<PropertyKey, unknown>)[key]);
  return value;
}
