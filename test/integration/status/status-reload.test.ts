/** The status document's policy section through real reloads of a real gateway: version, load time, outcome. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdminApp } from '../../../src/gateway/app';
import { startGateway, type RunningGateway } from '../../../src/gateway/compose';
import { createLogger } from '../../../src/gateway/observability/logger';
import { createMetrics } from '../../../src/gateway/observability/metrics';
import type { StatusDocument } from '../../../src/gateway/observability/status';
import { parsePolicy, type Policy } from '../../../src/gateway/policy';
import type { PolicyResult } from '../../../src/gateway/policy/types';

function policy(callers: string): Policy {
  const text = `
listen: { host: 127.0.0.1, port: 0, adminPort: 0 }
accounts:
  prod: { apiKey: { env: KEY } }
auth:
  issuer: https://auth.internal
  audience: strettch-gateway
  keys: [{ kid: hs, algorithms: [HS256], secret: { env: HS } }]
callers:
${callers}
`;
  const result = parsePolicy(text, '/p/gateway.yaml', {
    readEnv: (name) => ({ KEY: 'sk-reload-key', HS: 'hs-secret-0123456789abcdef0123456789abcdef' })[name],
    readFile: () => {
      throw new Error('no files');
    },
  });
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.policy;
}

function statusOf(gateway: RunningGateway): Promise<StatusDocument> {
  return new Promise((resolve, reject) => {
    http
      .get(`${gateway.adminUrl}/status.json`, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve(JSON.parse(body) as StatusDocument));
      })
      .on('error', reject);
  });
}

let gateway: RunningGateway;
let next: PolicyResult;

beforeAll(async () => {
  gateway = await startGateway({
    policy: policy('  billing: { account: prod, scopes: [computes:read] }'),
    logger: createLogger({ level: 'fatal', destination: { write: () => undefined } }),
    loadPolicy: () => next,
  });
});

afterAll(() => gateway?.close());

it('shows the version loaded at start, a new one after a reload, and keeps it when a reload is refused', async () => {
  const atStart = await statusOf(gateway);
  expect(atStart.policy).toEqual({
    version: expect.stringMatching(/^[0-9a-f]{12}$/),
    loadedAtMs: expect.any(Number),
    lastReload: null,
  });
  expect(atStart.callers.map((c) => c.caller)).toEqual(['billing']);

  next = {
    ok: true,
    policy: policy(
      '  billing: { account: prod, scopes: [computes:read] }\n  audit: { account: prod, scopes: [computes:read] }',
    ),
  };
  const before = Date.now();
  expect(await gateway.reload()).toEqual({ ok: true });
  const reloaded = await statusOf(gateway);
  expect(reloaded.policy.version).not.toBe(atStart.policy.version);
  expect(reloaded.policy.loadedAtMs).toBeGreaterThanOrEqual(before);
  expect(reloaded.policy.lastReload).toEqual({ atMs: expect.any(Number), outcome: 'ok', problems: 0 });
  expect(reloaded.callers.map((c) => c.caller)).toEqual(['billing', 'audit']);

  next = { ok: false, errors: [{ path: 'callers.audit.scopes', message: 'unknown scope' }] };
  expect((await gateway.reload()).ok).toBe(false);
  const refused = await statusOf(gateway);
  expect(refused.policy.version).toBe(reloaded.policy.version);
  expect(refused.policy.loadedAtMs).toBe(reloaded.policy.loadedAtMs);
  expect(refused.policy.lastReload).toEqual({ atMs: expect.any(Number), outcome: 'refused', problems: 1 });
});

it('answers a failure to build the document with the error envelope, not a stack trace', async () => {
  const registry = createMetrics().registry;
  const readiness = { check: () => ({ ready: true, checks: {} }) };
  const app = createAdminApp(registry, readiness, () => Promise.reject(new Error('/secret/path/in/a/stack')));
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    const reply = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      http
        .get(`http://127.0.0.1:${port}/status.json`, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (body += chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        })
        .on('error', reject);
    });
    expect(reply.status).toBe(500);
    expect(JSON.parse(reply.body)).toMatchObject({ success: false, code: 'INTERNAL_SERVER_ERROR' });
    expect(reply.body).not.toContain('/secret/path');
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});
