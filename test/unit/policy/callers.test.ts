import * as path from 'node:path';
import { callerForToken, loadPolicyFile, type Policy } from '../../../src/gateway/policy';
import { accessControlFor } from '../../../src/gateway/access';
import { fixtureIo } from './fixture-io';

const EXAMPLE = path.join(__dirname, '..', '..', '..', 'config', 'gateway.kubernetes.example.yaml');
const SA = 'system:serviceaccount';

function examplePolicy(): Policy {
  const result = loadPolicyFile(EXAMPLE, fixtureIo);
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.policy;
}

/** A projected service-account token's claims, as the kube-apiserver writes them. */
function serviceAccountClaims(namespace: string, name: string): Record<string, unknown> {
  return {
    sub: `${SA}:${namespace}:${name}`,
    'kubernetes.io': { namespace, serviceaccount: { name, uid: 'u-1' }, pod: { name: `${name}-0`, uid: 'p-1' } },
  };
}

const lookup = (policy: Policy, claims: Record<string, unknown>) => {
  const match = callerForToken(policy, claims.sub as string, claims);
  return match.kind === 'name' || match.kind === 'rule' ? [match.kind, match.caller.id] : [match.kind];
};

describe('callers of config/gateway.kubernetes.example.yaml', () => {
  const policy = examplePolicy();

  it('loads: discovery, the cluster issuer, no static key', () => {
    expect(policy.auth).toMatchObject({ issuer: 'https://kubernetes.default.svc.cluster.local', keys: [] });
    expect(policy.auth.keySet).toMatchObject({ discovery: true, allowedJwksHosts: ['10.96.0.1'] });
  });

  it.each([
    [
      'every service account of namespace shop is the caller shop',
      serviceAccountClaims('shop', 'web'),
      ['rule', 'shop'],
    ],
    ['another one of shop', serviceAccountClaims('shop', 'cart'), ['rule', 'shop']],
    ['the one subject of billing', serviceAccountClaims('payments', 'billing'), ['rule', 'billing']],
    ['another service account of payments: nobody', serviceAccountClaims('payments', 'web'), ['none']],
    ['a caller named by its subject', serviceAccountClaims('ops', 'autoscaler'), ['name', `${SA}:ops:autoscaler`]],
    ["a token whose sub is a rule caller's name is not that caller", { sub: 'shop' }, ['none']],
  ])('%s', (_name, claims, expected) => {
    expect(lookup(policy, claims)).toEqual(expected);
  });
});

describe('an exact sub wins over a rule; two matching rules are refused', () => {
  // Built by hand: the loader refuses overlapping rules, so only a hand-made policy has them.
  const base = examplePolicy();
  const exact = { ...base.callers.shop!, id: `${SA}:shop:web`, match: undefined };
  const overlapping = { ...base.callers.shop!, id: 'shop-too', match: { subject: `${SA}:shop:*` } };
  const policy: Policy = { ...base, callers: { ...base.callers, [exact.id]: exact, 'shop-too': overlapping } };

  it('exact subject first', () => {
    expect(lookup(policy, serviceAccountClaims('shop', 'web'))).toEqual(['name', `${SA}:shop:web`]);
  });

  it('two rules: ambiguous, and the request path answers ambiguous-caller', () => {
    expect(lookup(policy, serviceAccountClaims('shop', 'cart'))).toEqual(['ambiguous']);
    const claims = serviceAccountClaims('shop', 'cart');
    const verified = { sub: claims.sub as string, iss: 'i', aud: 'a', exp: 1, payload: claims };
    expect(accessControlFor(policy).callerFor(verified)).toEqual({ ok: false, reason: 'ambiguous-caller' });
  });
});
