/**
 * Keys by OIDC discovery, end to end: a local issuer (discovery document + JWKS over real HTTP, RS256
 * and ES256 keys), the real gateway and the sandbox upstream. Rotation mid-test, the issuer taken
 * down and brought back, a gateway started while the issuer is down, and hostile discovery
 * documents and key sets.
 */
import { randomUUID } from 'node:crypto';
import { AUDIENCE, claimsFor, startGatewayHarness, type GatewayHarness } from '../../helpers/gateway-harness';
import { issuerKey, startLocalIssuer, type IssuerKey, type LocalIssuer } from '../../helpers/oidc-issuer';

/** 600 fetches a minute: at most one per 100 ms, so a test waits 150 ms before it expects a refresh. */
const REFRESH_GAP_MS = 150;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function discoveryAuth(issuerUrl: string, jwks = ''): string {
  return `auth:
  issuer: ${issuerUrl}
  audience: ${AUDIENCE}
  clockToleranceSec: 5
  discovery: true
  jwks: { requestsPerMinute: 600, timeoutMs: 1000${jwks} }`;
}

const tokenFor = (issuer: LocalIssuer, key: IssuerKey, sub = 'operator', header: Record<string, unknown> = {}) =>
  issuer.sign(key, claimsFor(sub, { iss: issuer.url, jti: randomUUID() }), header);

async function regions(h: GatewayHarness, token: string) {
  const reply = await h.request('GET', '/api/v1/regions', { headers: { authorization: `Bearer ${token}` } });
  return { status: reply.status, reason: (await h.accessLine(reply.requestId)).reason };
}

async function readyz(h: GatewayHarness) {
  const reply = await h.request('GET', '/readyz', { port: Number(new URL(h.gateway.adminUrl).port) });
  return { status: reply.status, issuerKeys: (reply.body as { checks: Record<string, string> }).checks.issuerKeys };
}

function metricValue(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? NaN : Number(line.split(' ')[1]);
}

const rs1 = issuerKey('rs-1', 'RS256');
const es1 = issuerKey('es-1', 'ES256');
const rs2 = issuerKey('rs-2', 'RS256');
const rs3 = issuerKey('rs-3', 'RS256');

