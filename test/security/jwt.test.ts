/**
 * JWT attacks against every route. On a protected route each is 401 with WWW-Authenticate (403 for
 * a well-signed token of a caller that is not configured), the upstream never called, and the token
 * neither echoed nor logged. On the public route (`health`) the same credentials are ignored and
 * never forwarded: the upstream sees no Authorization at all. The token rows live in
 * jwt-token-attacks.ts, replayed over OIDC discovery by jwt-discovery.test.ts.
 */
import { OWNER_KEY, forgeToken } from '../helpers/gateway-harness';
import {
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
  type SecurityHarness,
} from './attack-suite';
import {
  TOKEN_ATTACKS,
  TOKEN_ROWS,
  claims,
  refused,
  secretsOf,
  signedByRs,
  withAuthorization,
} from './jwt-token-attacks';

const harness = useSecurityHarness();

/** Whole Authorization header values: several headers, other schemes, spacing and casing tricks. */
type HeaderRow = [string, (s: SecurityHarness) => string | string[], string, string?];

const HEADER_ROWS: HeaderRow[] = [
  ['two Authorization headers, both valid', (s) => [`Bearer ${s.token()}`, `Bearer ${s.token()}`], 'auth-malformed*'],
  [
    'two Authorization headers, valid then forged',
    (s) => [`Bearer ${s.token()}`, `Bearer ${forgeToken({ alg: 'none' }, claims(s), 'none')}`],
    'auth-malformed*',
  ],
  [
    'two Authorization headers, forged then valid',
    (s) => [`Bearer ${forgeToken({ alg: 'none' }, claims(s), 'none')}`, `Bearer ${s.token()}`],
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
    const token = signedByRs(s, claims(s, { pad: 'p'.repeat(20_000) }));
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
