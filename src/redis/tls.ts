/**
 * TLS options for the Redis sockets from the configured PEM files, read once when the connection is
 * built. A file that cannot be read stops the start with the setting's name, not with an ioredis
 * handshake error minutes later.
 */
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import type { RedisTlsFiles } from './topology';

export class RedisTlsFileError extends Error {
  constructor(
    readonly setting: string,
    message: string,
  ) {
    super(`${setting}: ${message}`);
    this.name = 'RedisTlsFileError';
  }
}

const SETTING_OF: Record<keyof RedisTlsFiles, string> = {
  caFile: 'REDIS_TLS_CA_FILE',
  certFile: 'REDIS_TLS_CERT_FILE',
  keyFile: 'REDIS_TLS_KEY_FILE',
};

export function tlsOptionsFrom(
  files: RedisTlsFiles,
  readFile: (file: string) => Buffer = (file) => readFileSync(file),
): ConnectionOptions {
  const read = (name: keyof RedisTlsFiles): Buffer | undefined => {
    const file = files[name];
    if (file === undefined) return undefined;
    try {
      return readFile(file);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
      throw new RedisTlsFileError(SETTING_OF[name], `cannot read ${file} (${code})`);
    }
  };
  const ca = read('caFile');
  const cert = read('certFile');
  const key = read('keyFile');
  // Node's default trust store stays in force unless a CA is given; the server name is always verified.
  return { ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}) };
}
