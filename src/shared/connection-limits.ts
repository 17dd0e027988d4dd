/**
 * Caps on concurrently open connections, over all clients and per client address: without them one
 * client could hold every file descriptor the process has with idle sockets. Pure bookkeeping; the
 * HTTP server asks `admit` for each new connection and calls `release` when it closes.
 */
import { isIPv6 } from 'node:net';

export interface ConnectionLimits {
  /** Connections open at once, over all clients. */
  maxConnections: number;
  /** Connections open at once from one client address (an IPv6 client: its /64). */
  maxConnectionsPerClient: number;
}

/**
 * The defaults of `GATEWAY_MAX_CONNECTIONS` and `GATEWAY_MAX_CONNECTIONS_PER_CLIENT`: far above what
 * internal services' keep-alive pools open (the soak benchmark's 512 from one address included),
 * far below a container's file descriptor limit.
 */
export const CONNECTION_LIMIT_DEFAULTS: Readonly<ConnectionLimits> = Object.freeze({
  maxConnections: 4096,
  maxConnectionsPerClient: 1024,
});

export type Admission = 'admitted' | 'connection-limit' | 'client-connection-limit';

/**
 * Whose connection this is, for the per-client cap. An IPv4-mapped IPv6 address is its IPv4
 * address; an IPv6 address counts by its /64, since one host commonly holds a whole /64.
 */
export function clientKey(remoteAddress: string | undefined): string {
  if (remoteAddress === undefined || remoteAddress === '') return 'unknown';
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(remoteAddress);
  if (mapped) return mapped[1]!;
  if (!isIPv6(remoteAddress)) return remoteAddress;
  return `${expandIPv6(remoteAddress).slice(0, 4).join(':')}::/64`;
}

/** The eight groups of an IPv6 address, each as a number in lower-case hex without leading zeroes. */
function expandIPv6(address: string): string[] {
  const withoutZone = address.split('%')[0]!;
  const [head = '', tail] = withoutZone.split('::');
  const groups = (part: string) => (part === '' ? [] : part.split(':'));
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const missing = 8 - left.length - right.length;
  return [...left, ...Array<string>(Math.max(0, missing)).fill('0'), ...right].map((group) =>
    // An embedded IPv4 tail (`::1.2.3.4`) only ever falls in the last two groups, past the /64.
    group.includes('.') ? group : parseInt(group, 16).toString(16),
  );
}

export interface ConnectionCounter {
  /** Counts the connection in when both caps allow it; otherwise says which cap refused it. */
  admit(remoteAddress: string | undefined): Admission;
  /** An admitted connection closed. */
  release(remoteAddress: string | undefined): void;
  open(): number;
}

export function createConnectionCounter(limits: ConnectionLimits): ConnectionCounter {
  let open = 0;
  const byClient = new Map<string, number>();
  return {
    admit(remoteAddress) {
      if (open >= limits.maxConnections) return 'connection-limit';
      const key = clientKey(remoteAddress);
      const fromClient = byClient.get(key) ?? 0;
      if (fromClient >= limits.maxConnectionsPerClient) return 'client-connection-limit';
      open++;
      byClient.set(key, fromClient + 1);
      return 'admitted';
    },
    release(remoteAddress) {
      const key = clientKey(remoteAddress);
      const fromClient = byClient.get(key) ?? 0;
      open = Math.max(0, open - 1);
      // Forget a client with nothing open, so the map holds only clients with open connections.
      if (fromClient <= 1) byClient.delete(key);
      else byClient.set(key, fromClient - 1);
    },
    open: () => open,
  };
}
