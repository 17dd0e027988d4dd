import {
  ADMIN,
  MEMBER,
  OTHER_TEAM,
  OWNER,
  VALID_CREATE,
  createCompute,
  idempotencyKey,
  launch,
  type Harness,
} from './support/harness';

let h: Harness;
beforeAll(async () => {
  h = await launch({ limits: { readPerSecond: 10_000, writePerSecond: 10_000 } });
});
afterAll(() => h.close());

describe('keys and roles', () => {
  it('health answers without a key', async () => {
    expect((await h.call('GET', '/api/v1/health')).status).toBe(200);
  });

  it('a missing, malformed or unknown key is 401 with a WWW-Authenticate challenge', async () => {
    const variants: Record<string, string>[] = [
      {},
      { authorization: 'Basic c2FuZGJveDpvd25lcg==' },
      { authorization: 'Bearer' },
      { authorization: 'Bearer nobody-knows-me' },
    ];
    for (const headers of variants) {
      const r = await h.call('GET', '/api/v1/computes', { headers });
      expect([r.status, r.body.code, r.headers.get('www-authenticate')]).toEqual([401, 'UNAUTHORIZED', 'Bearer']);
    }
  });

  it('the bearer scheme is case-insensitive', async () => {
    expect((await h.call('GET', '/api/v1/regions', { headers: { authorization: `bearer ${OWNER}` } })).status).toBe(
      200,
    );
  });

  it('owner and admin may write; member may read but not write', async () => {
    expect((await createCompute(h, VALID_CREATE, OWNER)).status).toBe(202);
    expect((await createCompute(h, VALID_CREATE, ADMIN)).status).toBe(202);
    expect((await h.call('GET', '/api/v1/computes', { key: MEMBER })).body.meta.total).toBe(2);
    const denied = await createCompute(h, VALID_CREATE, MEMBER);
    expect([denied.status, denied.body.code]).toEqual([403, 'FORBIDDEN']);
    expect((await h.call('GET', '/api/v1/computes', { key: OWNER })).body.meta.total).toBe(2);
  });

  it('a member is refused before validation: even an invalid write is 403', async () => {
    const r = await h.call('POST', '/api/v1/computes', { key: MEMBER, rawBody: 'garbage' });
    expect(r.body.code).toBe('FORBIDDEN');
  });

  it("each team sees only its own computes; another team's id is 404", async () => {
    const mine = await createCompute(h, VALID_CREATE, OWNER);
    const id = mine.body.data.id as string;
    const theirs = await h.call('GET', `/api/v1/computes/${id}`, { key: OTHER_TEAM });
    expect([theirs.status, theirs.body.code]).toEqual([404, 'RESOURCE_NOT_FOUND']);
    expect((await h.call('POST', `/api/v1/computes/${id}/stop`, { key: OTHER_TEAM })).status).toBe(404);
    expect((await h.call('GET', '/api/v1/computes', { key: OTHER_TEAM })).body.meta.total).toBe(0);
  });

  it('custom keys replace the demo keys', async () => {
    const custom = await launch({ keys: [{ key: 'custom-key-123', team: 'ops', role: 'admin' }] });
    try {
      expect((await custom.call('GET', '/api/v1/regions', { key: 'custom-key-123' })).status).toBe(200);
      expect((await custom.call('GET', '/api/v1/regions', { key: OWNER })).status).toBe(401);
    } finally {
      await custom.close();
    }
  });
});

describe('request ids', () => {
  it('honours a well-formed inbound X-Request-Id in the header and the envelope', async () => {
    const r = await h.call('GET', '/api/v1/regions', { key: OWNER, headers: { 'x-request-id': 'trace-abc-123' } });
    expect(r.headers.get('x-request-id')).toBe('trace-abc-123');
    expect(r.body.requestId).toBe('trace-abc-123');
  });

  it('replaces a malformed one, on errors too', async () => {
    const r = await h.call('GET', '/api/v1/computes', { headers: { 'x-request-id': 'bad id with spaces' } });
    expect(r.status).toBe(401);
    expect(r.body.requestId).not.toBe('bad id with spaces');
    expect(r.body.requestId).toBe(r.headers.get('x-request-id'));
  });

  it('is generated when absent, unique per request', async () => {
    const a = await h.call('GET', '/api/v1/health');
    const b = await h.call('GET', '/api/v1/health');
    expect(a.body.requestId).not.toBe(b.body.requestId);
    expect(idempotencyKey()).not.toBe(a.body.requestId);
  });
});
