/** One policy for the CLI's unit tests, in memory: two accounts (per-class and one shared rate). */
import { policyWithoutSecrets } from '../../../src/cli/policy-without-secrets';
import type { Policy } from '../../../src/gateway/policy/types';
import { AUTOSCALER_LEAST_PRIVILEGE_YAML, indentYaml } from '../../helpers/autoscaler-example';

export const POLICY_PATH = '/etc/gateway/policy.yaml';

export const POLICY_TEXT = `
accounts:
  prod: { apiKey: { env: KEY_PROD } }
  staging: { apiKey: { file: secrets/staging } }
limits:
  default: { read: 30, write: 5, safety: 0.95 }
  staging: { all: 2 }
auth:
  issuer: https://auth.internal
  audience: strettch-gateway
  keys:
    - { kid: hs, algorithms: [HS256], secret: { env: HS_SECRET } }
scopes:
  inventory: [computes.list, regions.list]
callers:
  billing: { account: prod, scopes: [computes:read, catalog:read] }
  operator: { account: prod, scopes: ["computes:*"], weight: 2, maxWaitMs: 3000, requestsPerMinute: 600 }
  ci-smoke: { account: staging, scopes: [inventory] }
`;

/** Values the tests look for in every output, to prove none is printed. */
export const SECRETS = {
  KEY_PROD: 'sk-prod-0123456789abcdef',
  HS_SECRET: 'hs-secret-0123456789abcdef0123456789abcdef',
  staging: 'sk-staging-fedcba9876543210',
};

export function fixturePolicy(): Policy {
  const result = policyWithoutSecrets(POLICY_TEXT, POLICY_PATH);
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.policy;
}

/** Issue #7: callers with constraints, ownership, quotas and shadow mode; an account with a quota. */
export const LP_POLICY_TEXT = `
accounts:
  main:
    apiKey: { env: STRETTCH_KEY }
    quotas: { liveComputes: 50 }
  spare: { apiKey: { env: SPARE_KEY } }
auth:
  issuer: https://auth.internal
  audience: strettch-gateway
  keys:
    - { kid: hs, algorithms: [HS256], secret: { env: HS_SECRET } }
callers:
  autoscaler:
    account: main
    scopes: [computes:read, computes:create, computes:power, computes:resize, computes:delete]
${indentYaml(AUTOSCALER_LEAST_PRIVILEGE_YAML, 4)}
  hider:
    account: main
    scopes: ["computes:*"]
    ownership: { foreign: not-found }
    quotas: { createsPerHour: 3 }
    shadow: true
  plain:
    account: main
    scopes: ["computes:*", catalog:read]
  spare-user:
    account: spare
    scopes: ["computes:*"]
    constraints: { upsize: { specifications: [S-2C] } }
`;

export function lpFixturePolicy(): Policy {
  const result = policyWithoutSecrets(LP_POLICY_TEXT, POLICY_PATH);
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.policy;
}
