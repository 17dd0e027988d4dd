/**
 * JWT attacks against every route. On a protected route each is 401 with WWW-Authenticate (403 for
 * a well-signed token of a caller that is not configured), the upstream never called, and the token
 * neither echoed nor logged. On the public route (`health`) the same credentials are ignored and
 * never forwarded: the upstream sees no Authorization at all.
 */
import { generateKeyPairSync } from 'node:crypto';
import { HS_KID, OWNER_KEY, RS2_KID, RS_KID, claimsFor, forgeToken, hmacKey } from '../helpers/gateway-harness';
import type { RequestHeaders } from '../helpers/gateway-harness';
import {
  ATTACK_CALLER,
  INVALID_TOKEN_CHALLENGE,
  NO_TOKEN_CHALLENGE,
  ROUTES,
  badRequest,
  describeAttacks,
  expectEveryOperationCovered,
  rawRequest,
  sanitized,
  stopped,
  useSecurityHarness,
  withQuery,
  type Attack,
  type AttackRequest,
  type Expectation,
  type RouteCase,
  type SecurityHarness,
} from './attack-suite';

const harness = useSecurityHarness();

const attacker = generateKeyPairSync('rsa', { modulusLength: 2048 });
const attackerJwk = { ...attacker.publicKey.export({ format: 'jwk' }), kid: 'attacker', alg: 'RS256', use: 'sig' };
const HOUR_SEC = 3600;
const nowSec = () => Math.floor(Date.now() / 1000);
const claims = (overrides: Record<string, unknown> = {}) => claimsFor(ATTACK_CALLER, overrides);
/** Signed with the configured RS256 key `rs`: only the part under attack is wrong. */
const signedByRs = (s: SecurityHarness, payload: Record<string, unknown>, header: Record<string, unknown> = {}) =>
  forgeToken({ alg: 'RS256', typ: 'JWT', kid: RS_KID, ...header }, payload, s.h.keys.rsa.privateKey);

/** Every part of a credential long enough to be recognisable: none may be echoed or logged. */
function secretsOf(values: readonly string[]): string[] {
  return values.flatMap((value) => [value, ...value.split(/[ .,]+/)]).filter((part) => part.length > 20);
}

