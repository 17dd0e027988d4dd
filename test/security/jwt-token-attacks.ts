/**
 * The forged, expired and misdirected tokens of the JWT attack family, shared by the suite over
 * static keys (jwt.test.ts) and its replay over keys found by OIDC discovery (jwt-discovery.test.ts).
 * Every row reads the issuer from the harness's policy, so the same rows hold for either.
 */
import { generateKeyPairSync } from 'node:crypto';
import { HS_KID, RS2_KID, RS_KID, claimsFor, forgeToken, hmacKey } from '../helpers/gateway-harness';
import {
  ATTACK_CALLER,
  INVALID_TOKEN_CHALLENGE,
  sanitized,
  stopped,
  type Attack,
  type AttackRequest,
  type Expectation,
  type RouteCase,
  type SecurityHarness,
} from './attack-suite';
import type { RequestHeaders } from '../helpers/gateway-harness';

const attacker = generateKeyPairSync('rsa', { modulusLength: 2048 });
const attackerJwk = { ...attacker.publicKey.export({ format: 'jwk' }), kid: 'attacker', alg: 'RS256', use: 'sig' };
const HOUR_SEC = 3600;
const nowSec = () => Math.floor(Date.now() / 1000);
/** Claims that pass every check on this harness's policy (its issuer), but for the overrides. */
export const claims = (s: SecurityHarness, overrides: Record<string, unknown> = {}) =>
  claimsFor(ATTACK_CALLER, { iss: s.h.policy.auth.issuer, ...overrides });
/** Signed with the RS256 key `rs`: only the part under attack is wrong. */
const signedByRs = (s: SecurityHarness, payload: Record<string, unknown>, header: Record<string, unknown> = {}) =>
  forgeToken({ alg: 'RS256', typ: 'JWT', kid: RS_KID, ...header }, payload, s.h.keys.rsa.privateKey);
export { signedByRs };

/** Every part of a credential long enough to be recognisable: none may be echoed or logged. */
export function secretsOf(values: readonly string[]): string[] {
  return values.flatMap((value) => [value, ...value.split(/[ .,]+/)]).filter((part) => part.length > 20);
}

/** The route's request with these Authorization header value(s) (none when undefined). */
export function withAuthorization(
  s: SecurityHarness,
  route: RouteCase,
  authorization: string | string[] | undefined,
  extra: RequestHeaders = {},
): AttackRequest {
  const request = s.clean(route, {
    token: null,
    headers: { ...(authorization !== undefined ? { authorization } : {}), ...extra },
  });
  return { ...request, secrets: secretsOf([authorization ?? []].flat()) };
}

/** A refused credential: 401 on a protected route; ignored (and never forwarded) on a public one. */
export const refused =
  (reason: string, challenge = INVALID_TOKEN_CHALLENGE) =>
  (route: RouteCase): Expectation =>
    route.requiresAuth
      ? stopped(401, 'UNAUTHORIZED', { reason, headers: { 'www-authenticate': challenge } })
      : sanitized();

/** [name, token, expected log reason]: the token goes in `Authorization: Bearer <token>`. */
type TokenRow = [string, (s: SecurityHarness) => string, string];

