export {
  createRedisConnection,
  type RedisConnection,
  type RedisConnectionOptions,
  type ConnectionStatus,
  type CommandCounts,
} from './connection';
export { isLoudStoreFailure, StoreUnavailableError, type StoreFailureKind } from './errors';
export { defineLuaScript, type LuaScript } from './lua-script';
export { RedisTlsFileError } from './tls';
export {
  describeRedisTopology,
  parseRedisAddresses,
  redactRedisUrl,
  type RedisAddress,
  type RedisTlsFiles,
  type RedisTopology,
} from './topology';
