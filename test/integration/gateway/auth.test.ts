/**
 * Every JWT failure class → 401 UNAUTHORIZED with WWW-Authenticate, the upstream never called, the
 * reason in the access-log line and never in the body.
 */
import { generateKeyPairSync } from 'node:crypto';
import {
  HS_KID,
  RS2_KID,
  RS_KID,
  claimsFor,
  forgeToken,
  hmacKey,
  startGatewayHarness,
  type GatewayHarness,
  type RequestHeaders,
} from '../../helpers/gateway-harness';

let h: GatewayHarness;
beforeAll(async () => {
  h = await startGatewayHarness({ sandbox: { limits: { readPerSecond: 10_000, writePerSecond: 10_000 } } });
});
afterAll(() => h.close());

const attacker = generateKeyPairSync('rsa', { modulusLength: 2048 });
const attackerJwk = { ...attacker.publicKey.export({ format: 'jwk' }), kid: 'attacker', alg: 'RS256', use: 'sig' };
const HOUR_MS = 3_600_000;
const nowSec = () => Math.floor(Date.now() / 1000);

/** Signed with the configured RS256 key, `rs`. */
const rs = (payload: Record<string, unknown>, header: Record<string, unknown> = {}) =>
  forgeToken({ alg: 'RS256', typ: 'JWT', kid: RS_KID, ...header }, payload, h.keys.rsa.privateKey);
const operator = (overrides: Record<string, unknown> = {}) => claimsFor('operator', overrides);

const GENERIC_MESSAGE = 'A valid bearer token is required.';
const INVALID_TOKEN_CHALLENGE = 'Bearer realm="strettch-gateway", error="invalid_token"';

/** [name, Authorization header value(s) or undefined, expected log reason (prefix)]. */
type Row = [string, () => string | string[] | undefined, string];

