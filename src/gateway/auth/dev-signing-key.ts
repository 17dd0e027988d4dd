import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import * as nodeFs from 'node:fs';
import * as path from 'node:path';

export interface DevSigningKey {
  kid: 'dev';
  privateKeyPem: string;
  publicKeyPem: string;
  privateKeyPath: string;
  publicKeyPath: string;
}

/** The file-system calls used here, injectable so a test can simulate a concurrent creator. */
export type DevKeyFs = Pick<typeof nodeFs, 'mkdirSync' | 'readFileSync' | 'writeFileSync' | 'linkSync' | 'unlinkSync'>;

export const DEV_KID = 'dev';
export const DEV_PRIVATE_KEY_FILE = 'dev-signing-key.pem';
export const DEV_PUBLIC_KEY_FILE = 'dev-signing-key.pub.pem';

/**
 * Creates, once, the ES256 key pair that the embedded default configuration trusts, so that
 * `npm start` and `npm run token` — separate processes — agree on it. The private key is the only
 * source of truth: it is published atomically (write a private temp file, then hard-link it into
 * place, which fails if another process won the race), and the public key is always derived from it.
 */
export function ensureDevSigningKey(dir: string, fs: DevKeyFs = nodeFs): DevSigningKey {
  const privateKeyPath = path.join(dir, DEV_PRIVATE_KEY_FILE);
  const publicKeyPath = path.join(dir, DEV_PUBLIC_KEY_FILE);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });

  let privateKeyPem = readIfExists(fs, privateKeyPath);
  if (privateKeyPem === undefined) {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const temporaryPath = `${privateKeyPath}.${randomBytes(8).toString('hex')}.tmp`;
    fs.writeFileSync(temporaryPath, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600, flag: 'wx' });
    try {
      fs.linkSync(temporaryPath, privateKeyPath);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      // Another process created it first; theirs wins and both use it.
    } finally {
      fs.unlinkSync(temporaryPath);
    }
    privateKeyPem = fs.readFileSync(privateKeyPath, 'utf8');
  }

  let publicKeyPem: string;
  try {
    const privateKey = createPrivateKey(privateKeyPem);
    if (privateKey.asymmetricKeyType !== 'ec' || privateKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
      throw new Error('not an EC P-256 key');
    }
    publicKeyPem = createPublicKey(privateKey).export({ format: 'pem', type: 'spki' }).toString();
  } catch (error) {
    // Never overwrite: a broken file is for a human to look at, and the message must not echo it.
    throw new Error(
      `dev signing key ${privateKeyPath} is unusable (${error instanceof Error ? error.message : 'unknown error'}); delete it to have a new one created`,
      { cause: error },
    );
  }
  if (readIfExists(fs, publicKeyPath) !== publicKeyPem) fs.writeFileSync(publicKeyPath, publicKeyPem, { mode: 0o644 });
  return { kid: DEV_KID, privateKeyPem, publicKeyPem, privateKeyPath, publicKeyPath };
}

function readIfExists(fs: DevKeyFs, file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
