/**
 * The Redis block of the settings: which topology (exactly one of REDIS_URL, REDIS_SENTINELS,
 * REDIS_CLUSTER_NODES), its credentials and its TLS files, checked together so that every
 * contradiction is reported at once, each under the variable to change. Pure: reads the raw
 * environment strings; the TLS files are read when the connection is built (`src/redis/tls.ts`).
 */
import { parseRedisAddresses, type RedisTlsFiles, type RedisTopology } from '../redis';

type Env = Readonly<Record<string, string | undefined>>;

export const REDIS_TOPOLOGY_ENV_NAMES = [
  'REDIS_SENTINELS',
  'REDIS_SENTINEL_MASTER',
  'REDIS_SENTINEL_PASSWORD',
  'REDIS_CLUSTER_NODES',
  'REDIS_USERNAME',
  'REDIS_PASSWORD',
  'REDIS_TLS',
  'REDIS_TLS_CA_FILE',
  'REDIS_TLS_CERT_FILE',
  'REDIS_TLS_KEY_FILE',
] as const;

const TOPOLOGY_NAMES = ['REDIS_URL', 'REDIS_SENTINELS', 'REDIS_CLUSTER_NODES'] as const;
const TLS_FLAG = new Map([
  ['1', true],
  ['true', true],
  ['0', false],
  ['false', false],
]);

/** The topology the environment describes (absent: no Redis), or every problem with it as `NAME: message`. */
export function redisTopologyFromEnv(
  env: Env,
): { ok: true; topology?: RedisTopology } | { ok: false; problems: string[] } {
  const value = (name: string): string | undefined => (env[name] === '' ? undefined : env[name]);
  const problems: string[] = [];
  const problem = (name: string, message: string): void => void problems.push(`${name}: ${message}`);

  const chosen = TOPOLOGY_NAMES.filter((name) => value(name) !== undefined);
  if (chosen.length > 1)
    problem(chosen[1]!, `set exactly one Redis topology, but ${chosen.join(' and ')} are both set`);
  // With two set, the rest is checked against the first, so its problems are not hidden behind this one.
  const kind = chosen[0];

  const tlsText = value('REDIS_TLS');
  const tlsFlag = tlsText === undefined ? false : TLS_FLAG.get(tlsText);
  if (tlsFlag === undefined)
    problem('REDIS_TLS', 'must be 1 or true (TLS to the Sentinels or Cluster nodes), 0 or false');
  const url = value('REDIS_URL');
  if (kind === 'REDIS_URL' && tlsFlag === true)
    problem('REDIS_TLS', 'is for REDIS_SENTINELS and REDIS_CLUSTER_NODES; a single node says TLS with rediss://');
  if (kind === undefined && tlsFlag === true)
    problem('REDIS_TLS', 'is for REDIS_SENTINELS or REDIS_CLUSTER_NODES, and neither is set');
  const tlsOn = kind === 'REDIS_URL' ? url?.startsWith('rediss://') === true : tlsFlag === true;

  const files: { -readonly [K in keyof RedisTlsFiles]: string } = {};
  for (const [name, key] of [
    ['REDIS_TLS_CA_FILE', 'caFile'],
    ['REDIS_TLS_CERT_FILE', 'certFile'],
    ['REDIS_TLS_KEY_FILE', 'keyFile'],
  ] as const) {
    const file = value(name);
    if (file === undefined) continue;
    files[key] = file;
    if (kind === undefined) problem(name, 'is for a Redis topology, and none is set');
    else if (!tlsOn)
      problem(name, kind === 'REDIS_URL' ? 'needs TLS: write REDIS_URL as rediss://…' : 'needs REDIS_TLS=1');
  }
  if ((files.certFile === undefined) !== (files.keyFile === undefined))
    problem(
      files.certFile === undefined ? 'REDIS_TLS_CERT_FILE' : 'REDIS_TLS_KEY_FILE',
      'a client certificate needs both REDIS_TLS_CERT_FILE and REDIS_TLS_KEY_FILE',
    );

  const username = value('REDIS_USERNAME');
  const password = value('REDIS_PASSWORD');
  for (const [name, set] of [
    ['REDIS_USERNAME', username],
    ['REDIS_PASSWORD', password],
  ] as const) {
    if (set === undefined) continue;
    if (kind === 'REDIS_URL')
      problem(name, 'with REDIS_URL, write the user and password in it: redis://user:password@host:port');
    else if (kind === undefined) problem(name, 'is for REDIS_SENTINELS or REDIS_CLUSTER_NODES, and neither is set');
  }

  const masterName = value('REDIS_SENTINEL_MASTER');
  const sentinelPassword = value('REDIS_SENTINEL_PASSWORD');
  if (kind === 'REDIS_SENTINELS' && masterName === undefined)
    problem('REDIS_SENTINEL_MASTER', 'required with REDIS_SENTINELS: the name the Sentinels monitor the master under');
  for (const [name, set] of [
    ['REDIS_SENTINEL_MASTER', masterName],
    ['REDIS_SENTINEL_PASSWORD', sentinelPassword],
  ] as const)
    if (set !== undefined && value('REDIS_SENTINELS') === undefined)
      problem(name, 'is for REDIS_SENTINELS, which is not set');

  const addressesOf = (name: 'REDIS_SENTINELS' | 'REDIS_CLUSTER_NODES') => {
    const parsed = parseRedisAddresses(value(name)!);
    if (!parsed.ok) problem(name, `must be host:port,host:port,…: ${parsed.reason}`);
    return parsed.ok ? parsed.addresses : [];
  };
  const credentials = { ...(username ? { username } : {}), ...(password ? { password } : {}) };
  const tls = tlsOn ? { tls: files } : {};
  let topology: RedisTopology | undefined;
  // Each address list is checked even when another topology is chosen, so its typo is reported too.
  const sentinels = value('REDIS_SENTINELS') === undefined ? [] : addressesOf('REDIS_SENTINELS');
  const nodes = value('REDIS_CLUSTER_NODES') === undefined ? [] : addressesOf('REDIS_CLUSTER_NODES');
  if (kind === 'REDIS_URL' && url !== undefined) topology = { kind: 'single', url, ...tls };
  if (kind === 'REDIS_SENTINELS')
    topology = {
      kind: 'sentinel',
      sentinels,
      masterName: masterName ?? '',
      ...(sentinelPassword ? { sentinelPassword } : {}),
      ...credentials,
      ...tls,
    };
  if (kind === 'REDIS_CLUSTER_NODES') topology = { kind: 'cluster', nodes, ...credentials, ...tls };
  return problems.length > 0 ? { ok: false, problems } : { ok: true, topology };
}