const ROWS: Row[] = [
  // Algorithm tricks.
  ['alg none', () => forgeToken({ alg: 'none', typ: 'JWT' }, operator(), 'none'), 'auth-algorithm-not-allowed'],
  ['alg None', () => forgeToken({ alg: 'None', typ: 'JWT' }, operator(), 'none'), 'auth-algorithm-not-allowed'],
  ['alg NONE', () => forgeToken({ alg: 'NONE', typ: 'JWT' }, operator(), 'none'), 'auth-algorithm-not-allowed'],
  [
    'alg nOnE with a kid',
    () => forgeToken({ alg: 'nOnE', kid: RS_KID }, operator(), 'none'),
    'auth-algorithm-not-allowed',
  ],
  [
    'alg none with a signature',
    () => `${forgeToken({ alg: 'none' }, operator(), 'none')}c2lnbmF0dXJl`,
    'auth-algorithm-not-allowed',
  ],
  ['alg missing', () => forgeToken({ typ: 'JWT', kid: RS_KID }, operator(), 'none'), 'auth-algorithm-not-allowed'],
  [
    'alg RS512 (outside the allow-list)',
    () => forgeToken({ alg: 'RS512', kid: RS_KID }, operator(), h.keys.rsa.privateKey),
    'auth-algorithm-not-allowed',
  ],
  [
    'HS256 keyed with the RSA public key PEM, kid rs',
    () => forgeToken({ alg: 'HS256', kid: RS_KID }, operator(), h.keys.rsa.publicKeyPem),
    'auth-algorithm-not-allowed',
  ],
  [
    'HS256 keyed with the RSA public key PEM, kid hs',
    () => forgeToken({ alg: 'HS256', kid: HS_KID }, operator(), h.keys.rsa.publicKeyPem),
    'auth-bad-signature',
  ],
  [
    'HS256 keyed with the RSA public key PEM, no kid',
    () => forgeToken({ alg: 'HS256' }, operator(), h.keys.rsa.publicKeyPem),
    'auth-missing-kid',
  ],
  // Wrong keys.
  [
    'RS256 signed by another key, kid rs',
    () => forgeToken({ alg: 'RS256', kid: RS_KID }, operator(), attacker.privateKey),
    'auth-bad-signature',
  ],
  [
    'HS256 with the wrong secret',
    () => h.mint('operator', { alg: 'HS256', signingKey: hmacKey('x'.repeat(64)) }),
    'auth-bad-signature',
  ],
  [
    'a tampered payload (sub swapped after signing)',
    () => swapPayload(h.mint('reader'), operator()),
    'auth-bad-signature',
  ],
  // Time.
  ['expired', () => h.mint('operator', { now: () => Date.now() - HOUR_MS, lifetimeSec: 600 }), 'auth-expired'],
  ['not yet valid (nbf in an hour)', () => rs(operator({ nbf: nowSec() + 3600 })), 'auth-not-yet-valid'],
  [
    'issued in the future (iat in an hour)',
    () => rs(operator({ iat: nowSec() + 3600, exp: nowSec() + 3900 })),
    'auth-not-yet-valid',
  ],
  ['lifetime over the maximum', () => h.mint('operator', { lifetimeSec: 2 * 86_400 }), 'auth-lifetime-too-long'],
  // Claims.
  ['wrong issuer', () => h.mint('operator', { issuer: 'https://evil.example' }), 'auth-wrong-issuer'],
  ['wrong audience', () => h.mint('operator', { audience: 'another-service' }), 'auth-wrong-audience'],
  ['missing issuer', () => rs(operator({ iss: undefined })), 'auth-missing-claim'],
  ['missing audience', () => rs(operator({ aud: undefined })), 'auth-missing-claim'],
  ['missing sub', () => rs(operator({ sub: undefined })), 'auth-missing-claim: sub'],
  ['empty sub', () => rs(operator({ sub: '' })), 'auth-missing-claim: sub'],
  ['missing exp', () => rs(operator({ exp: undefined })), 'auth-missing-claim: exp'],
  ['exp as a string', () => rs(operator({ exp: String(nowSec() + 300) })), 'auth-malformed'],
  // kid tricks.
  ['unknown kid', () => rs(operator(), { kid: 'nope' }), 'auth-unknown-kid'],
  [
    'kid ../../dev/null (HS256 with an empty secret)',
    () => forgeToken({ alg: 'HS256', kid: '../../dev/null' }, operator(), Buffer.alloc(0)),
    'auth-unknown-kid',
  ],
  ['kid /etc/passwd', () => rs(operator(), { kid: '/etc/passwd' }), 'auth-unknown-kid'],
  ['kid __proto__', () => rs(operator(), { kid: '__proto__' }), 'auth-unknown-kid'],
  ['kid as a number', () => rs(operator(), { kid: 1 }), 'auth-malformed'],
  ['kid pointing at the other RSA key', () => rs(operator(), { kid: RS2_KID }), 'auth-bad-signature'],
  [
    'kid pointing at the HS256 key, RS256 signature',
    () => rs(operator(), { kid: HS_KID }),
    'auth-algorithm-not-allowed',
  ],
  ['no kid while several keys are configured', () => rs(operator(), { kid: undefined }), 'auth-missing-kid'],
  // Keys offered by the token itself are never used.
  [
    'attacker-signed with jku to its own JWKS',
    () =>
      forgeToken(
        { alg: 'RS256', kid: 'attacker', jku: 'https://evil.example/jwks.json' },
        operator(),
        attacker.privateKey,
      ),
    'auth-unknown-kid',
  ],
  [
    'attacker-signed with jku, kid rs',
    () =>
      forgeToken({ alg: 'RS256', kid: RS_KID, jku: 'https://evil.example/jwks.json' }, operator(), attacker.privateKey),
    'auth-bad-signature',
  ],
  [
    'attacker-signed with x5u, kid rs',
    () =>
      forgeToken({ alg: 'RS256', kid: RS_KID, x5u: 'https://evil.example/cert.pem' }, operator(), attacker.privateKey),
    'auth-bad-signature',
  ],
  [
    'attacker-signed with an embedded jwk, kid rs',
    () => forgeToken({ alg: 'RS256', kid: RS_KID, jwk: attackerJwk }, operator(), attacker.privateKey),
    'auth-bad-signature',
  ],
  ['crit header', () => rs(operator(), { crit: ['exp'] }), 'auth-malformed'],
  // Shape and size.
  ['oversize token (validly signed)', () => rs(operator({ pad: 'x'.repeat(9000) })), 'auth-oversize'],
  ['not a JWT', () => 'not-a-jwt', 'auth-malformed'],
  ['two parts', () => h.mint('operator').split('.').slice(0, 2).join('.'), 'auth-malformed'],
  ['payload not JSON', () => `${h.mint('operator').split('.')[0]}.bm90IGpzb24.c2ln`, 'auth-malformed'],
];

