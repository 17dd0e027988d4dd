/**
 * A short, stable name for the policy in force: the SHA-256 of the resolved policy with every
 * secret left out (account keys are non-enumerable; verification keys are named by kid and
 * algorithms only), so two replicas on the same policy show the same version and none shows a secret.
 */
import { createHash } from 'node:crypto';
import type { Policy } from '../../policy/types';

export function policyVersion(policy: Policy): string {
  const { sourcePath: _source, auth, ...rest } = policy;
  const withoutSecrets = {
    ...rest,
    auth: { ...auth, keys: auth.keys.map((k) => ({ kid: k.kid, algorithms: k.algorithms })) },
  };
  return createHash('sha256').update(stableJson(withoutSecrets)).digest('hex').slice(0, 12);
}

/** JSON with object keys sorted, so the version does not depend on the order of the YAML. */
function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
