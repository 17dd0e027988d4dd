import { generateKeyPairSync } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { PolicyIo } from '../../../src/gateway/policy';

export const FIXTURES = path.join(__dirname, '..', '..', 'fixtures', 'config');

const privateKeyPem = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
  .privateKey.export({ format: 'pem', type: 'pkcs8' })
  .toString();

/** Every environment value a fixture may reference. Each is distinctive so a leak is easy to spot. */
export const FIXTURE_ENV: Readonly<Record<string, string>> = {
  STRETTCH_KEY_PROD: 'sk-SENTINEL-prod-0001',
  STRETTCH_KEY_OTHER: 'sk-SENTINEL-other-0002',
  STRETTCH_KEY_EMPTY: '',
  STRETTCH_KEY_WITH_NEWLINE: 'sk-SENTINEL\ninjected: 1',
  JWT_HS_SECRET: 'hs-SENTINEL-0123456789abcdef0123456789abcdef',
  JWT_SHORT_SECRET: 'hs-SENTINEL-short',
  // docker-compose.yml's demo secret before issue #11: public, so refused by its digest.
  JWT_SHIPPED_SECRET: 'compose-demo-secret-not-for-production-use-0123456789',
  JWT_PLACEHOLDER_SECRET: 'hs-SENTINEL-ChangeMe-0123456789abcdef0123456789abcdef',
  JWT_REPEATED_SECRET: 'S'.repeat(48),
  // 48 characters, 32 bytes and more, but only 4 distinct characters: about 96 bits estimated.
  JWT_LOW_ENTROPY_SECRET: 'abcd'.repeat(12),
  JWT_PRIVATE_PEM: privateKeyPem,
};

/** Environment from FIXTURE_ENV; files from the real fixture tree (the only disk reads in unit tests). */
export const fixtureIo: PolicyIo = {
  readEnv: (name) => FIXTURE_ENV[name],
  readFile: (file) => fs.readFileSync(file, 'utf8'),
};

/** Environment and files both in memory. */
export function memoryIo(
  env: Record<string, string>,
  files: Record<string, string> = {},
): PolicyIo & { reads: string[] } {
  const reads: string[] = [];
  return {
    reads,
    readEnv: (name) => (Object.hasOwn(env, name) ? env[name] : undefined),
    readFile: (file) => {
      reads.push(file);
      if (!Object.hasOwn(files, file)) throw Object.assign(new Error(`ENOENT: ${file}`), { code: 'ENOENT' });
      return files[file]!;
    },
  };
}
