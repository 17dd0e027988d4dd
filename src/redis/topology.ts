/**
 * Where the gateway's Redis is, in one of the three shapes platform teams run: a single node (a URL),
 * a master watched by Sentinels, or a Cluster. Pure values: the settings build one, the connection
 * (`connection.ts`) turns it into an ioredis client. Secrets travel inside; `describeRedisTopology`
 * is the only way to print one.
 */

export interface RedisAddress {
  readonly host: string;
  readonly port: number;
}

/** PEM files for TLS; `rediss://` or `REDIS_TLS=1` turns TLS on, these only add trust and a client certificate. */
export interface RedisTlsFiles {
  readonly caFile?: string;
  readonly certFile?: string;
  readonly keyFile?: string;
}

interface Credentials {
  /** ACL user of the data nodes (absent: `default`). */
  readonly username?: string;
  readonly password?: string;
}

export type RedisTopology =
  | {
      readonly kind: 'single';
      /** `redis://[user:password@]host:port[/db]` or `rediss://…` (TLS). */
      readonly url: string;
      readonly tls?: RedisTlsFiles;
    }
  | (Credentials & {
      readonly kind: 'sentinel';
      readonly sentinels: readonly RedisAddress[];
      /** The name the Sentinels monitor the master under (`sentinel monitor <name> …`). */
      readonly masterName: string;
      readonly sentinelPassword?: string;
      /** Absent: plain TCP to the Sentinels and the data nodes. */
      readonly tls?: RedisTlsFiles;
    })
  | (Credentials & {
      readonly kind: 'cluster';
      /** Seed nodes; the client learns the rest from `CLUSTER SLOTS`. */
      readonly nodes: readonly RedisAddress[];
      readonly tls?: RedisTlsFiles;
    });

/**
 * `host:port,host:port,…` → addresses, or the reason it is not one. IPv6 hosts are written in
 * brackets (`[::1]:26379`), as in a URL.
 */
export function parseRedisAddresses(
  text: string,
): { ok: true; addresses: RedisAddress[] } | { ok: false; reason: string } {
  const addresses: RedisAddress[] = [];
  for (const raw of text.split(',')) {
    const item = raw.trim();
    const match = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):([0-9]{1,5})$/.exec(item);
    const port = match ? Number(match[2]) : NaN;
    if (!match || port < 1 || port > 65535)
      return { ok: false, reason: `"${item}" is not host:port (a port from 1 to 65535)` };
    addresses.push({ host: match[1]!.replace(/^\[|\]$/g, ''), port });
  }
  return { ok: true, addresses };
}

/** The URL without its password: `redis://:***@host:6379/0`. */
export function redactRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparsable URL, not shown)';
  }
}

const formatAddress = (a: RedisAddress): string =>
  a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;

/** One line for logs and `check-config`: the shape and the addresses, never a password. */
export function describeRedisTopology(topology: RedisTopology): string {
  const tls = topology.tls === undefined ? '' : ' over TLS';
  switch (topology.kind) {
    case 'single':
      return `single node ${redactRedisUrl(topology.url)}`;
    case 'sentinel':
      return (
        `sentinel master "${topology.masterName}" via ${topology.sentinels.map(formatAddress).join(',')}` +
        `${credentialsNote(topology)}${tls}`
      );
    case 'cluster':
      return `cluster seeds ${topology.nodes.map(formatAddress).join(',')}${credentialsNote(topology)}${tls}`;
  }
}

function credentialsNote(c: Credentials): string {
  if (c.password === undefined) return c.username === undefined ? '' : ` as ${c.username}`;
  return ` as ${c.username ?? 'default'}:***`;
}