export const TOKEN_ROWS: TokenRow[] = [
  // alg none, in any case, with and without a key id or a signature.
  ['alg none', (s) => forgeToken({ alg: 'none', typ: 'JWT' }, claims(s), 'none'), 'auth-algorithm-not-allowed'],
  ['alg None', (s) => forgeToken({ alg: 'None', typ: 'JWT' }, claims(s), 'none'), 'auth-algorithm-not-allowed'],
  ['alg NONE', (s) => forgeToken({ alg: 'NONE', typ: 'JWT' }, claims(s), 'none'), 'auth-algorithm-not-allowed'],
  [
    'alg nOnE with kid rs',
    (s) => forgeToken({ alg: 'nOnE', kid: RS_KID }, claims(s), 'none'),
    'auth-algorithm-not-allowed',
  ],
  [
    'alg none with a signature appended',
    (s) => `${forgeToken({ alg: 'none', kid: RS_KID }, claims(s), 'none')}c2lnbmF0dXJlLW9mLW5vdGhpbmc`,
    'auth-algorithm-not-allowed',
  ],
  ['alg missing', (s) => forgeToken({ typ: 'JWT', kid: RS_KID }, claims(s), 'none'), 'auth-algorithm-not-allowed'],
  [
    'alg as a list',
    (s) => forgeToken({ alg: ['RS256'], kid: RS_KID }, claims(s), 'none'),
    'auth-algorithm-not-allowed',
  ],
  [
    'alg RS512 (outside the allow-list)',
    (s) => signedByRs(s, claims(s), { alg: 'RS512' }),
    'auth-algorithm-not-allowed',
  ],
  [
    'alg PS256 (outside the allow-list)',
    (s) => signedByRs(s, claims(s), { alg: 'PS256' }),
    'auth-algorithm-not-allowed',
  ],
  ['alg ES256 on the RSA key', (s) => signedByRs(s, claims(s), { alg: 'ES256' }), 'auth-algorithm-not-allowed'],
  // HS/RS confusion: HMAC keyed with the RSA public key the gateway verifies with.
  [
    'HS256 keyed with the RSA public key PEM, kid rs',
    (s) => forgeToken({ alg: 'HS256', kid: RS_KID }, claims(s), s.h.keys.rsa.publicKeyPem),
    'auth-algorithm-not-allowed',
  ],
  [
    'HS256 keyed with the RSA public key PEM, kid hs',
    (s) => forgeToken({ alg: 'HS256', kid: HS_KID }, claims(s), s.h.keys.rsa.publicKeyPem),
    'auth-bad-signature',
  ],
  [
    'HS256 keyed with the RSA public key PEM, no kid',
    (s) => forgeToken({ alg: 'HS256' }, claims(s), s.h.keys.rsa.publicKeyPem),
    'auth-missing-kid',
  ],
  [
    'HS256 keyed with the RSA public key DER, kid rs',
    (s) =>
      forgeToken(
        { alg: 'HS256', kid: RS_KID },
        claims(s),
        s.h.keys.rsa.publicKey.export({ format: 'der', type: 'spki' }),
      ),
    'auth-algorithm-not-allowed',
  ],
  ['RS256 signature under kid hs', (s) => signedByRs(s, claims(s), { kid: HS_KID }), 'auth-algorithm-not-allowed'],
  // Wrong keys and tampering.
  [
    'RS256 signed by an attacker key, kid rs',
    (s) => forgeToken({ alg: 'RS256', kid: RS_KID }, claims(s), attacker.privateKey),
    'auth-bad-signature',
  ],
  [
    'HS256 with a wrong secret, kid hs',
    (s) => s.h.mint(ATTACK_CALLER, { alg: 'HS256', signingKey: hmacKey('w'.repeat(64)) }),
    'auth-bad-signature',
  ],
  [
    'HS256 with an empty secret, kid hs',
    (s) => forgeToken({ alg: 'HS256', kid: HS_KID }, claims(s), Buffer.alloc(0)),
    'auth-bad-signature',
  ],
  ['signature stripped', (s) => `${s.h.mint(ATTACK_CALLER).split('.').slice(0, 2).join('.')}.`, 'auth-bad-signature'],
  [
    'payload swapped after signing (reader → operator)',
    (s) => swapPayload(s.h.mint('reader'), claims(s)),
    'auth-bad-signature',
  ],
  // kid tricks.
  ['kid pointing at the other RSA key', (s) => signedByRs(s, claims(s), { kid: RS2_KID }), 'auth-bad-signature'],
  ['kid unknown', (s) => signedByRs(s, claims(s), { kid: 'nope' }), 'auth-unknown-kid'],
  [
    'kid ../../../../dev/null, HS256 with an empty secret',
    (s) => forgeToken({ alg: 'HS256', kid: '../../../../dev/null' }, claims(s), Buffer.alloc(0)),
    'auth-unknown-kid',
  ],
  ['kid /etc/passwd', (s) => signedByRs(s, claims(s), { kid: '/etc/passwd' }), 'auth-unknown-kid'],
  ['kid rs/../rs', (s) => signedByRs(s, claims(s), { kid: 'rs/../rs' }), 'auth-unknown-kid'],
  ['kid "rs " (trailing space)', (s) => signedByRs(s, claims(s), { kid: 'rs ' }), 'auth-unknown-kid'],
  ['kid RS (other case)', (s) => signedByRs(s, claims(s), { kid: 'RS' }), 'auth-unknown-kid'],
  ['kid with a NUL byte', (s) => signedByRs(s, claims(s), { kid: 'rs\u0000' }), 'auth-unknown-kid'],
  [
    "kid ' OR '1'='1 (SQL-ish), HS256 keyed with 1",
    (s) => forgeToken({ alg: 'HS256', kid: "' OR '1'='1" }, claims(s), '1'),
    'auth-unknown-kid',
  ],
  [
    "kid x' UNION SELECT 'key' --, HS256 keyed with key",
    (s) => forgeToken({ alg: 'HS256', kid: "x' UNION SELECT 'key' --" }, claims(s), 'key'),
    'auth-unknown-kid',
  ],
  ['kid $(id) (shell-ish)', (s) => signedByRs(s, claims(s), { kid: '$(id)' }), 'auth-unknown-kid'],
  ['kid __proto__', (s) => signedByRs(s, claims(s), { kid: '__proto__' }), 'auth-unknown-kid'],
  ['kid constructor', (s) => signedByRs(s, claims(s), { kid: 'constructor' }), 'auth-unknown-kid'],
  ['kid as a number', (s) => signedByRs(s, claims(s), { kid: 1 }), 'auth-malformed*'],
  ['kid as an object', (s) => signedByRs(s, claims(s), { kid: { $ne: null } }), 'auth-malformed*'],
  ['kid empty', (s) => signedByRs(s, claims(s), { kid: '' }), 'auth-malformed*'],
  ['no kid while several keys are configured', (s) => signedByRs(s, claims(s), { kid: undefined }), 'auth-missing-kid'],
  // Keys offered by the token itself are never fetched or used.
  [
    'jku to an attacker JWKS, kid attacker',
    (s) =>
      forgeToken(
        { alg: 'RS256', kid: 'attacker', jku: 'https://evil.example/jwks.json' },
        claims(s),
        attacker.privateKey,
      ),
    'auth-unknown-kid',
  ],
  [
    'jku to an attacker JWKS, kid rs',
    (s) =>
      forgeToken({ alg: 'RS256', kid: RS_KID, jku: 'https://evil.example/jwks.json' }, claims(s), attacker.privateKey),
    'auth-bad-signature',
  ],
  [
    'x5u to an attacker certificate, kid rs',
    (s) =>
      forgeToken({ alg: 'RS256', kid: RS_KID, x5u: 'https://evil.example/cert.pem' }, claims(s), attacker.privateKey),
    'auth-bad-signature',
  ],
  [
    'embedded attacker jwk, kid rs',
    (s) => forgeToken({ alg: 'RS256', kid: RS_KID, jwk: attackerJwk }, claims(s), attacker.privateKey),
    'auth-bad-signature',
  ],
  [
    'embedded attacker jwk, no kid',
    (s) => forgeToken({ alg: 'RS256', jwk: attackerJwk }, claims(s), attacker.privateKey),
    'auth-missing-kid',
  ],
  [
    'embedded x5c chain, kid rs',
    (s) =>
      forgeToken(
        { alg: 'RS256', kid: RS_KID, x5c: ['MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA'] },
        claims(s),
        attacker.privateKey,
      ),
    'auth-bad-signature',
  ],
  ['crit header', (s) => signedByRs(s, claims(s), { crit: ['b64'], b64: false }), 'auth-malformed*'],
  // Time.
  [
    'expired an hour ago',
    (s) => signedByRs(s, claims(s, { iat: nowSec() - 2 * HOUR_SEC, exp: nowSec() - HOUR_SEC })),
    'auth-expired',
  ],
  [
    'expired just past the clock tolerance',
    (s) => signedByRs(s, claims(s, { iat: nowSec() - 600, exp: nowSec() - 30 })),
    'auth-expired',
  ],
  [
    'not yet valid (nbf in an hour)',
    (s) => signedByRs(s, claims(s, { nbf: nowSec() + HOUR_SEC })),
    'auth-not-yet-valid*',
  ],
  [
    'issued in the future (iat in an hour)',
    (s) => signedByRs(s, claims(s, { iat: nowSec() + HOUR_SEC, exp: nowSec() + HOUR_SEC + 300 })),
    'auth-not-yet-valid*',
  ],
  [
    'lifetime over the maximum',
    (s) => signedByRs(s, claims(s, { exp: nowSec() + 2 * 86_400 })),
    'auth-lifetime-too-long',
  ],
  ['exp as a string', (s) => signedByRs(s, claims(s, { exp: String(nowSec() + 300) })), 'auth-malformed*'],
  // Issuer, audience and the other claims.
  ['wrong issuer', (s) => signedByRs(s, claims(s, { iss: 'https://evil.example' })), 'auth-wrong-issuer'],
  [
    'issuer with a trailing slash',
    (s) => signedByRs(s, claims(s, { iss: `${s.h.policy.auth.issuer}/` })),
    'auth-wrong-issuer',
  ],
  ['wrong audience', (s) => signedByRs(s, claims(s, { aud: 'another-service' })), 'auth-wrong-audience'],
  [
    'audience list without the gateway',
    (s) => signedByRs(s, claims(s, { aud: ['another-service', 'yet-another'] })),
    'auth-wrong-audience',
  ],
  ['missing exp', (s) => signedByRs(s, claims(s, { exp: undefined })), 'auth-missing-claim: exp'],
  ['missing sub', (s) => signedByRs(s, claims(s, { sub: undefined })), 'auth-missing-claim: sub'],
  ['empty sub', (s) => signedByRs(s, claims(s, { sub: '' })), 'auth-missing-claim: sub'],
  ['missing iss', (s) => signedByRs(s, claims(s, { iss: undefined })), 'auth-missing-claim*'],
  ['missing aud', (s) => signedByRs(s, claims(s, { aud: undefined })), 'auth-missing-claim*'],
  // Shape and size.
  [
    'longer than maxTokenBytes (validly signed)',
    (s) => signedByRs(s, claims(s, { pad: 'p'.repeat(9000) })),
    'auth-oversize',
  ],
  ['not a JWT', () => 'this-is-not-a-jwt-at-all-but-long-enough', 'auth-malformed*'],
  ['five parts (JWE-shaped)', (s) => `${s.h.mint(ATTACK_CALLER)}.AAAA.BBBB`, 'auth-malformed*'],
  ['header not JSON', (s) => `bm90IGpzb24.${s.h.mint(ATTACK_CALLER).split('.').slice(1).join('.')}`, 'auth-malformed*'],
];

function swapPayload(token: string, payload: Record<string, unknown>): string {
  const [header, , signature] = token.split('.');
  return `${header}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${signature}`;
}

export const TOKEN_ATTACKS: Attack[] = TOKEN_ROWS.map(([name, token, reason]) => ({
  name,
  build: (s, route) => withAuthorization(s, route, `Bearer ${token(s)}`),
  expect: refused(reason),
}));