describe('discovery, rotation, an issuer outage and its return', () => {
  let issuer: LocalIssuer;
  let h: GatewayHarness;
  beforeAll(async () => {
    issuer = await startLocalIssuer([rs1, es1]);
    h = await startGatewayHarness({ auth: discoveryAuth(issuer.url) });
  });
  afterAll(async () => {
    await h.close();
    await issuer.close();
  });

  it('reads jwks_uri from the discovery document and verifies RS256 and ES256 tokens with its keys', async () => {
    expect(await regions(h, tokenFor(issuer, rs1))).toEqual({ status: 200, reason: undefined });
    expect(await regions(h, tokenFor(issuer, es1))).toEqual({ status: 200, reason: undefined });
    expect(issuer.hits['/.well-known/openid-configuration']).toBe(1);
    expect(h.stats().lastRequest!.headers.authorization).toBe(`Bearer key(${h.labelOf('main')})`);
    const metrics = await h.metricsText();
    expect(metricValue(metrics, 'strettch_gateway_jwks_keys')).toBe(2);
    expect(metricValue(metrics, 'strettch_gateway_jwks_last_success_timestamp_seconds')).toBeGreaterThan(
      Date.now() / 1000 - 60,
    );
    expect(await readyz(h)).toEqual({ status: 200, issuerKeys: 'loaded' });
  });

  it('a token naming a cached kid never makes the gateway call the issuer', async () => {
    const before = issuer.hits['/jwks'];
    for (let i = 0; i < 5; i++) expect((await regions(h, tokenFor(issuer, es1))).status).toBe(200);
    expect(issuer.hits['/jwks']).toBe(before);
  });

  it('a key rotated in mid-test is fetched on its first unknown kid; the key rotated out stops verifying', async () => {
    issuer.keys = [rs2, es1];
    await sleep(REFRESH_GAP_MS);
    expect(await regions(h, tokenFor(issuer, rs2))).toEqual({ status: 200, reason: undefined });
    expect(await regions(h, tokenFor(issuer, rs1))).toEqual({ status: 401, reason: 'auth-unknown-kid' });
  });

  it('unknown kids in a burst cost at most one fetch per interval', async () => {
    await sleep(REFRESH_GAP_MS);
    const before = issuer.hits['/jwks'] ?? 0;
    const bogus = issuerKey('bogus', 'ES256');
    const replies = await Promise.all(
      Array.from({ length: 20 }, (_, i) => regions(h, tokenFor(issuer, { ...bogus, kid: `bogus-${i}` }))),
    );
    expect(replies.every((r) => r.status === 401 && r.reason === 'auth-unknown-kid')).toBe(true);
    expect((issuer.hits['/jwks'] ?? 0) - before).toBe(1);
  });

  it('issuer down: cached keys keep verifying, an unknown kid is 401 jwks-unavailable, a metric and a warn line say why', async () => {
    await issuer.down();
    await sleep(REFRESH_GAP_MS);
    const unknown = tokenFor(issuer, rs3);
    expect(await regions(h, unknown)).toEqual({ status: 401, reason: 'auth-jwks-unavailable' });
    expect(await regions(h, tokenFor(issuer, es1))).toEqual({ status: 200, reason: undefined });
    expect(await regions(h, tokenFor(issuer, rs2))).toEqual({ status: 200, reason: undefined });

    const metrics = await h.metricsText();
    expect(
      metricValue(metrics, 'strettch_gateway_jwks_refresh_failures_total{reason="unreachable"}'),
    ).toBeGreaterThanOrEqual(1);
    const warnings = h.logLines.filter((line) => line.includes('issuer keys: refresh failed'));
    expect(warnings.length).toBeGreaterThanOrEqual(1);
    const warning = JSON.parse(warnings.at(-1)!) as Record<string, unknown>;
    expect(warning).toMatchObject({ level: 40, stage: 'jwks', reason: 'unreachable', cachedKeys: 2 });
    for (const line of h.logLines) expect(line).not.toContain(unknown.split('.')[2]!);
    // Ready all the same: the keys it has still verify.
    expect(await readyz(h)).toEqual({ status: 200, issuerKeys: 'stale' });
  });

  it('issuer back: the next unknown kid is fetched and verifies', async () => {
    await issuer.up();
    issuer.keys = [rs2, es1, rs3];
    await sleep(REFRESH_GAP_MS);
    expect(await regions(h, tokenFor(issuer, rs3))).toEqual({ status: 200, reason: undefined });
    expect(await readyz(h)).toEqual({ status: 200, issuerKeys: 'loaded' });
  });
});

describe('a gateway started while the issuer is down', () => {
  let issuer: LocalIssuer;
  let h: GatewayHarness;
  beforeAll(async () => {
    issuer = await startLocalIssuer([es1]);
    await issuer.down();
    h = await startGatewayHarness({ auth: discoveryAuth(issuer.url) });
  });
  afterAll(async () => {
    await h.close();
    await issuer.close();
  });

  it('starts, says so on /readyz, refuses tokens with jwks-unavailable, and recovers when the issuer comes', async () => {
    expect(await readyz(h)).toEqual({ status: 200, issuerKeys: 'not-loaded' });
    await sleep(REFRESH_GAP_MS);
    expect(await regions(h, tokenFor(issuer, es1))).toEqual({ status: 401, reason: 'auth-jwks-unavailable' });
    await issuer.up();
    await sleep(REFRESH_GAP_MS);
    expect(await regions(h, tokenFor(issuer, es1))).toEqual({ status: 200, reason: undefined });
  });
});

/** [name, what the issuer serves, extra auth.jwks settings, expected access reason, expected failure reason]. */
type Hostile = [string, (issuer: LocalIssuer) => void, string, string, string | undefined];

