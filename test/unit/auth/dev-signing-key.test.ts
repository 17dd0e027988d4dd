import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  createTokenVerifier,
  DEV_PRIVATE_KEY_FILE,
  DEV_PUBLIC_KEY_FILE,
  ensureDevSigningKey,
  mintToken,
  type DevKeyFs,
} from '../../../src/gateway/auth';

/** The one auth test that touches the disk, as ensureDevSigningKey itself does: in a private temp dir. */
let dir: string;
beforeEach(() => {
  dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'strettch-devkey-')), 'nested', 'keys');
});
afterEach(() => {
  fs.rmSync(path.dirname(path.dirname(dir)), { recursive: true, force: true });
});

const mode = (file: string) => fs.statSync(file).mode & 0o777;

describe('ensureDevSigningKey', () => {
  it('creates an ES256 key pair once, the private key readable by its owner only', () => {
    const key = ensureDevSigningKey(dir);
    expect(key.kid).toBe('dev');
    expect(key.privateKeyPath).toBe(path.join(dir, DEV_PRIVATE_KEY_FILE));
    expect(key.publicKeyPath).toBe(path.join(dir, DEV_PUBLIC_KEY_FILE));
    expect(mode(key.privateKeyPath)).toBe(0o600);
    expect(fs.readFileSync(key.privateKeyPath, 'utf8')).toBe(key.privateKeyPem);
    expect(fs.readFileSync(key.publicKeyPath, 'utf8')).toBe(key.publicKeyPem);
    const publicKey = createPublicKey(key.publicKeyPem);
    expect(publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(fs.readdirSync(dir).sort()).toEqual([DEV_PRIVATE_KEY_FILE, DEV_PUBLIC_KEY_FILE].sort());
  });

  it('returns the same key on every later call (npm start and npm run token agree)', () => {
    const first = ensureDevSigningKey(dir);
    const second = ensureDevSigningKey(dir);
    expect(second).toEqual(first);
  });

  it('signs tokens the matching public key verifies', async () => {
    const key = ensureDevSigningKey(dir);
    const now = () => 1_750_000_000_000;
    const token = mintToken({
      sub: 'dev-caller',
      lifetimeSec: 300,
      signingKey: key.privateKeyPem,
      alg: 'ES256',
      kid: key.kid,
      issuer: 'dev',
      audience: 'strettch-gateway',
      now,
    });
    const verifier = createTokenVerifier({
      issuer: 'dev',
      audience: 'strettch-gateway',
      keys: [{ kid: key.kid, algorithms: ['ES256'], key: createPublicKey(key.publicKeyPem) }],
      maxTokenLifetimeSec: 3600,
      clockToleranceSec: 30,
      now,
    });
    expect(await verifier.verify(token)).toMatchObject({ ok: true, claims: { sub: 'dev-caller' } });
  });

  it('rewrites a missing or altered public key from the private key', () => {
    const key = ensureDevSigningKey(dir);
    fs.writeFileSync(key.publicKeyPath, 'tampered');
    expect(ensureDevSigningKey(dir).publicKeyPem).toBe(key.publicKeyPem);
    expect(fs.readFileSync(key.publicKeyPath, 'utf8')).toBe(key.publicKeyPem);
    fs.unlinkSync(key.publicKeyPath);
    expect(ensureDevSigningKey(dir).publicKeyPem).toBe(key.publicKeyPem);
  });

  it('refuses, without overwriting or quoting it, a private key file it cannot use', () => {
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, DEV_PRIVATE_KEY_FILE);
    fs.writeFileSync(file, 'SENTINEL-not-a-key');
    expect(() => ensureDevSigningKey(dir)).toThrow(/is unusable .*delete it/);
    try {
      ensureDevSigningKey(dir);
    } catch (error) {
      expect((error as Error).message).not.toContain('SENTINEL');
    }
    expect(fs.readFileSync(file, 'utf8')).toBe('SENTINEL-not-a-key');
    fs.writeFileSync(
      file,
      generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'pem', type: 'pkcs8' }),
    );
    expect(() => ensureDevSigningKey(dir)).toThrow(/not an EC P-256 key/);
  });

  it('uses the key of a process that created it first, and leaves no temp file', () => {
    const winner = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
      .privateKey.export({ format: 'pem', type: 'pkcs8' })
      .toString();
    const racingFs: DevKeyFs = {
      ...fs,
      // Another process publishes its key between our existence check and our link.
      linkSync: (existing, target) => {
        fs.writeFileSync(target, winner, { mode: 0o600 });
        fs.linkSync(existing, target);
      },
    };
    const key = ensureDevSigningKey(dir, racingFs);
    expect(key.privateKeyPem).toBe(winner);
    expect(fs.readdirSync(dir).sort()).toEqual([DEV_PRIVATE_KEY_FILE, DEV_PUBLIC_KEY_FILE].sort());
  });
});