/** Whole Authorization header values (not tokens). */
const HEADER_ROWS: Array<[string, () => string | string[] | undefined, string]> = [
  ['no Authorization header', () => undefined, 'auth-missing'],
  ['an empty Authorization header', () => '', 'auth-missing'],
  [
    'two Authorization headers (both valid tokens)',
    () => [`Bearer ${h.mint('operator')}`, `Bearer ${h.mint('operator')}`],
    'auth-malformed',
  ],
  [
    'two Authorization headers (valid, then garbage)',
    () => [`Bearer ${h.mint('operator')}`, 'Bearer garbage'],
    'auth-malformed',
  ],
  ['two credentials in one header', () => `Bearer ${h.mint('operator')}, Bearer ${h.mint('reader')}`, 'auth-malformed'],
  ['Basic scheme', () => `Basic ${Buffer.from('operator:secret').toString('base64')}`, 'auth-malformed'],
  ['Token scheme with a valid JWT', () => `Token ${h.mint('operator')}`, 'auth-malformed'],
  ['bare JWT without a scheme', () => h.mint('operator'), 'auth-malformed'],
  ['Bearer without a token', () => 'Bearer', 'auth-malformed'],
  ['Bearer with two tokens', () => `Bearer ${h.mint('operator')} ${h.mint('operator')}`, 'auth-malformed'],
];

function swapPayload(token: string, payload: Record<string, unknown>): string {
  const [header, , signature] = token.split('.');
  return `${header}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${signature}`;
}

async function expectUnauthorized(
  authorization: string | string[] | undefined,
  reason: string,
  challenge: string,
): Promise<void> {
  const headers: RequestHeaders = authorization === undefined ? {} : { authorization };
  const reply = await h.withoutUpstream(() => h.request('GET', '/api/v1/regions', { headers }));
  expect(reply.status).toBe(401);
  expect(reply.body).toEqual({
    success: false,
    code: 'UNAUTHORIZED',
    message: GENERIC_MESSAGE,
    requestId: reply.requestId,
    timestamp: expect.any(String),
  });
  expect(reply.headers['www-authenticate']).toBe(challenge);
  const line = await h.accessLine(reply.requestId);
  expect(line).toMatchObject({ status: 401, operation: 'regions.list' });
  expect(line.reason?.startsWith(reason)).toBe(true);
  // The reason is for operators only: nothing of it (nor of the token) in what the caller gets.
  expect(reply.text).not.toContain(reason.replace(/^auth-/, ''));
  const tokens = [authorization ?? []]
    .flat()
    .flatMap((value) => value.split(/[ ,]+/))
    .filter((t) => t.length > 20);
  for (const token of tokens) {
    expect(reply.text).not.toContain(token);
    expect(JSON.stringify(reply.headers)).not.toContain(token);
  }
}

describe('JWT failures → 401 with WWW-Authenticate, upstream never called, reason logged', () => {
  it.each(ROWS)('%s', async (_name, token, reason) => {
    await expectUnauthorized(`Bearer ${token() as string}`, reason, INVALID_TOKEN_CHALLENGE);
  });

  it.each(HEADER_ROWS)('%s', async (_name, header, reason) => {
    await expectUnauthorized(
      header(),
      reason,
      reason === 'auth-missing' ? 'Bearer realm="strettch-gateway"' : INVALID_TOKEN_CHALLENGE,
    );
  });

  it('counts failures by reason in the metrics', async () => {
    const metrics = await h.metricsText();
    expect(metrics).toMatch(/strettch_gateway_auth_failures_total\{reason="algorithm-not-allowed"\} [1-9]/);
    expect(metrics).toMatch(/strettch_gateway_auth_failures_total\{reason="expired"\} [1-9]/);
  });
});

describe('accepted tokens', () => {
  it.each([
    ['RS256 with kid rs', () => h.mint('operator')],
    ['HS256 with kid hs', () => h.mint('operator', { alg: 'HS256' })],
    ['the scheme in any case', () => h.mint('operator')],
    [
      'jku and x5u pointing elsewhere are ignored: still verified with the configured key',
      () => rs(operator(), { jku: 'https://evil.example/jwks.json', x5u: 'https://evil.example/c.pem' }),
    ],
    ['an embedded jwk is ignored', () => rs(operator(), { jwk: attackerJwk })],
    ['expired within the clock tolerance', () => rs(operator({ iat: nowSec() - 60, exp: nowSec() - 2 }))],
  ])('%s', async (name, token) => {
    const scheme = name.includes('any case') ? 'bEaReR' : 'Bearer';
    const reply = await h.request('GET', '/api/v1/regions', { headers: { authorization: `${scheme} ${token()}` } });
    expect(reply.status).toBe(200);
    expect(h.stats().lastRequest!.headers.authorization).toBe(`Bearer key(${h.labelOf('main')})`);
  });
});
