/**
 * The compute ledger (issue #7): who created which compute, and the counts quotas need. With a
 * Redis connection it is shared by every replica; without one it lives in this process (the
 * embedded default, one replica).
 */
import type { RedisConnection } from '../../redis';
import { MemoryComputeLedger } from './ledger-memory';
import { RedisComputeLedger } from './ledger-redis';
import type { ComputeLedger } from './types';

export interface ComputeLedgerOptions {
  /** Shared ledger on this connection (owned by the caller: the ledger's `close()` leaves it open). */
  redis?: RedisConnection;
  /** Redis key prefix, default `sg:ledger`. */
  keyPrefix?: string;
  /** The memory ledger's clock. The Redis ledger reads Redis `TIME`, so replicas' clocks never matter. */
  now?: () => number;
}

export function createComputeLedger(options: ComputeLedgerOptions): ComputeLedger {
  if (options.redis === undefined) return new MemoryComputeLedger({ now: options.now });
  return new RedisComputeLedger({ connection: options.redis, keyPrefix: options.keyPrefix });
}

export { MemoryComputeLedger, CREATES_WINDOW_MS, type MemoryComputeLedgerOptions } from './ledger-memory';
export {
  RedisComputeLedger,
  ledgerKeys,
  decodeKeyPart,
  DEFAULT_LEDGER_KEY_PREFIX,
  REPAIRS_PER_CALL,
  type LedgerKeys,
  type RedisComputeLedgerOptions,
  type LedgerCommandKind,
} from './ledger-redis';
