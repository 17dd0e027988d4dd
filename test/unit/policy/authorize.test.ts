import { generateKeyPairSync } from 'node:crypto';
import { OPERATION_IDS, operationById, type OperationId } from '../../../src/catalog/catalog';
import {
  authorize,
  DEFAULT_SCOPES,
  defaultScopeFor,
  parsePolicy,
  PUBLIC_GRANT,
  type CallerPolicy,
  type Policy,
} from '../../../src/gateway/policy';
import { memoryIo } from './fixture-io';

const publicPem = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
  .publicKey.export({ format: 'pem', type: 'spki' })
  .toString();

function policyWith(scopesYaml: string, callersYaml: string): Policy {
  const text = `
accounts: { prod: { apiKey: { env: KEY } } }
auth: { issuer: i, audience: a, keys: [ { kid: k, algorithms: [ES256], publicKey: { env: PUB } } ] }
scopes: ${scopesYaml}
callers:
${callersYaml}
`;
  const result = parsePolicy(text, '/x/gw.yaml', memoryIo({ KEY: 'sk', PUB: publicPem }));
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.policy;
}

const policy = policyWith(
  '{ ops:read: [computes.list, computes.get, regions.list] }',
  `
  autoscaler: { account: prod, scopes: [computes:read, computes:power] }
  billing: { account: prod, scopes: [catalog:read] }
  ops: { account: prod, scopes: [ops:read, computes:read] }
  provisioner: { account: prod, scopes: ["computes:*"] }
`,
);
const caller = (id: string): CallerPolicy => policy.callers[id]!;

describe('authorize: configured grants', () => {
  it.each([
    ['autoscaler', 'computes.list', 'computes:read'],
    ['autoscaler', 'computes.reboot', 'computes:power'],
    ['billing', 'images.list', 'catalog:read'],
    // The first granting scope in the caller's own order.
    ['ops', 'computes.get', 'ops:read'],
    ['provisioner', 'computes.delete', 'computes:delete'],
  ] as const)('%s may %s, granted by %s', (id, op, scope) => {
    expect(authorize(caller(id), undefined, op)).toEqual({ ok: true, grantedBy: scope });
  });

  it.each([
    ['autoscaler', 'computes.delete', 'computes:delete'],
    ['autoscaler', 'computes.create', 'computes:create'],
    ['autoscaler', 'computes.upsize', 'computes:resize'],
    ['billing', 'computes.list', 'computes:read'],
    ['provisioner', 'regions.list', 'catalog:read'],
  ] as const)('denies by default: %s may not %s (missing %s)', (id, op, scope) => {
    expect(authorize(caller(id), undefined, op)).toEqual({ ok: false, missingScope: scope });
  });

  it('lets anyone call the public health operation', () => {
    expect(operationById('health').requiresAuth).toBe(false);
    expect(authorize(caller('billing'), [], 'health')).toEqual({ ok: true, grantedBy: PUBLIC_GRANT });
  });

  it('names a shipped scope for every operation that needs one', () => {
    const nobody = policyWith('{}', '  nobody: { account: prod, scopes: [catalog:read] }').callers.nobody!;
    for (const op of OPERATION_IDS.filter(
      (id) => operationById(id).requiresAuth && !DEFAULT_SCOPES['catalog:read']!.includes(id),
    )) {
      const decision = authorize(nobody, undefined, op);
      expect(decision).toEqual({ ok: false, missingScope: defaultScopeFor(op) });
    }
  });
});

describe('authorize: the token scope claim narrows, never widens', () => {
  it.each<[string, readonly string[], OperationId, ReturnType<typeof authorize>]>([
    ['narrowed to the granted scope', ['computes:read'], 'computes.list', { ok: true, grantedBy: 'computes:read' }],
    [
      'narrowed away from another granted scope',
      ['computes:read'],
      'computes.start',
      { ok: false, missingScope: 'computes:power' },
    ],
    [
      'an ungranted token scope adds nothing',
      ['computes:delete'],
      'computes.delete',
      { ok: false, missingScope: 'computes:delete' },
    ],
    [
      'an ungranted token scope does not keep the granted ones',
      ['computes:delete'],
      'computes.list',
      { ok: false, missingScope: 'computes:read' },
    ],
    ['an empty scope claim grants nothing', [], 'computes.list', { ok: false, missingScope: 'computes:read' }],
    [
      'a token pattern narrows too',
      ['computes:p*', 'computes:*'],
      'computes.stop',
      { ok: true, grantedBy: 'computes:power' },
    ],
    [
      '"*" in a token is the whole grant, no more',
      ['*'],
      'computes.create',
      { ok: false, missingScope: 'computes:create' },
    ],
    [
      'unknown token scopes are ignored',
      ['admin', 'computes:read'],
      'computes.get',
      { ok: true, grantedBy: 'computes:read' },
    ],
  ])('%s', (_name, tokenScopes, op, expected) => {
    expect(authorize(caller('autoscaler'), tokenScopes, op)).toEqual(expected);
  });
});

describe('authorize: naming the missing scope when the policy redefines scopes', () => {
  const redefined = policyWith(
    '{ computes:read: [computes.list], inventory:get: [computes.get], computes:delete: [] }',
    `
  lister: { account: prod, scopes: [computes:read] }
`,
  );

  it('names the policy scope that grants it when the shipped one no longer does', () => {
    expect(authorize(redefined.callers.lister!, undefined, 'computes.get')).toEqual({
      ok: false,
      missingScope: 'inventory:get',
    });
  });

  it('names the shipped scope when no scope grants the operation at all', () => {
    expect(authorize(redefined.callers.lister!, undefined, 'computes.delete')).toEqual({
      ok: false,
      missingScope: 'computes:delete',
    });
  });
});
