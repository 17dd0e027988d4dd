/** `buildGateway` wires everything without listening; `listenGateway` serves what it built. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { buildGateway, listenGateway } from '../../../src/gateway/compose';
import { createLogger } from '../../../src/gateway/observability/logger';
import { parsePolicy, type Policy } from '../../../src/gateway/policy';
import { createReloader } from '../../../src/gateway/reload';
import { createMetrics } from '../../../src/gateway/observability/metrics';

const POLICY = `
listen: { host: 127.0.0.1, port: 0, adminPort: 0 }
upstream: { baseUrl: "http://127.0.0.1:9/api/v1" }
accounts:
  prod: { apiKey: { env: KEY_PROD } }
auth:
  issuer: https://auth.internal
  audience: strettch-gateway
  keys:
    - { kid: hs, algorithms: [HS256], secret: { env: HS_SECRET } }
callers:
  billing: { account: prod, scopes: [computes:read] }
`;
const ENV: Record<string, string> = { KEY_PROD: 'sk-prod-x', HS_SECRET: 'hs-secret-0123456789abcdef0123456789abcdef' };

function policy(text = POLICY): Policy {
  const result = parsePolicy(text, '(test)', { readEnv: (name) => ENV[name], readFile: () => '' });
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.policy;
}

const quiet = () =>
  createLogger({ destination: new Writable({ write: (_chunk, _encoding, done) => done() }), level: 'silent' });

async function get(handler: http.RequestListener, path: string): Promise<{ status: number; body: unknown }> {
  const server = http.createServer(handler).listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    const response = await fetch(`http://127.0.0.1:${port}${path}`);
    return { status: response.status, body: await response.json() };
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}

describe('buildGateway', () => {
  it('builds a gateway whose handler a test mounts itself: nothing listens', async () => {
    const built = buildGateway({ policy: policy(), logger: quiet() });
    try {
      expect(await get(built.handler, '/readyz')).toEqual({
        status: 200,
        body: { status: 'ready', checks: { policy: 'loaded', schedule: 'memory' } },
      });
      expect((await get(built.adminHandler, '/healthz')).status).toBe(200);
      expect(built.policy().sourcePath).toBe('(test)');
    } finally {
      await built.close();
    }
  });

  it('holds readiness back while warming and draining', async () => {
    const built = buildGateway({ policy: policy(), logger: quiet(), warmUpConnections: 2 });
    try {
      expect(await get(built.handler, '/readyz')).toMatchObject({
        status: 503,
        body: { checks: { upstream: 'warming' } },
      });
      built.setWarming(false);
      built.setDraining();
      expect(await get(built.handler, '/readyz')).toMatchObject({ status: 503, body: { checks: { draining: 'yes' } } });
    } finally {
      await built.close();
    }
  });

  it('listenGateway serves what was built, on the ports asked for', async () => {
    const running = await listenGateway(buildGateway({ policy: policy(), logger: quiet(), port: 0, adminPort: 0 }));
    try {
      expect((await fetch(`${running.url}/healthz`)).status).toBe(200);
      expect((await fetch(`${running.adminUrl}/metrics`)).status).toBe(200);
    } finally {
      await running.close();
    }
  });
});

describe('createReloader', () => {
  const deps = () => {
    let running = policy();
    const applied: Policy[] = [];
    return {
      applied,
      options: {
        running: () => running,
        apply: (next: Policy) => {
          applied.push(next);
          running = next;
        },
        logger: quiet(),
        metrics: createMetrics(),
        now: () => 0,
      },
    };
  };

  it('refuses without a policy file to read', async () => {
    const { options, applied } = deps();
    expect(await createReloader(options)()).toEqual({
      ok: false,
      errors: [{ path: '(file)', message: 'this gateway has no policy file to reload' }],
    });
    expect(applied).toEqual([]);
  });

  it('refuses a policy that cannot load or apply, and keeps the running one', async () => {
    const { options, applied } = deps();
    const failing = createReloader({
      ...options,
      loadPolicy: () => {
        throw new Error('EACCES');
      },
    });
    expect(await failing()).toMatchObject({ ok: false, errors: [{ message: 'cannot load the policy (EACCES)' }] });
    const unappliable = createReloader({
      ...options,
      loadPolicy: () => ({ ok: true, policy: policy() }),
      apply: () => {
        throw new Error('no');
      },
    });
    expect(await unappliable()).toMatchObject({ ok: false, errors: [{ message: 'cannot apply the policy (no)' }] });
    expect(applied).toEqual([]);
  });

  it('runs concurrent reloads one after the other', async () => {
    const { options, applied } = deps();
    let loads = 0;
    let active = 0;
    const reload = createReloader({
      ...options,
      loadPolicy: async () => {
        active += 1;
        expect(active).toBe(1);
        loads += 1;
        await new Promise((resolve) => setTimeout(resolve, 5));
        active -= 1;
        return { ok: true, policy: policy() };
      },
    });
    const results = await Promise.all([reload(), reload(), reload()]);
    expect(results).toEqual([{ ok: true }, { ok: true }, { ok: true }]);
    expect(loads).toBe(3);
    expect(applied).toHaveLength(3);
  });
});
