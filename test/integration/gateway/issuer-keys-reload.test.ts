/**
 * A reload keeps the issuer's cached keys when it leaves the key set's settings alone, so a reload
 * during an issuer outage loses nothing; a changed key set starts afresh. Real HTTP to a local issuer.
 */
import { issuerKeysFor } from '../../../src/gateway/issuer-keys';
import { createLogger } from '../../../src/gateway/observability/logger';
import { createMetrics } from '../../../src/gateway/observability/metrics';
import { parsePolicy, type Policy } from '../../../src/gateway/policy';
import { issuerKey, startLocalIssuer, type LocalIssuer } from '../../helpers/oidc-issuer';

const key = issuerKey('k-1', 'ES256');
let issuer: LocalIssuer;
beforeAll(async () => {
  issuer = await startLocalIssuer([key]);
});
afterAll(() => issuer.close());

function policy(jwks: string, scopes = 'catalog:read'): Policy {
  const parsed = parsePolicy(
    `accounts:
  prod: { apiKey: { env: KEY } }
auth:
  issuer: ${issuer.url}
  audience: strettch-gateway
  discovery: true
  jwks: ${jwks}
callers:
  billing: { account: prod, scopes: [${scopes}] }
`,
    '/policy.yaml',
    { readEnv: () => 'sk-test', readFile: () => '' },
  );
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  return parsed.policy;
}

it('same key set settings: the same source, its cached keys kept while the issuer is down', async () => {
  const lines: string[] = [];
  const deps = {
    now: Date.now,
    logger: createLogger({ destination: { write: (line: string) => void lines.push(line) } }),
    metrics: createMetrics(),
  };
  const first = issuerKeysFor(policy('{ requestsPerMinute: 600 }'), undefined, deps)!;
  await first.source.refresh();
  expect(first.source.status()).toMatchObject({ state: 'fresh', keys: 1 });

  await issuer.down();
  // A reload that changes a caller's scopes but not auth: the running source, keys and all.
  const reloaded = issuerKeysFor(policy('{ requestsPerMinute: 600 }', 'computes:read'), first, deps)!;
  expect(reloaded).toBe(first);
  expect(await reloaded.source.getKey('k-1')).toMatchObject({ kind: 'found' });

  // A changed key set setting: a new source, which has nothing cached while the issuer is down.
  const changed = issuerKeysFor(policy('{ requestsPerMinute: 300 }'), first, deps)!;
  expect(changed).not.toBe(first);
  await changed.source.refresh();
  expect(await changed.source.getKey('k-1')).toEqual({ kind: 'unavailable' });
  expect(lines.some((line) => line.includes('issuer keys: refresh failed'))).toBe(true);
  await issuer.up();
});
