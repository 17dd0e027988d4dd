import { createHash } from 'node:crypto';

/** A Lua script and its SHA-1, the name Redis caches it under (EVALSHA). */
export interface LuaScript {
  readonly name: string;
  readonly source: string;
  readonly sha1: string;
}

export function defineLuaScript(name: string, source: string): LuaScript {
  return Object.freeze({ name, source, sha1: createHash('sha1').update(source).digest('hex') });
}
