/**
 * Contract tests: all twelve operations, success and error, over real HTTP. The harness checks
 * every response against the OpenAPI document (lax and tightened schemas, documented codes); this
 * suite makes sure each operation and each error path is actually exercised.
 */
import { OPERATION_IDS, operationById } from '../../../src/catalog/catalog';
import { contractProblems, documentedCodes, inlineRefs, tighten } from './support/contract';
import {
  ADMIN,
  MEMBER,
  OWNER,
  VALID_CREATE,
  createCompute,
  idempotencyKey,
  launch,
  type Harness,
} from './support/harness';

let h: Harness;

beforeAll(async () => {
  h = await launch({
    limits: { readPerSecond: 10_000, writePerSecond: 10_000 },
    createDelayMs: 1000,
    transitionDelayMs: 1000,
  });
});
afterAll(() => h.close());

const ID_OPERATIONS = [
  ['GET', ''],
  ['DELETE', ''],
  ['POST', '/start'],
  ['POST', '/stop'],
  ['POST', '/reboot'],
  ['PATCH', '/upsize'],
] as const;

const AUTHED = [
  ['GET', '/api/v1/computes'],
  ['POST', '/api/v1/computes'],
  ['GET', '/api/v1/computes/specifications'],
  ['GET', '/api/v1/images'],
  ['GET', '/api/v1/regions'],
  ...ID_OPERATIONS.map(([method, suffix]) => [method, `/api/v1/computes/1${suffix}`] as const),
] as const;

const WRITES = AUTHED.filter(([method]) => method !== 'GET');

describe('successes', () => {
  it('health needs no key', async () => {
    const r = await h.call('GET', '/api/v1/health');
    expect(r.status).toBe(200);
    expect(r.body.data).toEqual({ service: 'public-api', status: 'ok' });
  });

  it.each(['/api/v1/regions', '/api/v1/images', '/api/v1/computes/specifications', '/api/v1/computes'])(
    'GET %s answers 200',
    async (path) => {
      const r = await h.call('GET', path, { key: OWNER });
      expect(r.status).toBe(200);
      expect(Array.isArray(r.body.data)).toBe(true);
    },
  );

  it('walks one compute through every write: create, get, stop, upsize, start, reboot, delete', async () => {
    const created = await createCompute(h, { ...VALID_CREATE, tags: ['web'], withPublicIp: true });
    expect(created.status).toBe(202);
    const id = created.body.data.id as string;
    expect((await h.call('GET', `/api/v1/computes/${id}`, { key: OWNER })).status).toBe(200);
    h.clock.advance(1000);
    expect((await h.call('POST', `/api/v1/computes/${id}/stop`, { key: OWNER })).status).toBe(202);
    h.clock.advance(1000);
    const upsized = await h.call('PATCH', `/api/v1/computes/${id}/upsize`, {
      key: ADMIN,
      json: { newSpecification: 'S-2C-4G' },
    });
    expect(upsized.status).toBe(202);
    expect((await h.call('POST', `/api/v1/computes/${id}/start`, { key: OWNER })).status).toBe(202);
    h.clock.advance(1000);
    expect((await h.call('POST', `/api/v1/computes/${id}/reboot`, { key: OWNER })).status).toBe(202);
    h.clock.advance(1000);
    expect((await h.call('DELETE', `/api/v1/computes/${id}`, { key: OWNER })).status).toBe(202);
  });
});