/** The route's request with these Authorization header value(s) (none when undefined). */
function withAuthorization(
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
const refused =
  (reason: string, challenge = INVALID_TOKEN_CHALLENGE) =>
  (route: RouteCase): Expectation =>
    route.requiresAuth
      ? stopped(401, 'UNAUTHORIZED', { reason, headers: { 'www-authenticate': challenge } })
      : sanitized();

/** [name, token, expected log reason]: the token goes in `Authorization: Bearer <token>`. */
type TokenRow = [string, (s: SecurityHarness) => string, string];

const TOKEN_ROWS: TokenRow[] = [
  // alg none, in any case, with and without a key id or a signature.
  ['alg none', () => forgeToken({ alg: 'none', typ: 'JWT' }, claims(), 'none'), 'auth-algorithm-not-allowed'],
  ['alg None', () => forgeToken({ alg: 'None', typ: 'JWT' }, claims(), 'none'), 'auth-algorithm-not-allowed'],
  ['alg NONE', () => forgeToken({ alg: 'NONE', typ: 'JWT' }, claims(), 'none'), 'auth-algorithm-not-allowed'],
  [
    'alg nOnE with kid rs',
    () => forgeToken({ alg: 'nOnE', kid: RS_KID }, claims(), 'none'),
    'auth-algorithm-not-allowed',
  ],
  [
    'alg none with a signature appended',
    () => `${forgeToken({ alg: 'none', kid: RS_KID }, claims(), 'none')}c2lnbmF0dXJlLW9mLW5vdGhpbmc`,
    'auth-algorithm-not-allowed',
  ],
  ['alg missing', () => forgeToken({ typ: 'JWT', kid: RS_KID }, claims(), 'none'), 'auth-algorithm-not-allowed'],
  ['alg as a list', () => forgeToken({ alg: ['RS256'], kid: RS_KID }, claims(), 'none'), 'auth-algorithm-not-allowed'],
  [
    'alg RS512 (outside the allow-list)',
    (s) => signedByRs(s, claims(), { alg: 'RS512' }),
    'auth-algorithm-not-allowed',
  ],
  [
    'alg PS256 (outside the allow-list)',
    (s) => signedByRs(s, claims(), { alg: 'PS256' }),
    'auth-algorithm-not-allowed',
  ],
  ['alg ES256 on the RSA key', (s) => signedByRs(s, claims(), { alg: 'ES256' }), 'auth-algorithm-not-allowed'],
  // HS/RS confusion: HMAC keyed with the RSA public key the gateway verifies with.
  [
    'HS256 keyed with the RSA public key PEM, kid rs',
    (s) => forgeToken({ alg: 'HS256', kid: RS_KID }, claims(), s.h.keys.rsa.publicKeyPem),
    'auth-algorithm-not-allowed',
  ],
  [
    'HS256 keyed with the RSA public key PEM, kid hs',
    (s) => forgeToken({ alg: 'HS256', kid: HS_KID }, claims(), s.h.keys.rsa.publicKeyPem),
    'auth-bad-signature',
  ],
  [
    'HS256 keyed with the RSA public key PEM, no kid',
    (s) => forgeToken({ alg: 'HS256' }, claims(), s.h.keys.rsa.publicKeyPem),
    'auth-missing-kid',
  ],
  [
    'HS256 keyed with the RSA public key DER, kid rs',
    (s) =>
      forgeToken(
        { alg: 'HS256', kid: RS_KID },
        claims(),
        s.h.keys.rsa.publicKey.export({ format: 'der', type: 'spki' }),
      ),
    'auth-algorithm-not-allowed',
  ],
  ['RS256 signature under kid hs', (s) => signedByRs(s, claims(), { kid: HS_KID }), 'auth-algorithm-not-allowed'],
  // Wrong keys and tampering.
  [
    'RS256 signed by an attacker key, kid rs',
    () => forgeToken({ alg: 'RS256', kid: RS_KID }, claims(), attacker.privateKey),
    'auth-bad-signature',
  ],
  [
    'HS256 with a wrong secret, kid hs',
    (s) => s.h.mint(ATTACK_CALLER, { alg: 'HS256', signingKey: hmacKey('w'.repeat(64)) }),
    'auth-bad-signature',
  ],
  [
    'HS256 with an empty secret, kid hs',
    () => forgeToken({ alg: 'HS256', kid: HS_KID }, claims(), Buffer.alloc(0)),
    'auth-bad-signature',
  ],
  ['signature stripped', (s) => `${s.h.mint(ATTACK_CALLER).split('.').slice(0, 2).join('.')}.`, 'auth-bad-signature'],
  [
    'payload swapped after signing (reader → operator)',
    (s) => swapPayload(s.h.mint('reader'), claims()),
    'auth-bad-signature',
  ],
  // kid tricks.
  ['kid pointing at the other RSA key', (s) => signedByRs(s, claims(), { kid: RS2_KID }), 'auth-bad-signature'],
  ['kid unknown', (s) => signedByRs(s, claims(), { kid: 'nope' }), 'auth-unknown-kid'],
  [
    'kid ../../../../dev/null, HS256 with an empty secret',
    () => forgeToken({ alg: 'HS256', kid: '../../../../dev/null' }, claims(), Buffer.alloc(0)),
    'auth-unknown-kid',
  ],
  ['kid /etc/passwd', (s) => signedByRs(s, claims(), { kid: '/etc/passwd' }), 'auth-unknown-kid'],
  ['kid rs/../rs', (s) => signedByRs(s, claims(), { kid: 'rs/../rs' }), 'auth-unknown-kid'],
  ['kid "rs " (trailing space)', (s) => signedByRs(s, claims(), { kid: 'rs ' }), 'auth-unknown-kid'],
  ['kid RS (other case)', (s) => signedByRs(s, claims(), { kid: 'RS' }), 'auth-unknown-kid'],
  ['kid with a NUL byte', (s) => signedByRs(s, claims(), { kid: 'rs\u0000' }), 'auth-unknown-kid'],
  [
    "kid ' OR '1'='1 (SQL-ish), HS256 keyed with 1",
    () => forgeToken({ alg: 'HS256', kid: "' OR '1'='1" }, claims(), '1'),
    'auth-unknown-kid',
  ],
  [
    "kid x' UNION SELECT 'key' --, HS256 keyed with key",
    () => forgeToken({ alg: 'HS256', kid: "x' UNION SELECT 'key' --" }, claims(), 'key'),
    'auth-unknown-kid',
  ],
  ['kid $(id) (shell-ish)', (s) => signedByRs(s, claims(), { kid: '$(id)' }), 'auth-unknown-kid'],
  ['kid __proto__', (s) => signedByRs(s, claims(), { kid: '__proto__' }), 'auth-unknown-kid'],
  ['kid constructor', (s) => signedByRs(s, claims(), { kid: 'constructor' }), 'auth-unknown-kid'],
  ['kid as a number', (s) => signedByRs(s, claims(), { kid: 1 }), 'auth-malformed*'],
  ['kid as an object', (s) => signedByRs(s, claims(), { kid: { $ne: null } }), 'auth-malformed*'],
  ['kid empty', (s) => signedByRs(s, claims(), { kid: '' }), 'auth-malformed*'],
  ['no kid while several keys are configured', (s) => signedByRs(s, claims(), { kid: undefined }), 'auth-missing-kid'],
  // Keys offered by the token itself are never fetched or used.
  [
    'jku to an attacker JWKS, kid attacker',
    () =>
      forgeToken(
        { alg: 'RS256', kid: 'attacker', jku: 'https://evil.example/jwks.json' },
        claims(),
        attacker.privateKey,
      ),
    'auth-unknown-kid',
  ],
  [
    'jku to an attacker JWKS, kid rs',
    () =>
      forgeToken({ alg: 'RS256', kid: RS_KID, jku: 'https://evil.example/jwks.json' }, claims(), attacker.privateKey),
    'auth-bad-signature',
  ],
  [
    'x5u to an attacker certificate, kid rs',
    () =>
      forgeToken({ alg: 'RS256', kid: RS_KID, x5u: 'https://evil.example/cert.pem' }, claims(), attacker.privateKey),
    'auth-bad-signature',
  ],
  [
    'embedded attacker jwk, kid rs',
    () => forgeToken({ alg: 'RS256', kid: RS_KID, jwk: attackerJwk }, claims(), attacker.privateKey),
    'auth-bad-signature',
  ],
  [
    'embedded attacker jwk, no kid',
    () => forgeToken({ alg: 'RS256', jwk: attackerJwk }, claims(), attacker.privateKey),
    'auth-missing-kid',
  ],
  [
    'embedded x5c chain, kid rs',
    () =>
      forgeToken(
        { alg: 'RS256', kid: RS_KID, x5c: ['MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA'] },
        claims(),
        attacker.privateKey,
      ),
    'auth-bad-signature',
  ],
  ['crit header', (s) => signedByRs(s, claims(), { crit: ['b64'], b64: false }), 'auth-malformed*'],
  // Time.
  [
    'expired an hour ago',
    (s) => signedByRs(s, claims({ iat: nowSec() - 2 * HOUR_SEC, exp: nowSec() - HOUR_SEC })),
    'auth-expired',
  ],
  [
    'expired just past the clock tolerance',
    (s) => signedByRs(s, claims({ iat: nowSec() - 600, exp: nowSec() - 30 })),
    'auth-expired',
  ],
  ['not yet valid (nbf in an hour)', (s) => signedByRs(s, claims({ nbf: nowSec() + HOUR_SEC })), 'auth-not-yet-valid*'],
  [
    'issued in the future (iat in an hour)',
    (s) => signedByRs(s, claims({ iat: nowSec() + HOUR_SEC, exp: nowSec() + HOUR_SEC + 300 })),
    'auth-not-yet-valid*',
  ],
  ['lifetime over the maximum', (s) => signedByRs(s, claims({ exp: nowSec() + 2 * 86_400 })), 'auth-lifetime-too-long'],
  ['exp as a string', (s) => signedByRs(s, claims({ exp: String(nowSec() + 300) })), 'auth-malformed*'],
  // Issuer, audience and the other claims.
  ['wrong issuer', (s) => signedByRs(s, claims({ iss: 'https://evil.example' })), 'auth-wrong-issuer'],
  [
    'issuer with a trailing slash',
    (s) => signedByRs(s, claims({ iss: 'https://auth.test.internal/' })),
    'auth-wrong-issuer',
  ],
  ['wrong audience', (s) => signedByRs(s, claims({ aud: 'another-service' })), 'auth-wrong-audience'],
  [
    'audience list without the gateway',
    (s) => signedByRs(s, claims({ aud: ['another-service', 'yet-another'] })),
    'auth-wrong-audience',
  ],
  ['missing exp', (s) => signedByRs(s, claims({ exp: undefined })), 'auth-missing-claim: exp'],
  ['missing sub', (s) => signedByRs(s, claims({ sub: undefined })), 'auth-missing-claim: sub'],
  ['empty sub', (s) => signedByRs(s, claims({ sub: '' })), 'auth-missing-claim: sub'],
  ['missing iss', (s) => signedByRs(s, claims({ iss: undefined })), 'auth-missing-claim*'],
  ['missing aud', (s) => signedByRs(s, claims({ aud: undefined })), 'auth-missing-claim*'],
  // Shape and size.
  [
    'longer than maxTokenBytes (validly signed)',
    (s) => signedByRs(s, claims({ pad: 'p'.repeat(9000) })),
    'auth-oversize',
  ],
  ['not a JWT', () => 'this-is-not-a-jwt-at-all-but-long-enough', 'auth-malformed*'],
  ['five parts (JWE-shaped)', (s) => `${s.h.mint(ATTACK_CALLER)}.AAAA.BBBB`, 'auth-malformed*'],
  ['header not JSON', (s) => `bm90IGpzb24.${s.h.mint(ATTACK_CALLER).split('.').slice(1).join('.')}`, 'auth-malformed*'],
];

/** Whole Authorization header values: several headers, other schemes, spacing and casing tricks. */
type HeaderRow = [string, (s: SecurityHarness) => string | string[], string, string?];

const HEADER_ROWS: HeaderRow[] = [
  ['two Authorization headers, both valid', (s) => [`Bearer ${s.token()}`, `Bearer ${s.token()}`], 'auth-malformed*'],
  [
    'two Authorization headers, valid then forged',
    (s) => [`Bearer ${s.token()}`, `Bearer ${forgeToken({ alg: 'none' }, claims(), 'none')}`],
    'auth-malformed*',
  ],
  [
    'two Authorization headers, forged then valid',
    (s) => [`Bearer ${forgeToken({ alg: 'none' }, claims(), 'none')}`, `Bearer ${s.token()}`],
    'auth-malformed*',
  ],
  ['two credentials in one header', (s) => `Bearer ${s.token()}, Bearer ${s.h.mint('reader')}`, 'auth-malformed*'],
  ['Bearer with two tokens', (s) => `Bearer ${s.token()} ${s.token()}`, 'auth-malformed*'],
  ['Bearer and a tab', (s) => `Bearer\t${s.token()}`, 'auth-malformed*'],
  ['Bearer without a space', (s) => `Bearer${s.token()}`, 'auth-malformed*'],
  ['Bearer with a colon', (s) => `Bearer: ${s.token()}`, 'auth-malformed*'],
  ['Bearer with a quoted token', (s) => `Bearer "${s.token()}"`, 'auth-malformed*'],
  ['Bearer with a trailing comma', (s) => `Bearer ${s.token()},`, 'auth-malformed*'],
  ['Bearer misspelt (Beare)', (s) => `Beare ${s.token()}`, 'auth-malformed*'],
  ['Bearer without a token', () => 'Bearer', 'auth-malformed*'],
  ['a bare JWT without a scheme', (s) => s.token(), 'auth-malformed*'],
  [
    'Basic with the token as the password',
    (s) => `Basic ${Buffer.from(`operator:${s.token()}`).toString('base64')}`,
    'auth-malformed*',
  ],
  ['Token scheme with a valid JWT', (s) => `Token ${s.token()}`, 'auth-malformed*'],
  ['JWT scheme with a valid JWT', (s) => `JWT ${s.token()}`, 'auth-malformed*'],
  ['an empty Authorization header', () => '', 'auth-missing', NO_TOKEN_CHALLENGE],
];

function swapPayload(token: string, payload: Record<string, unknown>): string {
  const [header, , signature] = token.split('.');
  return `${header}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${signature}`;
}

const TOKEN_ATTACKS: Attack[] = TOKEN_ROWS.map(([name, token, reason]) => ({
  name,
  build: (s, route) => withAuthorization(s, route, `Bearer ${token(s)}`),
  expect: refused(reason),
}));

const HEADER_ATTACKS: Attack[] = HEADER_ROWS.map(([name, header, reason, challenge]) => ({
  name,
  build: (s, route) => withAuthorization(s, route, header(s)),
  expect: refused(reason, challenge),
}));

/** The token anywhere but the Authorization header is no credential. */
const ELSEWHERE_ATTACKS: Attack[] = [
  ...['access_token', 'token', 'jwt', 'id_token'].map((name): Attack => ({
    name: `a valid token in the query string (?${name}=)`,
    build: (s, route) => ({
      ...s.clean(route, { token: null, target: withQuery(route, `${name}=${s.token()}`) }),
      secrets: secretsOf([s.token()]),
    }),
    // Refused as an undeclared query parameter, before authentication and on every route.
    expect: badRequest('target-unknown-query-parameter'),
  })),
  ...(
    [
      ['Cookie', (t: string) => ({ cookie: `access_token=${t}; jwt=${t}` })],
      ['X-Access-Token', (t: string) => ({ 'x-access-token': t })],
      ['X-Auth-Token', (t: string) => ({ 'x-auth-token': `Bearer ${t}` })],
      ['X-Api-Key', (t: string) => ({ 'x-api-key': t })],
      ['Proxy-Authorization', (t: string) => ({ 'proxy-authorization': `Bearer ${t}` })],
    ] as const
  ).map(([header, headers]): Attack => ({
    name: `a valid token only in ${header}`,
    build: (s, route) => ({
      ...withAuthorization(s, route, undefined, headers(s.token())),
      secrets: secretsOf([s.token()]),
    }),
    expect: refused('auth-missing', NO_TOKEN_CHALLENGE),
  })),
];

/** Well-signed, but for a subject that is not a configured caller: authenticated, not admitted. */
const UNKNOWN_CALLER: Attack = {
  name: 'a valid signature for a subject that is not a caller',
  build: (s, route) => withAuthorization(s, route, `Bearer ${s.h.mint('intruder')}`),
  expect: (route) =>
    route.requiresAuth
      ? stopped(403, 'FORBIDDEN', { reason: 'unknown-caller', headers: { 'www-authenticate': undefined } })
      : sanitized(),
};

/** Over Node's 16 KiB header limit: refused by the parser, for every route alike. */
const HUGE_TOKEN: Attack = {
  name: 'a 20 KB token (over the header size limit)',
  build: (s, route) => {
    const token = signedByRs(s, claims({ pad: 'p'.repeat(20_000) }));
    return {
      kind: 'raw',
      bytes: rawRequest(`${route.method} ${route.target} HTTP/1.1`, s.rawHeaderLines(route, token)),
      awaitClose: true,
      secrets: secretsOf([token]),
    };
  },
  expect: stopped(431, 'BAD_REQUEST', { closes: true }),
};

/** Accepted spellings (RFC 7235: the scheme is case-insensitive): the token still never goes upstream. */
const ACCEPTED_SPELLINGS: Attack[] = (
  [
    ['bearer (lower case)', (t: string) => `bearer ${t}`],
    ['BEARER (upper case)', (t: string) => `BEARER ${t}`],
    ['Bearer and two spaces (RFC 6750: 1*SP)', (t: string) => `Bearer  ${t}`],
  ] as const
).map(([name, header]) => ({
  name: `accepted: ${name}`,
  build: (s, route) => withAuthorization(s, route, header(s.token())),
  expect: sanitized(),
}));

describe('JWT attacks on every route', () => {
  it('covers every operation of the catalog', () => {
    expectEveryOperationCovered();
    expect(ROUTES.filter((r) => !r.requiresAuth).map((r) => r.id)).toEqual(['health']);
  });

  describeAttacks('forged, expired and misdirected tokens', harness, TOKEN_ATTACKS);
  describeAttacks('Authorization header tricks', harness, HEADER_ATTACKS, { control: false });
  describeAttacks('a token outside the Authorization header', harness, ELSEWHERE_ATTACKS, { control: false });
  describeAttacks(
    'callers, sizes and accepted spellings',
    harness,
    [UNKNOWN_CALLER, HUGE_TOKEN, ...ACCEPTED_SPELLINGS],
    { control: false },
  );

  it('no log line holds the caller token or the account key', () => {
    const { h } = harness();
    expect(h.logLines.length).toBeGreaterThan(ROUTES.length * TOKEN_ROWS.length);
    const signature = harness().token().split('.')[2]!;
    for (const line of h.logLines) {
      expect(line).not.toContain(signature);
      expect(line).not.toContain(OWNER_KEY.key);
    }
  });
});
