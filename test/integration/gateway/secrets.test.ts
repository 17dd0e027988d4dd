/**
 * A sentinel real key (held by an account) and a sentinel caller token, pushed through every kind of
 * request, never appear in any sink: gateway log lines, responses to callers (bodies and headers),
 * `/metrics` on the admin port, or the sandbox referee's stats.
 */
import { startGatewayHarness, type GatewayHarness, type Reply } from '../../helpers/gateway-harness';

let h: GatewayHarness;
let sentinelToken: string;
const replies: Reply[] = [];

beforeAll(async () => {
  h = await startGatewayHarness({
    sandbox: { limits: { readPerSecond: 10_000, writePerSecond: 10_000 } },
    upstream: { timeoutMs: 200 },
  });
  sentinelToken = h.mint('sentinel-caller', { lifetimeSec: 3000 });
});
afterAll(() => h.close());

const bearer = () => ({ authorization: `Bearer ${sentinelToken}` });
const JSON_HEADERS = { 'content-type': 'application/json' };

/** [what, request]: every outcome class the gateway has, each carrying the sentinel token. */
const TRAFFIC: Array<[string, () => Promise<Reply>]> = [
  ['a read (200)', () => h.request('GET', '/api/v1/regions', { headers: bearer() })],
  ['a list (200)', () => h.request('GET', '/api/v1/computes?page=1', { headers: bearer() })],
  [
    'a create (202)',
    () =>
      h.request('POST', '/api/v1/computes', {
        headers: { ...bearer(), ...JSON_HEADERS, 'idempotency-key': crypto.randomUUID() },
        body: JSON.stringify({
          hostName: 'sentinel',
          image: 'UBUNTU-24.04',
          region: 'KGL-1',
          specification: 'S-1C',
          publicKeys: ['ssh-ed25519 AAAA'],
        }),
      }),
  ],
  ['an upstream 404', () => h.request('GET', '/api/v1/computes/424242', { headers: bearer() })],
  [
    'an upstream 400',
    () =>
      h.request('PATCH', '/api/v1/computes/424242/upsize', {
        headers: { ...bearer(), ...JSON_HEADERS },
        body: '{"bogus":1}',
      }),
  ],
  ['a gateway 400 (target)', () => h.request('GET', '/api/v1/computes/../regions', { headers: bearer() })],
  [
    'a gateway 400 (idempotency key)',
    () =>
      h.request('POST', '/api/v1/computes', {
        headers: { ...bearer(), ...JSON_HEADERS, 'idempotency-key': 'nope' },
        body: '{}',
      }),
  ],
  ['a gateway 404', () => h.request('GET', '/api/v1/admin', { headers: bearer() })],
  [
    'a gateway 403 (narrowed token)',
    () =>
      h.request('GET', '/api/v1/computes', {
        headers: { authorization: `Bearer ${h.mint('sentinel-caller', { scope: 'catalog:read' })}` },
      }),
  ],
  [
    'a 401 (tampered sentinel token)',
    () =>
      h.request('GET', '/api/v1/regions', { headers: { authorization: `Bearer ${sentinelToken.slice(0, -4)}AAAA` } }),
  ],
  [
    'a 401 (the token under another scheme)',
    () => h.request('GET', '/api/v1/regions', { headers: { authorization: `Token ${sentinelToken}` } }),
  ],
  [
    'a 401 (the token twice)',
    () =>
      h.request('GET', '/api/v1/regions', {
        headers: { authorization: [`Bearer ${sentinelToken}`, `Bearer ${sentinelToken}`] },
      }),
  ],
  [
    'a 413',
    () =>
      h.request('POST', '/api/v1/computes', {
        headers: { ...bearer(), ...JSON_HEADERS, 'idempotency-key': crypto.randomUUID() },
        body: 'x'.repeat(70_000),
      }),
  ],
  [
    'the token in other headers',
    () =>
      h.request('GET', '/api/v1/images', {
        headers: {
          ...bearer(),
          cookie: `token=${sentinelToken}`,
          'x-api-key': sentinelToken,
          'proxy-authorization': `Bearer ${sentinelToken}`,
          'x-request-id': 'sentinel-trace-0001',
        },
      }),
  ],
  [
    'an upstream 500',
    async () => {
      h.sandbox.referee.setFaults({ errorRate: 1 });
      try {
        return await h.request('GET', '/api/v1/regions', { headers: bearer() });
      } finally {
        h.sandbox.referee.setFaults({ errorRate: 0 });
      }
    },
  ],
  [
    'a 504',
    async () => {
      h.sandbox.referee.setFaults({ latencyMs: 1000 });
      try {
        return await h.request('GET', '/api/v1/regions', { headers: bearer() });
      } finally {
        h.sandbox.referee.setFaults({ latencyMs: 0 });
      }
    },
  ],
  [
    'a 502 (dropped)',
    async () => {
      h.sandbox.referee.setFaults({ dropRate: 1 });
      try {
        return await h.request('GET', '/api/v1/regions', { headers: bearer() });
      } finally {
        h.sandbox.referee.setFaults({ dropRate: 0 });
      }
    },
  ],
  ['public health', () => h.request('GET', '/api/v1/health', { headers: bearer() })],
  ['the probes', () => h.request('GET', '/readyz', { headers: bearer() })],
];

function sentinels(): Array<[string, string]> {
  const [, payload, signature] = sentinelToken.split('.');
  return [
    ['the real key', h.keys.sentinelApiKey],
    ['the caller token', sentinelToken],
    ['the token payload', payload!],
    ['the token signature', signature!],
  ];
}

function expectClean(sink: string, text: string): void {
  for (const [what, secret] of sentinels()) {
    if (text.includes(secret)) throw new Error(`${what} leaked into ${sink}`);
  }
}

describe('sentinel secrets never leak', () => {
  it.each(TRAFFIC)('%s: nothing secret in the response', async (_what, send) => {
    const reply = await send();
    replies.push(reply);
    expect(reply.status).toBeGreaterThanOrEqual(200);
    expectClean('a response body', reply.text);
    expectClean('response headers', JSON.stringify(reply.rawHeaders));
    // The access line is written once the response closed; wait for it before reading the logs.
    if (reply.requestId) await h.accessLine(reply.requestId);
  });

  it('the traffic reached the upstream with the sentinel key (so the key was really used)', () => {
    expect(h.stats().keys[h.labelOf('sentinel')]!.classes.all.admitted).toBeGreaterThan(3);
    expect(replies.map((r) => r.status)).toEqual(
      expect.arrayContaining([200, 202, 400, 401, 403, 404, 413, 500, 502, 504]),
    );
  });

  it('no gateway log line holds either', () => {
    // One access line per request, except /readyz (answered by the probe route, not the request path).
    expect(h.logLines.length).toBeGreaterThanOrEqual(TRAFFIC.length - 1);
    for (const line of h.logLines) expectClean('a log line', line);
  });

  it('/metrics on the admin port holds neither', async () => {
    const metrics = await h.metricsText();
    expect(metrics).toContain('strettch_gateway_requests_total');
    expectClean('/metrics', metrics);
  });

  it('the referee stats hold neither (in process and over HTTP)', async () => {
    expectClean('referee stats', JSON.stringify(h.stats()));
    const overHttp = await h.request('GET', '/_sandbox/stats', { port: h.sandbox.port });
    expect(overHttp.status).toBe(200);
    expectClean('GET /_sandbox/stats', overHttp.text);
  });

  it('the resolved policy does not serialise the key', () => {
    expectClean('the serialised policy', JSON.stringify(h.policy));
  });
});
