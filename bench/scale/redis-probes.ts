/**
 * What Redis says about the schedules' cost: `INFO memory` and `INFO stats` (memory in use, commands
 * processed), `DBSIZE`, and every key with its time to live (SCAN + PTTL), grouped by pattern, so a key
 * left without an expiry shows up by name. Parsing and grouping are pure.
 */
import type { BenchRedis } from '../fleet/redis-server';

/** `field:value` lines of an INFO reply. */
export function parseInfoFields(info: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const match of info.matchAll(/^([a-z_0-9]+):(.*?)\r?$/gm)) fields[match[1]!] = match[2]!;
  return fields;
}

export interface RedisSnapshot {
  usedMemoryBytes: number;
  /** `total_commands_processed`: what clients sent (one EVALSHA is one command, whatever its script calls). */
  commandsProcessed: number;
  dbsize: number;
}

export async function redisSnapshot(redis: BenchRedis): Promise<RedisSnapshot> {
  const memory = parseInfoFields(String(await redis.command('INFO', 'memory')));
  const stats = parseInfoFields(String(await redis.command('INFO', 'stats')));
  return {
    usedMemoryBytes: Number(memory.used_memory),
    commandsProcessed: Number(stats.total_commands_processed),
    dbsize: Number(await redis.command('DBSIZE')),
  };
}

/** A key's shape: numbers (account and caller ordinals) become `*`, so 200 schedule keys make two patterns. */
export const keyPattern = (key: string) => key.replace(/\d+/g, '*');

/** The schedules' keys (`<prefix>:{acct:<account>:<class>}:…`, src/schedule/keys.ts), the bench's prefix `sg`. */
export const SCHEDULE_KEY_MATCH = 'sg:{acct:*';
export const isScheduleKey = (key: string) => key.startsWith('sg:{acct:');

export interface KeyAudit {
  total: number;
  scheduleKeys: number;
  byPattern: Record<string, number>;
  /** Keys that would never expire (PTTL -1), a few by name, then counted. */
  withoutExpiry: string[];
  withoutExpiryCount: number;
  /** The longest time to live seen: the idle TTL plus the furthest slot ahead. */
  maxTtlMs: number;
}

const NAMED_WITHOUT_EXPIRY = 10;

/** Pure: the audit of keys and their PTTL replies (-1: no expiry, -2: gone meanwhile). */
export function auditKeys(keys: ReadonlyArray<readonly [string, number]>): KeyAudit {
  const audit: KeyAudit = {
    total: 0,
    scheduleKeys: 0,
    byPattern: {},
    withoutExpiry: [],
    withoutExpiryCount: 0,
    maxTtlMs: 0,
  };
  for (const [key, ttlMs] of keys) {
    if (ttlMs === -2) continue;
    audit.total++;
    if (isScheduleKey(key)) audit.scheduleKeys++;
    const pattern = keyPattern(key);
    audit.byPattern[pattern] = (audit.byPattern[pattern] ?? 0) + 1;
    if (ttlMs === -1) {
      audit.withoutExpiryCount++;
      if (audit.withoutExpiry.length < NAMED_WITHOUT_EXPIRY) audit.withoutExpiry.push(key);
    } else {
      audit.maxTtlMs = Math.max(audit.maxTtlMs, ttlMs);
    }
  }
  return audit;
}

const SCAN_PAGE = 1000;

export async function scanKeys(redis: BenchRedis, match = '*'): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, page] = (await redis.command('SCAN', cursor, 'MATCH', match, 'COUNT', SCAN_PAGE)) as [
      string,
      string[],
    ];
    keys.push(...page);
    cursor = String(next);
  } while (cursor !== '0');
  return keys;
}

export async function keyAudit(redis: BenchRedis): Promise<KeyAudit> {
  const keys = await scanKeys(redis);
  const ttls: Array<[string, number]> = [];
  for (const key of keys) ttls.push([key, Number(await redis.command('PTTL', key))]);
  return auditKeys(ttls);
}
