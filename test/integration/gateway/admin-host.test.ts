/**
 * listen.adminHost: the admin server (metrics, probes) binds where the policy says, 127.0.0.1 by
 * default, whatever the proxy's host. Real sockets: a server bound to 127.0.0.1 does not answer on
 * 127.0.0.2, while one bound to 0.0.0.0 answers on both; so the public port (on 0.0.0.0) answering
 * on 127.0.0.2 and the admin port refusing it shows which address each holds.
 */
import http from 'node:http';
import { startGateway, type RunningGateway } from '../../../src/gateway/compose';
import { createLogger } from '../../../src/gateway/observability/logger';
import { parsePolicy } from '../../../src/gateway/policy';
import { DEMO_KEYS, startSandbox, type RunningSandbox } from '../../../src/sandbox';

const quiet = createLogger({ level: 'silent', destination: { write: () => undefined } });
let sandbox: RunningSandbox;

beforeAll(async () => {
  sandbox = await startSandbox({ port: 0, logger: quiet });
});
afterAll(async () => sandbox?.close());

async function gatewayWith(listen: string): Promise<RunningGateway> {
  const parsed = parsePolicy(
    `listen: ${listen}
upstream: { baseUrl: ${sandbox.apiBaseUrl} }
accounts: { main: { apiKey: { env: KEY } } }
auth:
  issuer: https://auth.test.internal
  audience: strettch-gateway
  keys: [{ kid: hs, algorithms: [HS256], secret: { env: HS } }]
callers: { reader: { account: main, scopes: [computes:read] } }
`,
    '/policy/gateway.yaml',
    {
      readEnv: (name) => ({ KEY: DEMO_KEYS[0]!.key, HS: 'hs-secret-0123456789abcdef0123456789abcdef' })[name],
      readFile: () => {
        throw Object.assign(new Error('no files'), { code: 'ENOENT' });
      },
    },
  );
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  // No host overrides: the policy's listen decides, as in production.
  return startGateway({ policy: parsed.policy, logger: quiet });
}

/** The status of GET /healthz at address:port, or the connection error's code. */
function healthz(address: string, port: number): Promise<number | string> {
  return new Promise((resolve) => {
    const request = http.get({ host: address, port, path: '/healthz', timeout: 10_000 }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    request.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
    request.on('timeout', () => request.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
  });
}

const portOf = (url: string) => Number(new URL(url).port);

describe('listen.adminHost', () => {
  it('defaults to 127.0.0.1 even when the proxy listens on every address', async () => {
    const gateway = await gatewayWith('{ host: 0.0.0.0, port: 0, adminPort: 0 }');
    try {
      expect(new URL(gateway.adminUrl).hostname).toBe('127.0.0.1');
      // The public port is on every address...
      expect(await healthz('127.0.0.2', portOf(gateway.url))).toBe(200);
      // ...the admin port on loopback's 127.0.0.1 only.
      expect(await healthz('127.0.0.1', portOf(gateway.adminUrl))).toBe(200);
      expect(await healthz('127.0.0.2', portOf(gateway.adminUrl))).toBe('ECONNREFUSED');
    } finally {
      await gateway.close();
    }
  });

  it('binds the admin server where it says, independently of listen.host', async () => {
    const gateway = await gatewayWith('{ host: 127.0.0.1, port: 0, adminHost: 0.0.0.0, adminPort: 0 }');
    try {
      expect(await healthz('127.0.0.2', portOf(gateway.adminUrl))).toBe(200);
      expect(await healthz('127.0.0.2', portOf(gateway.url))).toBe('ECONNREFUSED');
    } finally {
      await gateway.close();
    }
  });
});