describe('errors', () => {
  it.each(AUTHED)('%s %s without a key → 401 UNAUTHORIZED', async (method, path) => {
    const r = await h.call(method, path);
    expect([r.status, r.body.code]).toEqual([401, 'UNAUTHORIZED']);
  });

  it.each(AUTHED)('%s %s with an unknown key → 401 UNAUTHORIZED', async (method, path) => {
    const r = await h.call(method, path, { key: 'not-a-sandbox-key' });
    expect([r.status, r.body.code]).toEqual([401, 'UNAUTHORIZED']);
  });

  it.each(WRITES)('%s %s with a member key → 403 FORBIDDEN', async (method, path) => {
    const r = await h.call(method, path, { key: MEMBER, json: {} });
    expect([r.status, r.body.code]).toEqual([403, 'FORBIDDEN']);
  });

  it.each(ID_OPERATIONS)('%s /computes/{unknown id}%s → 404 RESOURCE_NOT_FOUND', async (method, suffix) => {
    const r = await h.call(method, `/api/v1/computes/987654${suffix}`, {
      key: OWNER,
      ...(method === 'GET' ? {} : { json: { newSpecification: 'S-16C-32G' } }),
    });
    expect([r.status, r.body.code]).toEqual([404, 'RESOURCE_NOT_FOUND']);
  });

  it.each([
    ['no Idempotency-Key', 'INVALID_IDEMPOTENCY_KEY', {}, VALID_CREATE],
    [
      'an Idempotency-Key that is not a UUID v4',
      'INVALID_IDEMPOTENCY_KEY',
      { 'idempotency-key': '123e4567-e89b-12d3-a456-426614174000' },
      VALID_CREATE,
    ],
    ['unparseable JSON', 'MALFORMED_JSON', { 'idempotency-key': 'fresh' }, '{"hostName":'],
    ['a JSON array', 'MALFORMED_JSON', { 'idempotency-key': 'fresh' }, '[1,2]'],
    ['a missing field', 'VALIDATION_ERROR', { 'idempotency-key': 'fresh' }, { ...VALID_CREATE, hostName: undefined }],
    ['an unknown image', 'VALIDATION_ERROR', { 'idempotency-key': 'fresh' }, { ...VALID_CREATE, image: 'DEBIAN-12' }],
    ['empty publicKeys', 'VALIDATION_ERROR', { 'idempotency-key': 'fresh' }, { ...VALID_CREATE, publicKeys: [] }],
  ] as const)('create with %s → 400 %s', async (_what, code, headers, body) => {
    const withKey = Object.fromEntries(
      Object.entries(headers).map(([k, v]) => [k, v === 'fresh' ? idempotencyKey() : v]),
    );
    const payload =
      typeof body === 'string'
        ? { rawBody: body, headers: { ...withKey, 'content-type': 'application/json' } }
        : { json: body, headers: withKey };
    const r = await h.call('POST', '/api/v1/computes', { key: OWNER, ...payload });
    expect([r.status, r.body.code]).toEqual([400, code]);
  });

  it('create with a non-JSON Content-Type → 400 BAD_REQUEST', async () => {
    const r = await h.call('POST', '/api/v1/computes', {
      key: OWNER,
      rawBody: JSON.stringify(VALID_CREATE),
      headers: { 'content-type': 'text/plain', 'idempotency-key': idempotencyKey() },
    });
    expect([r.status, r.body.code]).toEqual([400, 'BAD_REQUEST']);
  });

  it('upsize errors: VALIDATION_ERROR, MALFORMED_JSON, COMPUTE_RUNNING, CONFLICT', async () => {
    const id = (await createCompute(h)).body.data.id as string;
    const upsize = (body: unknown, raw?: string) =>
      h.call(
        'PATCH',
        `/api/v1/computes/${id}/upsize`,
        raw === undefined
          ? { key: OWNER, json: body }
          : { key: OWNER, rawBody: raw, headers: { 'content-type': 'application/json' } },
      );
    expect((await upsize({})).body.code).toBe('VALIDATION_ERROR');
    expect((await upsize({ newSpecification: 'S-99C' })).body.code).toBe('VALIDATION_ERROR');
    expect((await upsize(undefined, 'nope')).body.code).toBe('MALFORMED_JSON');
    expect((await upsize({ newSpecification: 'S-2C-4G' })).body.code).toBe('COMPUTE_RUNNING');
    h.clock.advance(1000);
    await h.call('DELETE', `/api/v1/computes/${id}`, { key: OWNER });
    const gone = await upsize({ newSpecification: 'S-2C-4G' });
    expect([gone.status, gone.body.code]).toEqual([409, 'CONFLICT']);
  });

  it('a power action in the wrong state → 409 CONFLICT', async () => {
    const id = (await createCompute(h)).body.data.id as string;
    const r = await h.call('POST', `/api/v1/computes/${id}/start`, { key: OWNER });
    expect([r.status, r.body.code]).toEqual([409, 'CONFLICT']);
  });

  it('an idempotency key reused with another body → 422 UNPROCESSABLE_ENTITY', async () => {
    const key = idempotencyKey();
    await h.call('POST', '/api/v1/computes', { key: OWNER, json: VALID_CREATE, headers: { 'idempotency-key': key } });
    const r = await h.call('POST', '/api/v1/computes', {
      key: OWNER,
      json: { ...VALID_CREATE, hostName: 'other' },
      headers: { 'idempotency-key': key },
    });
    expect([r.status, r.body.code]).toEqual([422, 'UNPROCESSABLE_ENTITY']);
  });

  it('pagination errors → 400 VALIDATION_ERROR', async () => {
    const r = await h.call('GET', '/api/v1/computes?limit=101', { key: OWNER });
    expect([r.status, r.body.code]).toEqual([400, 'VALIDATION_ERROR']);
  });

  it('routes: unknown path → 404 NOT_FOUND, wrong method → 405, non-numeric id → 404 RESOURCE_NOT_FOUND', async () => {
    expect((await h.call('GET', '/api/v1/volumes', { key: OWNER })).body.code).toBe('NOT_FOUND');
    const wrong = await h.call('PUT', '/api/v1/computes', { key: OWNER });
    expect([wrong.status, wrong.body.code, wrong.headers.get('allow')]).toEqual([
      405,
      'METHOD_NOT_ALLOWED',
      'GET, POST',
    ]);
    expect((await h.call('GET', '/api/v1/computes/abc', { key: OWNER })).body.code).toBe('RESOURCE_NOT_FOUND');
  });
});

