import { parsePolicy, type Policy } from '../../../src/gateway/policy';
import { sharedStateProblems } from '../../../src/gateway/shared-state-check';

const SECRET = 'hs-secret-0123456789abcdef0123456789abcdef';

function policy(leastPrivilege = '', accountQuotas = ''): Policy {
  const text = `
accounts:
  prod: { apiKey: { env: KEY }${accountQuotas} }
auth:
  issuer: https://auth.internal
  audience: strettch-gateway
  keys: [{ kid: hs, algorithms: [HS256], secret: { env: HS } }]
callers:
  billing: { account: prod, scopes: [computes:read] }
  provisioner: { account: prod, scopes: ["computes:*"]${leastPrivilege} }
`;
  const result = parsePolicy(text, '/p/gateway.yaml', {
    readEnv: (name) => ({ KEY: 'sk-prod-key', HS: SECRET })[name],
    readFile: () => {
      throw new Error('no files');
    },
  });
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.policy;
}

const noRedis = { expectedReplicas: 1, singleReplica: false };

describe('sharedStateProblems', () => {
  it('accepts one replica without Redis when nothing needs a shared ledger (the embedded default)', () => {
    expect(sharedStateProblems(noRedis, policy())).toEqual([]);
  });

  it('refuses several replicas without Redis: each would send the full rate', () => {
    expect(sharedStateProblems({ ...noRedis, expectedReplicas: 3 }, policy())).toEqual([
      { path: 'GATEWAY_REPLICAS', message: expect.stringMatching(/^is 3 but REDIS_URL is not set: each replica/) },
    ]);
  });

  it('refuses ownership and quotas without Redis, each at its path', () => {
    const problems = sharedStateProblems(
      noRedis,
      policy(', ownership: {}, quotas: { liveComputes: 5 }', ', quotas: { liveComputes: 50 }'),
    );
    expect(problems.map((p) => p.path)).toEqual([
      'callers.provisioner.ownership',
      'callers.provisioner.quotas',
      'accounts.prod.quotas',
    ]);
    for (const problem of problems) expect(problem.message).toMatch(/needs REDIS_URL.*GATEWAY_SINGLE_REPLICA=1/);
  });

  it('accepts ownership and quotas without Redis when one replica is declared on purpose', () => {
    expect(sharedStateProblems({ ...noRedis, singleReplica: true }, policy(', ownership: {}'))).toEqual([]);
  });

  it('accepts anything with Redis', () => {
    const settings = { redisUrl: 'redis://r:6379', expectedReplicas: 6, singleReplica: false };
    expect(sharedStateProblems(settings, policy(', ownership: {}', ', quotas: { liveComputes: 50 }'))).toEqual([]);
  });
});
