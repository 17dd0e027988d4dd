import { createSecretKey, generateKeyPairSync } from 'node:crypto';
import { keyMismatch, type JwtAlgorithm } from '../../../src/gateway/auth';

const rsa2048 = generateKeyPairSync('rsa', { modulusLength: 2048 });
const rsa1024 = generateKeyPairSync('rsa', { modulusLength: 1024 });
const p256 = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
const ed25519 = generateKeyPairSync('ed25519');
const secret32 = createSecretKey(Buffer.alloc(32, 1));
const secret31 = createSecretKey(Buffer.alloc(31, 1));
const rsaPemAsSecret = createSecretKey(Buffer.from(rsa2048.publicKey.export({ format: 'pem', type: 'spki' })));

describe('keyMismatch', () => {
  it.each<[string, Parameters<typeof keyMismatch>[0], JwtAlgorithm, string | undefined]>([
    ['RS256 + RSA 2048', rsa2048.publicKey, 'RS256', undefined],
    ['RS256 + RSA 1024', rsa1024.publicKey, 'RS256', 'at least 2048'],
    ['RS256 + EC', p256.publicKey, 'RS256', 'needs an RSA public key'],
    ['RS256 + RSA private key', rsa2048.privateKey, 'RS256', 'needs an RSA public key'],
    ['ES256 + P-256', p256.publicKey, 'ES256', undefined],
    ['ES256 + P-384', p384.publicKey, 'ES256', 'curve P-256'],
    ['ES256 + Ed25519', ed25519.publicKey, 'ES256', 'needs an EC P-256 public key'],
    ['ES256 + secret', secret32, 'ES256', 'not a shared secret'],
    ['HS256 + 32-byte secret', secret32, 'HS256', undefined],
    ['HS256 + 31-byte secret', secret31, 'HS256', 'at least 32'],
    ['HS256 + RSA public key', rsa2048.publicKey, 'HS256', 'needs a shared secret'],
    // The classic confusion is only a "secret" by accident; it is long enough, so config-level
    // family checks (HS256 takes `secret`, never a public key file) are what stop it.
    ['HS256 + RSA public key PEM bytes as a secret', rsaPemAsSecret, 'HS256', undefined],
  ])('%s', (_name, key, alg, expected) => {
    const mismatch = keyMismatch(key, alg);
    if (expected === undefined) expect(mismatch).toBeUndefined();
    else expect(mismatch).toContain(expected);
  });
});
