/**
 * Every operation of the catalog, allowed by the scope that grants it (and really performed by the
 * sandbox) and denied to every caller lacking it (403 naming the scope; the upstream never called).
 */
import type { OperationId } from '../../../src/catalog/catalog';
import {
  SCOPE_CALLERS,
  claimsFor,
  createBody,
  forgeToken,
  startGatewayHarness,
  type CallerName,
  type GatewayHarness,
  type Reply,
  type ScopeCaller,
} from '../../helpers/gateway-harness';

let h: GatewayHarness;
beforeAll(async () => {
  h = await startGatewayHarness({ sandbox: { limits: { readPerSecond: 10_000, writePerSecond: 10_000 } } });
});
afterAll(() => h.close());

const JSON_HEADERS = { 'content-type': 'application/json' };

async function createCompute(caller: CallerName = 'operator'): Promise<string> {
  const reply = await h.as(caller, 'POST', '/api/v1/computes', {
    headers: { ...JSON_HEADERS, 'idempotency-key': crypto.randomUUID() },
    body: createBody(),
  });
  expect(reply.status).toBe(202);
  return reply.body.data.id as string;
}

async function stateOf(id: string): Promise<string> {
  const reply = await h.as('operator', 'GET', `/api/v1/computes/${id}`);
  expect(reply.status).toBe(200);
  return reply.body.data.state as string;
}

async function stopped(): Promise<string> {
  const id = await createCompute();
  expect((await h.as('operator', 'POST', `/api/v1/computes/${id}/stop`)).status).toBe(202);
  expect(await stateOf(id)).toBe('STOPPED');
  return id;
}

interface OperationCase {
  operation: OperationId;
  scope: string;
  method: string;
  /** The target for a compute `id` (prepared by `prepare`). */
  target: (id: string) => string;
  prepare: () => Promise<string>;
  body?: string;
  headers?: Record<string, string>;
  status: number;
  /** What the sandbox did, checked after the call. */
  verify: (reply: Reply, id: string) => Promise<void>;
}

const none = async () => '';
const listed = async (reply: Reply) => {
  expect(Array.isArray(reply.body.data)).toBe(true);
  expect(reply.body.data.length).toBeGreaterThan(0);
};

const OPERATIONS: OperationCase[] = [
  {
    operation: 'regions.list',
    scope: 'catalog:read',
    method: 'GET',
    target: () => '/api/v1/regions',
    prepare: none,
    status: 200,
    verify: listed,
  },
  {
    operation: 'images.list',
    scope: 'catalog:read',
    method: 'GET',
    target: () => '/api/v1/images',
    prepare: none,
    status: 200,
    verify: listed,
  },
  {
    operation: 'specifications.list',
    scope: 'catalog:read',
    method: 'GET',
    target: () => '/api/v1/computes/specifications',
    prepare: none,
    status: 200,
    verify: listed,
  },
  {
    operation: 'computes.list',
    scope: 'computes:read',
    method: 'GET',
    target: () => '/api/v1/computes?page=1&limit=100',
    prepare: () => createCompute(),
    status: 200,
    verify: async (reply, id) => expect(reply.body.data.map((c: { id: string }) => c.id)).toContain(id),
  },
  {
    operation: 'computes.get',
    scope: 'computes:read',
    method: 'GET',
    target: (id) => `/api/v1/computes/${id}`,
    prepare: () => createCompute(),
    status: 200,
    verify: async (reply, id) => expect(reply.body.data.id).toBe(id),
  },
  {
    operation: 'computes.create',
    scope: 'computes:create',
    method: 'POST',
    target: () => '/api/v1/computes',
    prepare: none,
    body: createBody('created-by-scope'),
    headers: { ...JSON_HEADERS, 'idempotency-key': '6f1c5c6e-1d2b-4c3a-9e8f-0a1b2c3d4e5f' },
    status: 202,
    verify: async (reply) => {
      expect(reply.body.data.hostName).toBe('created-by-scope');
      expect(await stateOf(reply.body.data.id)).toBe('RUNNING');
    },
  },
  {
    operation: 'computes.stop',
    scope: 'computes:power',
    method: 'POST',
    target: (id) => `/api/v1/computes/${id}/stop`,
    prepare: () => createCompute(),
    status: 202,
    verify: async (_reply, id) => expect(await stateOf(id)).toBe('STOPPED'),
  },
  {
    operation: 'computes.start',
    scope: 'computes:power',
    method: 'POST',
    target: (id) => `/api/v1/computes/${id}/start`,
    prepare: stopped,
    status: 202,
    verify: async (_reply, id) => expect(await stateOf(id)).toBe('RUNNING'),
  },
  {
    operation: 'computes.reboot',
    scope: 'computes:power',
    method: 'POST',
    target: (id) => `/api/v1/computes/${id}/reboot`,
    prepare: () => createCompute(),
    status: 202,
    verify: async (reply, id) => {
      expect(reply.body.data.state).toBe('REBOOTING');
      expect(await stateOf(id)).toBe('RUNNING');
    },
  },
  {
    operation: 'computes.upsize',
    scope: 'computes:resize',
    method: 'PATCH',
    target: (id) => `/api/v1/computes/${id}/upsize`,
    prepare: stopped,
    body: JSON.stringify({ newSpecification: 'S-2C-4G' }),
    headers: JSON_HEADERS,
    status: 202,
    verify: async (_reply, id) => {
      const reply = await h.as('operator', 'GET', `/api/v1/computes/${id}`);
      expect(reply.body.data.specification).toBe('S-2C-4G');
    },
  },
  {
    operation: 'computes.delete',
    scope: 'computes:delete',
    method: 'DELETE',
    target: (id) => `/api/v1/computes/${id}`,
    prepare: () => createCompute(),
    status: 202,
    verify: async (_reply, id) => expect(await stateOf(id)).toBe('DESTROYED'),
  },
];

