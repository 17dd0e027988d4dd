/**
 * What Redis says about the schedules' cost: `INFO memory` and `INFO stats` (memory in use, commands
 * processed), `DBSIZE`, and every key with its time to live and size (SCAN, PTTL, MEMORY USAGE), grouped
 * by pattern, so a key left without an expiry shows up by name. Parsing and grouping are pure.
 *
 * `used_memory` also holds the script cache, the clients' buffers and (Redis 7.0) part of the Lua heap,
 * which move by hundreds of KB whatever the keys do; MEMORY USAGE of the keys is what the accounts' state
 * itself costs.
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
  /** `used_memory_dataset`: used_memory without the server's own overhead (clients, script cache). */
  datasetBytes: number;
  /** `total_commands_processed`: what clients sent (one EVALSHA is one command, whatever its script calls). */
  commandsProcessed: number;
  dbsize: number;
}

export async function redisSnapshot(redis: BenchRedis): Promise<RedisSnapshot> {
  const memory = parseInfoFields(String(await redis.command('INFO', 'memory')));
  const stats = parseInfoFields(String(await redis.command('INFO', 'stats')));
  return {
    usedMemoryBytes: Number(memory.used_memory),
    datasetBytes: Number(memory.used_memory_dataset),
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
  /** MEMORY USAGE summed over the keys, and over the schedule keys alone. */
  bytes: number;
  scheduleBytes: number;
  /** Keys that would never expire (PTTL -1), a few by name, then counted. */
  withoutExpiry: string[];
  withoutExpiryCount: number;
  /** The longest time to live seen: the idle TTL plus the furthest slot ahead. */
  maxTtlMs: number;
}

const NAMED_WITHOUT_EXPIRY = 10;

export interface KeyFacts {
  key: string;
  /** PTTL: -1 no expiry, -2 gone meanwhile. */
  ttlMs: number;
  /** MEMORY USAGE; 0 when gone. */
  bytes: number;
}

/** Pure: the audit of keys, their PTTL and MEMORY USAGE replies. */
export function auditKeys(keys: readonly KeyFacts[]): KeyAudit {
  const audit: KeyAudit = {
    total: 0,
    scheduleKeys: 0,
    byPattern: {},
    bytes: 0,
    scheduleBytes: 0,
    withoutExpiry: [],
    withoutExpiryCount: 0,
    maxTtlMs: 0,
  };
  for (const { key, ttlMs, bytes } of keys) {
    if (ttlMs === -2) continue;
    audit.total++;
    audit.bytes += bytes;
    if (isScheduleKey(key)) {
      audit.scheduleKeys++;
      audit.scheduleBytes += bytes;
    }
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

export async function keyAudit(redis: BenchRedis, match = '*'): Promise<KeyAudit> {
  const facts: KeyFacts[] = [];
  for (const key of await scanKeys(redis, match)) {
    const ttlMs = Number(await redis.command('PTTL', key));
    // SAMPLES 0: every field of a large hash, not an estimate from five.
    const bytes = Number((await redis.command('MEMORY', 'USAGE', key, 'SAMPLES', 0)) ?? 0);
    facts.push({ key, ttlMs, bytes });
  }
  return auditKeys(facts);
}
