/**
 * Kubernetes projected service-account tokens as callers, through the real gateway: keys by
 * discovery from a local issuer standing in for the kube-apiserver, tokens shaped as the apiserver
 * writes them (audience strettch-gateway-test, 10-minute lifetime, `kubernetes.io` claims), a
 * namespace rule, a one-account rule and a caller named by its exact subject.
 */
import { randomUUID } from 'node:crypto';
import { AUDIENCE, startGatewayHarness, type GatewayHarness } from '../../helpers/gateway-harness';
import { issuerKey, startLocalIssuer, type LocalIssuer } from '../../helpers/oidc-issuer';

const SA = 'system:serviceaccount';
const clusterKey = issuerKey('cluster-1', 'RS256');
let issuer: LocalIssuer;
let h: GatewayHarness;

beforeAll(async () => {
  issuer = await startLocalIssuer([clusterKey]);
  h = await startGatewayHarness({
    auth: `auth:
  issuer: ${issuer.url}
  audience: ${AUDIENCE}
  discovery: true
  jwks: { requestsPerMinute: 600 }`,
    extraCallers: `  shop:
    account: main
    scopes: [catalog:read]
    match: { claims: { kubernetes.io/namespace: shop } }
  payments-billing:
    account: members
    scopes: [catalog:read, computes:read]
    match: { claims: { kubernetes.io/namespace: payments, kubernetes.io/serviceaccount/name: billing } }
  ${SA}:shop:admin: { account: main, scopes: ["*"] }`,
  });
});
afterAll(async () => {
  await h.close();
  await issuer.close();
});

/** A projected token as the kube-apiserver issues it. */
function projectedToken(namespace: string, name: string): string {
  const nowSec = Math.floor(Date.now() / 1000);
  return issuer.sign(clusterKey, {
    aud: [AUDIENCE],
    exp: nowSec + 600,
    iat: nowSec,
    nbf: nowSec,
    iss: issuer.url,
    jti: randomUUID(),
    sub: `${SA}:${namespace}:${name}`,
    'kubernetes.io': {
      namespace,
      node: { name: 'node-1', uid: randomUUID() },
      pod: { name: `${name}-7d9f`, uid: randomUUID() },
      serviceaccount: { name, uid: randomUUID() },
    },
  });
}

async function as(token: string, method: string, target: string) {
  const reply = await h.request(method, target, { headers: { authorization: `Bearer ${token}` } });
  const line = await h.accessLine(reply.requestId);
  return { status: reply.status, caller: line.caller, reason: line.reason };
}

it.each([
  ['any service account of namespace shop is the caller shop', 'shop', 'web', 'shop'],
  ['another one, same caller', 'shop', 'cart', 'shop'],
  ['payments/billing by its one-account rule', 'payments', 'billing', 'payments-billing'],
  ['an exact subject wins over the namespace rule', 'shop', 'admin', `${SA}:shop:admin`],
])('%s', async (_name, namespace, account, caller) => {
  expect(await as(projectedToken(namespace, account), 'GET', '/api/v1/regions')).toMatchObject({
    status: 200,
    caller,
  });
});

it('the namespace rule grants only its own scopes', async () => {
  expect(await as(projectedToken('shop', 'web'), 'GET', '/api/v1/computes')).toMatchObject({
    status: 403,
    caller: 'shop',
    reason: 'missing-scope:computes:read',
  });
});

it('a service account no rule matches is refused: 403 unknown-caller, the upstream never called', async () => {
  const answer = await h.withoutUpstream(() => as(projectedToken('payments', 'web'), 'GET', '/api/v1/regions'));
  expect(answer).toMatchObject({ status: 403, reason: 'unknown-caller' });
});

it("a token whose sub is a rule caller's name is not that caller", async () => {
  const nowSec = Math.floor(Date.now() / 1000);
  const token = issuer.sign(clusterKey, {
    sub: 'shop',
    iss: issuer.url,
    aud: AUDIENCE,
    iat: nowSec,
    exp: nowSec + 600,
  });
  expect(await as(token, 'GET', '/api/v1/regions')).toMatchObject({ status: 403, reason: 'unknown-caller' });
});

it('a token from the cluster for another audience is refused', async () => {
  const nowSec = Math.floor(Date.now() / 1000);
  const token = issuer.sign(clusterKey, {
    sub: `${SA}:shop:web`,
    iss: issuer.url,
    aud: ['https://kubernetes.default.svc.cluster.local'],
    iat: nowSec,
    exp: nowSec + 600,
    'kubernetes.io': { namespace: 'shop', serviceaccount: { name: 'web' } },
  });
  expect(await as(token, 'GET', '/api/v1/regions')).toMatchObject({ status: 401, reason: 'auth-wrong-audience' });
});