const callerWith = (scope: string): ScopeCaller =>
  (Object.keys(SCOPE_CALLERS) as ScopeCaller[]).find((c) => SCOPE_CALLERS[c] === scope)!;

describe('allowed by the scope that grants it, and performed by the sandbox', () => {
  it.each(OPERATIONS.map((c) => [c.operation, c] as const))('%s', async (_operation, c) => {
    const id = await c.prepare();
    const caller = callerWith(c.scope);
    const reply = await h.as(caller, c.method, c.target(id), {
      headers: c.headers,
      ...(c.body !== undefined ? { body: c.body } : {}),
    });
    expect([reply.status, reply.body.success]).toEqual([c.status, true]);
    const seen = h.stats().lastRequest!;
    expect(seen.method).toBe(c.method);
    expect(seen.target).toBe(c.target(id));
    expect(seen.key).toBe(h.labelOf('main'));
    const line = await h.accessLine(reply.requestId);
    expect(line).toMatchObject({
      operation: c.operation,
      caller,
      account: 'main',
      status: c.status,
      upstreamStatus: c.status,
    });
    await c.verify(reply, id);
  });

  it('health is public: no token needed, and the upstream answers it', async () => {
    h.resetUpstream();
    const reply = await h.request('GET', '/api/v1/health');
    expect([reply.status, reply.body.success]).toEqual([200, true]);
    expect(h.stats().lastRequest).toMatchObject({ method: 'GET', target: '/api/v1/health', key: null });
    expect(h.stats().lastRequest!.headers.authorization).toBeUndefined();
  });

  it('the reader (catalog and computes read) reaches its account with the member key', async () => {
    const reply = await h.as('reader', 'GET', '/api/v1/computes');
    expect(reply.status).toBe(200);
    expect(h.stats().lastRequest!.key).toBe(h.labelOf('members'));
  });
});

const DENIALS = OPERATIONS.flatMap((c) =>
  [...(Object.keys(SCOPE_CALLERS) as CallerName[]), 'reader' as const]
    .filter((caller) =>
      caller === 'reader'
        ? !['catalog:read', 'computes:read'].includes(c.scope)
        : SCOPE_CALLERS[caller as ScopeCaller] !== c.scope,
    )
    .map((caller) => [c.operation, caller, c] as const),
);

