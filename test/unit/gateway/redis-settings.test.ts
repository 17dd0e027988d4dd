/**
 * The Redis block of the settings: one topology out of REDIS_URL, REDIS_SENTINELS and
 * REDIS_CLUSTER_NODES, its credentials and TLS files; every contradiction reported at once, under
 * the variable to change; passwords never listed.
 */
import { redisTopologyFromEnv } from '../../../src/gateway/redis-settings';
import { effectiveSettings, readSettings } from '../../../src/gateway/settings';
import { sharedStateProblems } from '../../../src/gateway/shared-state-check';
import { parsePolicy } from '../../../src/gateway/policy';

const problemsOf = (env: Record<string, string>): string[] => {
  const read = readSettings(env);
  return read.ok ? [] : read.problems;
};

describe('the Redis topology from the environment', () => {
  it('none: no Redis (the schedule and the ledger in memory)', () => {
    expect(redisTopologyFromEnv({})).toEqual({ ok: true, topology: undefined });
    expect(redisTopologyFromEnv({ REDIS_URL: '', REDIS_SENTINELS: '' })).toEqual({ ok: true, topology: undefined });
  });

  it('a single node: the URL as written, TLS from rediss:// with its files', () => {
    expect(redisTopologyFromEnv({ REDIS_URL: 'redis://:pw@r:6379/2' })).toEqual({
      ok: true,
      topology: { kind: 'single', url: 'redis://:pw@r:6379/2' },
    });
    expect(redisTopologyFromEnv({ REDIS_URL: 'rediss://app:pw@r:6380', REDIS_TLS_CA_FILE: '/run/ca.pem' })).toEqual({
      ok: true,
      topology: { kind: 'single', url: 'rediss://app:pw@r:6380', tls: { caFile: '/run/ca.pem' } },
    });
  });

  it('Sentinel: addresses, master name, Sentinel and data-node credentials, TLS to both', () => {
    expect(
      redisTopologyFromEnv({
        REDIS_SENTINELS: 'sentinel-0.redis:26379, sentinel-1.redis:26379,[::1]:26380',
        REDIS_SENTINEL_MASTER: 'gateway',
        REDIS_SENTINEL_PASSWORD: 's-pw',
        REDIS_USERNAME: 'strettch-gateway',
        REDIS_PASSWORD: 'd-pw',
        REDIS_TLS: '1',
        REDIS_TLS_CA_FILE: '/run/ca.pem',
        REDIS_TLS_CERT_FILE: '/run/client.pem',
        REDIS_TLS_KEY_FILE: '/run/client.key',
      }),
    ).toEqual({
      ok: true,
      topology: {
        kind: 'sentinel',
        sentinels: [
          { host: 'sentinel-0.redis', port: 26379 },
          { host: 'sentinel-1.redis', port: 26379 },
          { host: '::1', port: 26380 },
        ],
        masterName: 'gateway',
        sentinelPassword: 's-pw',
        username: 'strettch-gateway',
        password: 'd-pw',
        tls: { caFile: '/run/ca.pem', certFile: '/run/client.pem', keyFile: '/run/client.key' },
      },
    });
  });

  it('Cluster: seed nodes and credentials, plain TCP unless REDIS_TLS says otherwise', () => {
    expect(
      redisTopologyFromEnv({ REDIS_CLUSTER_NODES: 'r-0:6379,r-1:6379', REDIS_PASSWORD: 'pw', REDIS_TLS: '0' }),
    ).toEqual({
      ok: true,
      topology: {
        kind: 'cluster',
        nodes: [
          { host: 'r-0', port: 6379 },
          { host: 'r-1', port: 6379 },
        ],
        password: 'pw',
      },
    });
  });

  it.each([
    [
      { REDIS_URL: 'redis://r:6379', REDIS_CLUSTER_NODES: 'r:6379' },
      ['REDIS_CLUSTER_NODES: set exactly one Redis topology, but REDIS_URL and REDIS_CLUSTER_NODES are both set'],
    ],
    [
      { REDIS_SENTINELS: 's:26379' },
      ['REDIS_SENTINEL_MASTER: required with REDIS_SENTINELS: the name the Sentinels monitor the master under'],
    ],
    [
      { REDIS_SENTINEL_MASTER: 'm', REDIS_URL: 'redis://r:6379' },
      ['REDIS_SENTINEL_MASTER: is for REDIS_SENTINELS, which is not set'],
    ],
    [
      { REDIS_CLUSTER_NODES: 'r-0:6379,r-1' },
      ['REDIS_CLUSTER_NODES: must be host:port,host:port,…: "r-1" is not host:port (a port from 1 to 65535)'],
    ],
    [
      { REDIS_SENTINELS: 's:0', REDIS_SENTINEL_MASTER: 'm' },
      ['REDIS_SENTINELS: must be host:port,host:port,…: "s:0" is not host:port (a port from 1 to 65535)'],
    ],
    [
      { REDIS_URL: 'redis://r:6379', REDIS_PASSWORD: 'pw' },
      ['REDIS_PASSWORD: with REDIS_URL, write the user and password in it: redis://user:password@host:port'],
    ],
    [{ REDIS_USERNAME: 'app' }, ['REDIS_USERNAME: is for REDIS_SENTINELS or REDIS_CLUSTER_NODES, and neither is set']],
    [
      { REDIS_URL: 'redis://r:6379', REDIS_TLS: '1' },
      ['REDIS_TLS: is for REDIS_SENTINELS and REDIS_CLUSTER_NODES; a single node says TLS with rediss://'],
    ],
    [
      { REDIS_CLUSTER_NODES: 'r:6379', REDIS_TLS: 'yes' },
      ['REDIS_TLS: must be 1 or true (TLS to the Sentinels or Cluster nodes), 0 or false'],
    ],
    [
      { REDIS_URL: 'redis://r:6379', REDIS_TLS_CA_FILE: '/ca.pem' },
      ['REDIS_TLS_CA_FILE: needs TLS: write REDIS_URL as rediss://…'],
    ],
    [{ REDIS_CLUSTER_NODES: 'r:6379', REDIS_TLS_CA_FILE: '/ca.pem' }, ['REDIS_TLS_CA_FILE: needs REDIS_TLS=1']],
    [
      { REDIS_URL: 'rediss://r:6379', REDIS_TLS_CERT_FILE: '/c.pem' },
      ['REDIS_TLS_KEY_FILE: a client certificate needs both REDIS_TLS_CERT_FILE and REDIS_TLS_KEY_FILE'],
    ],
  ])('refuses %j', (env, problems) => {
    expect(redisTopologyFromEnv(env)).toEqual({ ok: false, problems });
    // The settings report the same problems, with the rest of the schema's.
    expect(problemsOf(env)).toEqual(problems);
  });

  it('reports every problem at once, with the other settings’ problems', () => {
    expect(
      problemsOf({
        PORT: 'eighty',
        REDIS_URL: 'redis://r:6379',
        REDIS_SENTINELS: 's:26379',
        REDIS_USERNAME: 'app',
        REDIS_TLS_CERT_FILE: '/c.pem',
      }),
    ).toEqual([
      'PORT: must be a port number from 0 to 65535',
      'REDIS_SENTINELS: set exactly one Redis topology, but REDIS_URL and REDIS_SENTINELS are both set',
      'REDIS_TLS_CERT_FILE: needs TLS: write REDIS_URL as rediss://…',
      'REDIS_TLS_KEY_FILE: a client certificate needs both REDIS_TLS_CERT_FILE and REDIS_TLS_KEY_FILE',
      'REDIS_USERNAME: with REDIS_URL, write the user and password in it: redis://user:password@host:port',
    ]);
  });
});