const HOSTILE: Hostile[] = [
  [
    'the discovery document names another issuer',
    (issuer) => {
      issuer.discovery = () => ({ issuer: 'https://accounts.evil.example', jwks_uri: `${issuer.url}/jwks` });
    },
    '',
    'auth-jwks-unavailable',
    'issuer-mismatch',
  ],
  [
    'the discovery document names the issuer with a trailing slash',
    (issuer) => {
      issuer.discovery = () => ({ issuer: `${issuer.url}/`, jwks_uri: `${issuer.url}/jwks` });
    },
    '',
    'auth-jwks-unavailable',
    'issuer-mismatch',
  ],
  [
    'jwks_uri on another host',
    (issuer) => {
      issuer.discovery = () => ({
        issuer: issuer.url,
        jwks_uri: issuer.url.replace('127.0.0.1', 'localhost') + '/jwks',
      });
    },
    '',
    'auth-jwks-unavailable',
    'jwks-uri-refused',
  ],
  [
    'jwks_uri on another host that auth.jwks.allowedHosts allows',
    (issuer) => {
      issuer.discovery = () => ({
        issuer: issuer.url,
        jwks_uri: issuer.url.replace('127.0.0.1', 'localhost') + '/jwks',
      });
    },
    ', allowedHosts: [localhost]',
    'ok',
    undefined,
  ],
  [
    'jwks_uri over plain http off loopback',
    (issuer) => {
      issuer.discovery = () => ({ issuer: issuer.url, jwks_uri: 'http://10.0.0.1/jwks' });
    },
    ', allowedHosts: [10.0.0.1]',
    'auth-jwks-unavailable',
    'jwks-uri-refused',
  ],
  [
    'a published key whose alg is outside the allow-list (RS512)',
    (issuer) => {
      issuer.jwksBody = () =>
        JSON.stringify({ keys: [{ ...es1.publicKey.export({ format: 'jwk' }), kid: es1.kid, alg: 'RS512' }] });
    },
    '',
    'auth-algorithm-not-allowed: JWKS key outside the allow-list',
    undefined,
  ],
  [
    'a published key with private material',
    (issuer) => {
      issuer.jwksBody = () => JSON.stringify({ keys: [{ ...es1.privateKey.export({ format: 'jwk' }), kid: es1.kid }] });
    },
    '',
    'auth-algorithm-not-allowed: JWKS key outside the allow-list',
    undefined,
  ],
  [
    'an oversized JWKS (300 KiB)',
    (issuer) => {
      issuer.jwksBody = () => JSON.stringify({ keys: [], pad: 'x'.repeat(300 * 1024) });
    },
    '',
    'auth-jwks-unavailable',
    'too-large',
  ],
  [
    'more keys than maxKeys',
    (issuer) => {
      const jwk = es1.publicKey.export({ format: 'jwk' });
      issuer.jwksBody = () => JSON.stringify({ keys: Array.from({ length: 6 }, (_, i) => ({ ...jwk, kid: `k${i}` })) });
    },
    ', maxKeys: 5',
    'auth-jwks-unavailable',
    'too-many-keys',
  ],
  [
    'a JWKS that is not JSON',
    (issuer) => {
      issuer.jwksBody = () => '<html>maintenance</html>';
    },
    '',
    'auth-jwks-unavailable',
    'not-json',
  ],
];

describe('hostile discovery documents and key sets', () => {
  it.each(HOSTILE)('%s', async (_name, serve, jwks, expectedReason, failure) => {
    const issuer = await startLocalIssuer([es1]);
    serve(issuer);
    const h = await startGatewayHarness({ auth: discoveryAuth(issuer.url, jwks) });
    try {
      await sleep(REFRESH_GAP_MS);
      const reply = await h.withoutUpstream(() => regions(h, tokenFor(issuer, es1))).catch(() => undefined);
      if (expectedReason === 'ok') {
        expect(await regions(h, tokenFor(issuer, es1))).toEqual({ status: 200, reason: undefined });
        return;
      }
      expect(reply).toEqual({ status: 401, reason: expectedReason });
      if (failure !== undefined)
        expect(
          metricValue(await h.metricsText(), `strettch_gateway_jwks_refresh_failures_total{reason="${failure}"}`),
        ).toBeGreaterThanOrEqual(1);
    } finally {
      await h.close();
      await issuer.close();
    }
  });
});
