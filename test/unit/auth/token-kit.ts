import { createHmac, createSecretKey, generateKeyPairSync, sign as cryptoSign, type KeyObject } from 'node:crypto';
import type { VerificationKey } from '../../../src/gateway/auth';

/** Realistic epoch times: jsonwebtoken treats a clockTimestamp of 0 as "use the real clock". */
export const NOW_MS = 1_750_000_000_000;
export const NOW_SEC = NOW_MS / 1000;
export const ISSUER = 'https://auth.internal';
export const AUDIENCE = 'strettch-gateway';

export const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
export const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
export const attackerRsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
export const attackerEc = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
export const hmacSecret = createSecretKey(Buffer.from('0123456789abcdef0123456789abcdef-test-secret'));
export const rsaPublicPem = rsa.publicKey.export({ format: 'pem', type: 'spki' }).toString();

export const KEYS: readonly VerificationKey[] = [
  { kid: 'k-rs', algorithms: ['RS256'], key: rsa.publicKey },
  { kid: 'k-es', algorithms: ['ES256'], key: ec.publicKey },
  { kid: 'k-hs', algorithms: ['HS256'], key: hmacSecret },
];

export const b64 = (value: unknown): string =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/**
 * Builds a compact JWS by hand, so tests can put anything in the header (alg none, jku, embedded
 * keys) — things a well-behaved signing library refuses to produce.
 */
export function forge(
  header: Record<string, unknown>,
  payload: unknown,
  signWith?: KeyObject | Buffer | 'none',
): string {
  const input = `${b64(header)}.${b64(payload)}`;
  if (signWith === undefined || signWith === 'none') return `${input}.`;
  const alg = String(header.alg);
  let signature: Buffer;
  if (alg.startsWith('HS')) {
    const secret = Buffer.isBuffer(signWith) ? signWith : signWith.export();
    signature = createHmac('sha256', secret).update(input).digest();
  } else if (alg.startsWith('ES')) {
    signature = cryptoSign('sha256', Buffer.from(input), { key: signWith as KeyObject, dsaEncoding: 'ieee-p1363' });
  } else {
    signature = cryptoSign('sha256', Buffer.from(input), signWith as KeyObject);
  }
  return `${input}.${signature.toString('base64url')}`;
}

/** Claims that pass every check at NOW. */
export function claims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const base: Record<string, unknown> = {
    sub: 'billing',
    iss: ISSUER,
    aud: AUDIENCE,
    iat: NOW_SEC,
    exp: NOW_SEC + 600,
  };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) delete base[key];
    else base[key] = value;
  }
  return base;
}

export const rs = (payload: unknown = claims(), header: Record<string, unknown> = {}) =>
  forge({ alg: 'RS256', typ: 'JWT', kid: 'k-rs', ...header }, payload, rsa.privateKey);
export const es = (payload: unknown = claims(), header: Record<string, unknown> = {}) =>
  forge({ alg: 'ES256', typ: 'JWT', kid: 'k-es', ...header }, payload, ec.privateKey);
export const hs = (payload: unknown = claims(), header: Record<string, unknown> = {}) =>
  forge({ alg: 'HS256', typ: 'JWT', kid: 'k-hs', ...header }, payload, hmacSecret);
