/**
 * Sandbox API keys. As at the provider, a key belongs to one team and carries the role of the
 * member who created it. Keys are never shown again after startup: everything that reports on a
 * key (stats, logs, recorded headers) uses its label `team:role:<first 8 hex of sha256(key)>`.
 */
import { createHash } from 'node:crypto';

export const ROLES = ['owner', 'admin', 'member'] as const;
export type Role = (typeof ROLES)[number];

export interface SandboxKey {
  key: string;
  team: string;
  role: Role;
}

/** Public on purpose: printed at startup and in the docs. Never use them for anything real. */
export const DEMO_KEYS: readonly SandboxKey[] = Object.freeze([
  Object.freeze({ key: 'sandbox-owner-key', team: 'team-a', role: 'owner' }),
  Object.freeze({ key: 'sandbox-admin-key', team: 'team-a', role: 'admin' }),
  Object.freeze({ key: 'sandbox-member-key', team: 'team-a', role: 'member' }),
  Object.freeze({ key: 'sandbox-other-key', team: 'team-b', role: 'owner' }),
]);

/** Printable ASCII without separators used by the key list format or the Bearer scheme. */
const KEY_PATTERN = /^[A-Za-z0-9._~+/=-]{8,256}$/;
const TEAM_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

export function sha256Hex(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

export function keyLabel(key: SandboxKey): string {
  return `${key.team}:${key.role}:${sha256Hex(key.key).slice(0, 8)}`;
}

export type KeyListResult = { ok: true; keys: SandboxKey[] } | { ok: false; problems: string[] };

/**
 * Parses `key:team:role,key:team:role` (the `--keys` flag and `STRETTCH_SANDBOX_KEYS`). Problems
 * name the entry by position and never echo the key itself.
 */
export function parseKeyList(text: string): KeyListResult {
  const problems: string[] = [];
  const keys: SandboxKey[] = [];
  const entries = text.split(',').map((entry) => entry.trim());
  entries.forEach((entry, index) => {
    const where = `entry ${index + 1}`;
    const parts = entry.split(':');
    if (parts.length !== 3) {
      problems.push(`${where}: expected key:team:role`);
      return;
    }
    const [key, team, role] = parts as [string, string, string];
    const problem = keyProblem({ key, team, role });
    if (problem) problems.push(`${where}: ${problem}`);
    else keys.push({ key, team, role: role as Role });
  });
  const duplicates = keys.filter((k, i) => keys.findIndex((other) => other.key === k.key) !== i);
  if (duplicates.length > 0) problems.push(`the same key is listed ${duplicates.length + 1} times`);
  return problems.length > 0 ? { ok: false, problems } : { ok: true, keys };
}

export function keyProblem(key: { key: string; team: string; role: string }): string | undefined {
  if (!KEY_PATTERN.test(key.key)) return 'key must be 8-256 characters of A-Z a-z 0-9 . _ ~ + / = -';
  if (!TEAM_PATTERN.test(key.team)) return 'team must be 1-64 characters of A-Z a-z 0-9 . _ -';
  if (!(ROLES as readonly string[]).includes(key.role)) return `role must be one of ${ROLES.join(', ')}`;
  return undefined;
}

export interface AuthenticatedKey {
  /** Full sha256 of the key: the internal identity (rate windows, idempotency scope). */
  id: string;
  label: string;
  team: string;
  role: Role;
}

export type Authentication =
  { kind: 'authenticated'; key: AuthenticatedKey } | { kind: 'missing' } | { kind: 'unknown' };

/** Looks keys up by hash, so the raw keys need not be kept beyond construction. */
export class KeyRing {
  private readonly byHash = new Map<string, AuthenticatedKey>();
  /** Raw keys with their labels, longest first, kept only to scrub them out of recorded text. */
  private readonly scrubList: { key: string; label: string }[] = [];

  constructor(keys: readonly SandboxKey[]) {
    for (const key of keys) {
      const id = sha256Hex(key.key);
      if (this.byHash.has(id)) throw new Error(`keys: duplicate key ${keyLabel(key)}`);
      const label = keyLabel(key);
      if ([...this.byHash.values()].some((k) => k.label === label))
        throw new Error(`keys: two keys share the label ${label}`);
      this.byHash.set(id, Object.freeze({ id, label, team: key.team, role: key.role }));
      this.scrubList.push({ key: key.key, label });
    }
    this.scrubList.sort((a, b) => b.key.length - a.key.length);
  }

  /** Replaces every occurrence of a known key in `text` by `key(<label>)`. */
  scrub(text: string): string {
    let result = text;
    for (const { key, label } of this.scrubList) {
      if (result.includes(key)) result = result.split(key).join(`key(${label})`);
    }
    return result;
  }

  /** The key behind a bearer token, if any. */
  lookup(token: string): AuthenticatedKey | undefined {
    return this.byHash.get(sha256Hex(token));
  }

  authenticate(authorization: string | undefined): Authentication {
    const token = bearerToken(authorization);
    if (token === undefined) return { kind: 'missing' };
    const key = this.lookup(token);
    return key ? { kind: 'authenticated', key } : { kind: 'unknown' };
  }

  get size(): number {
    return this.byHash.size;
  }
}

/** `Bearer <token>` with a case-insensitive scheme, as RFC 6750 allows; anything else is "missing". */
export function bearerToken(authorization: string | undefined): string | undefined {
  if (authorization === undefined) return undefined;
  const match = /^Bearer +(\S+) *$/i.exec(authorization);
  return match ? match[1] : undefined;
}