describe('errors that need their own sandbox', () => {
  it('429 TOO_MANY_REQUESTS, 500 INTERNAL_SERVER_ERROR and 413 follow the contract too', async () => {
    const tight = await launch({ profile: 'current', faults: { errorRate: 1 }, bodyLimitBytes: 1024 });
    try {
      const failed = await tight.call('GET', '/api/v1/regions', { key: OWNER });
      expect([failed.status, failed.body.code]).toEqual([500, 'INTERNAL_SERVER_ERROR']);
      await tight.call('GET', '/api/v1/regions', { key: OWNER });
      const limited = await tight.call('GET', '/api/v1/regions', { key: OWNER });
      expect([limited.status, limited.body.code]).toEqual([429, 'TOO_MANY_REQUESTS']);
      const big = await tight.call('POST', '/api/v1/computes', { key: OWNER, json: { padding: 'x'.repeat(2000) } });
      expect([big.status, big.body.code]).toEqual([413, 'PAYLOAD_TOO_LARGE']);
      const health = await tight.call('GET', '/api/v1/health');
      expect([health.status, health.body.code]).toEqual([500, 'INTERNAL_SERVER_ERROR']);
    } finally {
      await tight.close();
    }
  });
});

describe('coverage', () => {
  it('exercised the documented success status of all twelve operations', () => {
    const expected = OPERATION_IDS.map((id) => `${id} ${operationById(id).class === 'write' ? 202 : 200}`);
    expect(expected.filter((entry) => !h.seen.has(entry))).toEqual([]);
  });

  it('exercised 401 on every operation that needs a key, 403 on every write and 404 on every id route', () => {
    const missing = OPERATION_IDS.filter((id) => operationById(id).requiresAuth).filter(
      (id) => !h.seen.has(`${id} 401 UNAUTHORIZED`),
    );
    const forbidden = OPERATION_IDS.filter((id) => operationById(id).class === 'write').filter(
      (id) => !h.seen.has(`${id} 403 FORBIDDEN`),
    );
    const notFound = OPERATION_IDS.filter((id) => operationById(id).pathTemplate.includes('{id}')).filter(
      (id) => !h.seen.has(`${id} 404 RESOURCE_NOT_FOUND`),
    );
    expect({ missing, forbidden, notFound }).toEqual({ missing: [], forbidden: [], notFound: [] });
  });
});

describe('the contract checker itself', () => {
  const ok = {
    success: true,
    message: 'm',
    data: { service: 'public-api', status: 'ok' },
    requestId: 'req-12345678',
    timestamp: '2026-04-20T10:00:00Z',
  };
  const check = (body: unknown, status = 200, path = '/api/v1/health', method = 'GET') =>
    contractProblems(method, path, {
      status,
      body,
      requestIdHeader: 'req-12345678',
      contentType: 'application/json',
      replayed: false,
    });

  it('accepts a conforming response', () => {
    expect(check(ok)).toEqual([]);
  });

  it('catches a missing documented field, an undocumented one, a wrong type and a mismatched request id', () => {
    expect(check({ ...ok, data: { service: 'public-api' } }).join()).toMatch(/tightened/);
    expect(check({ ...ok, extra: 1 }).join()).toMatch(/tightened/);
    expect(check({ ...ok, data: { service: 1, status: 'ok' } }).join()).toMatch(/schema health 200/);
    expect(check({ ...ok, requestId: 'other-12345678' }).join()).toMatch(/requestId/);
  });

  it('catches an undocumented code and an undocumented success status', () => {
    const error = {
      success: false,
      code: 'NOPE',
      message: 'm',
      requestId: 'req-12345678',
      timestamp: '2026-04-20T10:00:00Z',
    };
    expect(check(error, 401, '/api/v1/computes').join()).toMatch(/code NOPE not documented/);
    expect(check(ok, 201, '/api/v1/computes', 'POST').join()).toMatch(/undocumented success status/);
  });

  it("reads the document's code lists and tightens nested objects", () => {
    expect(documentedCodes('Possible codes: NOT_FOUND, RESOURCE_NOT_FOUND')).toEqual([
      'NOT_FOUND',
      'RESOURCE_NOT_FOUND',
    ]);
    expect(documentedCodes('Internal server error')).toBeUndefined();
    const tightened = tighten(inlineRefs({ $ref: '#/components/schemas/PaginationMeta' })) as {
      required: string[];
      additionalProperties: boolean;
    };
    expect(tightened).toMatchObject({ required: ['total', 'page', 'limit'], additionalProperties: false });
  });
});