describe('denied to every caller lacking the scope: 403 naming it, upstream never called', () => {
  it(`covers ${OPERATIONS.length} operations`, () => {
    expect(new Set(DENIALS.map(([operation]) => operation)).size).toBe(11);
  });

  it.each(DENIALS)('%s by %s', async (operation, caller, c) => {
    const reply = await h.withoutUpstream(() =>
      h.as(caller, c.method, c.target('1'), { headers: c.headers, ...(c.body !== undefined ? { body: c.body } : {}) }),
    );
    expect(reply.status).toBe(403);
    expect(reply.body).toMatchObject({ success: false, code: 'FORBIDDEN', requestId: reply.requestId });
    expect(reply.body.message).toContain(`"${c.scope}"`);
    expect(reply.body.message).toContain(operation);
    expect(await h.accessLine(reply.requestId)).toMatchObject({
      operation,
      caller,
      status: 403,
      reason: `missing-scope:${c.scope}`,
    });
  });

  it('a valid token for a subject the policy does not know → 403, upstream never called', async () => {
    const reply = await h.withoutUpstream(() =>
      h.request('GET', '/api/v1/regions', { headers: { authorization: `Bearer ${h.mint('nobody')}` } }),
    );
    expect([reply.status, reply.body.code]).toEqual([403, 'FORBIDDEN']);
  });
});

describe("a token's scope claim narrows the grant, never widens it", () => {
  const ROWS: Array<[string, CallerName, string | string[], string, string, number, string]> = [
    [
      'operator narrowed to catalog:read may list regions',
      'operator',
      'catalog:read',
      'GET',
      '/api/v1/regions',
      200,
      '',
    ],
    [
      'operator narrowed to catalog:read may not list computes',
      'operator',
      'catalog:read',
      'GET',
      '/api/v1/computes',
      403,
      'computes:read',
    ],
    ['operator narrowed to computes:* may list computes', 'operator', 'computes:*', 'GET', '/api/v1/computes', 200, ''],
    [
      'operator narrowed to computes:* may not list images',
      'operator',
      'computes:*',
      'GET',
      '/api/v1/images',
      403,
      'catalog:read',
    ],
    ['an empty scope claim grants nothing', 'operator', '', 'GET', '/api/v1/regions', 403, 'catalog:read'],
    [
      'reader with "*" still may not stop a compute',
      'reader',
      '*',
      'POST',
      '/api/v1/computes/1/stop',
      403,
      'computes:power',
    ],
    [
      'reader naming a scope it lacks gets nothing from it',
      'reader',
      'computes:power',
      'POST',
      '/api/v1/computes/1/stop',
      403,
      'computes:power',
    ],
    [
      'reader naming a scope it lacks loses the rest',
      'reader',
      'computes:power',
      'GET',
      '/api/v1/computes',
      403,
      'computes:read',
    ],
    [
      'svc-computes-read naming computes:read keeps it',
      'svc-computes-read',
      'computes:read',
      'GET',
      '/api/v1/computes',
      200,
      '',
    ],
  ];

  it.each(ROWS)('%s', async (_name, caller, scope, method, target, status, missing) => {
    const call = () => h.as(caller, method, target, { token: { scope } });
    const reply = status === 200 ? await call() : await h.withoutUpstream(call);
    expect(reply.status).toBe(status);
    if (missing) expect(reply.body.message).toContain(`"${missing}"`);
  });

  it('a scope claim given as a JSON array narrows the same way', async () => {
    const token = forgeToken(
      { alg: 'RS256', typ: 'JWT', kid: 'rs' },
      claimsFor('operator', { scope: ['computes:read'] }),
      h.keys.rsa.privateKey,
    );
    expect((await h.request('GET', '/api/v1/computes', { headers: { authorization: `Bearer ${token}` } })).status).toBe(
      200,
    );
    const denied = await h.withoutUpstream(() =>
      h.request('GET', '/api/v1/regions', { headers: { authorization: `Bearer ${token}` } }),
    );
    expect(denied.status).toBe(403);
  });
});
