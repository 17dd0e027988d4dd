/**
 * The JWT attack family replayed with the RSA keys found by OIDC discovery: the same forged,
 * expired and misdirected tokens (jwt-token-attacks.ts), every route, the same verdicts, while `rs`
 * and `rs2` come from a local issuer's discovery document and JWK Set rather than the policy file
 * (the HS256 key `hs` stays static: a shared secret is never published).
 */
import { AUDIENCE, HS_KID, RS2_KID, RS_KID, harnessRsaPairs } from '../helpers/gateway-harness';
import { startLocalIssuer, type LocalIssuer } from '../helpers/oidc-issuer';
import { describeAttacks, useSecurityHarness } from './attack-suite';
import { TOKEN_ATTACKS } from './jwt-token-attacks';

let issuer: LocalIssuer | undefined;

const harness = useSecurityHarness(async () => {
  const [rs, rs2] = harnessRsaPairs();
  issuer = await startLocalIssuer([
    { kid: RS_KID, alg: 'RS256', ...rs },
    { kid: RS2_KID, alg: 'RS256', ...rs2 },
  ]);
  return {
    auth: `auth:
  issuer: ${issuer.url}
  audience: ${AUDIENCE}
  maxTokenLifetimeSec: 3600
  clockToleranceSec: 5
  maxTokenBytes: 8192
  discovery: true
  jwks: { requestsPerMinute: 600 }
  keys:
    - { kid: ${HS_KID}, algorithms: [HS256], secret: { env: JWT_HS_SECRET } }`,
  };
});
afterAll(() => issuer?.close());

describe('JWT attacks on every route, keys by OIDC discovery', () => {
  it('verifies with keys the issuer published, and only those', () => {
    const { h } = harness();
    expect(h.policy.auth.keys.map((key) => key.kid)).toEqual([HS_KID]);
    expect(h.policy.auth.keySet).toMatchObject({ discovery: true });
  });

  describeAttacks('forged, expired and misdirected tokens', harness, TOKEN_ATTACKS);

  it('the RS256 keys really came from the issuer: its discovery document and JWKS were read', () => {
    expect(issuer!.hits['/.well-known/openid-configuration']).toBeGreaterThanOrEqual(1);
    expect(issuer!.hits['/jwks']).toBeGreaterThanOrEqual(1);
  });
});
