/**
 * Idempotency records for `POST /computes`, scoped per API key: the same Idempotency-Key from two
 * different API keys names two different creates (so one key's holder can never read another's
 * result). Only performed creates are recorded; a request refused by validation leaves no record,
 * so the client can fix the body and retry with the same key. Records live until reset.
 */
import { createHash } from 'node:crypto';

/** UUID v4 (version nibble 4, RFC 4122 variant), case-insensitive as RFC 4122 asks of readers. */
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

export function isUuidV4(value: unknown): value is string {
  return typeof value === 'string' && UUID_V4.test(value);
}

/**
 * A fingerprint of the parsed body, insensitive to key order and whitespace, so a proxy that
 * re-serialises JSON still replays.
 */
export function bodyFingerprint(body: unknown): string {
  return createHash('sha256').update(canonicalJson(body)).digest('hex');
}

export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value);
}

export interface StoredResponse {
  fingerprint: string;
  /** The original response body, replayed byte for byte. */
  body: string;
}

export type IdempotencyLookup = { kind: 'new' } | { kind: 'replay'; body: string } | { kind: 'mismatch' };

export class IdempotencyStore {
  private readonly records = new Map<string, StoredResponse>();

  lookup(apiKeyId: string, idempotencyKey: string, fingerprint: string): IdempotencyLookup {
    const stored = this.records.get(scope(apiKeyId, idempotencyKey));
    if (!stored) return { kind: 'new' };
    return stored.fingerprint === fingerprint ? { kind: 'replay', body: stored.body } : { kind: 'mismatch' };
  }

  remember(apiKeyId: string, idempotencyKey: string, response: StoredResponse): void {
    this.records.set(scope(apiKeyId, idempotencyKey), response);
  }

  reset(): void {
    this.records.clear();
  }
}

function scope(apiKeyId: string, idempotencyKey: string): string {
  // UUIDs compare case-insensitively.
  return `${apiKeyId} ${idempotencyKey.toLowerCase()}`;
}