describe('the settings with a Redis topology', () => {
  it('keep redisUrl for a single node only', () => {
    const single = readSettings({ REDIS_URL: 'redis://r:6379' });
    const cluster = readSettings({ REDIS_CLUSTER_NODES: 'r:6379' });
    if (!single.ok || !cluster.ok) throw new Error('refused');
    expect(single.settings.redisUrl).toBe('redis://r:6379');
    expect(cluster.settings.redisUrl).toBeUndefined();
    expect(cluster.settings.redis).toEqual({ kind: 'cluster', nodes: [{ host: 'r', port: 6379 }] });
  });

  it('are listed by check-config and explain with every password masked', () => {
    const read = readSettings({
      REDIS_SENTINELS: 's-0:26379,s-1:26379',
      REDIS_SENTINEL_MASTER: 'gateway',
      REDIS_SENTINEL_PASSWORD: 'sentinel-secret-1',
      REDIS_USERNAME: 'app',
      REDIS_PASSWORD: 'data-secret-2',
      REDIS_TLS: 'true',
      REDIS_TLS_CA_FILE: '/run/ca.pem',
    });
    if (!read.ok) throw new Error(read.problems.join('\n'));
    const listed = effectiveSettings(read.settings, read.sources);
    const value = (name: string) => listed.find((s) => s.name === name)?.value;
    expect(value('REDIS_URL')).toBe('(unset: sentinel master "gateway" via s-0:26379,s-1:26379 as app:*** over TLS)');
    expect(value('REDIS_SENTINELS')).toBe('s-0:26379,s-1:26379');
    expect(value('REDIS_SENTINEL_PASSWORD')).toBe('***');
    expect(value('REDIS_PASSWORD')).toBe('***');
    expect(value('REDIS_USERNAME')).toBe('app');
    expect(value('REDIS_TLS')).toBe('on');
    expect(value('REDIS_TLS_CA_FILE')).toBe('/run/ca.pem');
    expect(listed.find((s) => s.name === 'REDIS_PASSWORD')?.source).toBe('env');
    const text = JSON.stringify(listed);
    expect(text).not.toContain('sentinel-secret-1');
    expect(text).not.toContain('data-secret-2');
  });

  it('count as shared state for replicas, ownership and quotas, whatever the topology', () => {
    const parsed = parsePolicy(
      [
        'accounts: { prod: { apiKey: { env: KEY } } }',
        'auth: { issuer: https://auth.internal, audience: gw, keys: [{ kid: hs, algorithms: [HS256], secret: { env: HS } }] }',
        'callers: { maker: { account: prod, scopes: ["computes:*"], ownership: {} } }',
      ].join('\n'),
      '/p.yaml',
      { readEnv: (n) => ({ KEY: 'sk-k', HS: 'hs-secret-0123456789abcdef0123456789abcdef' })[n], readFile: () => '' },
    );
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
    for (const env of [
      { REDIS_URL: 'redis://r:6379' },
      { REDIS_SENTINELS: 's:26379', REDIS_SENTINEL_MASTER: 'm' },
      { REDIS_CLUSTER_NODES: 'r:6379' },
    ]) {
      const read = readSettings({ ...env, GATEWAY_REPLICAS: '3' });
      if (!read.ok) throw new Error(read.problems.join('\n'));
      expect(sharedStateProblems(read.settings, parsed.policy)).toEqual([]);
    }
    const none = readSettings({ GATEWAY_REPLICAS: '3' });
    if (!none.ok) throw new Error('refused');
    expect(sharedStateProblems(none.settings, parsed.policy).map((p) => p.path)).toEqual([
      'GATEWAY_REPLICAS',
      'callers.maker.ownership',
    ]);
  });
});
