import { OWNER, createCompute, launch, type Harness } from './support/harness';

let h: Harness;
beforeAll(async () => {
  h = await launch({ limits: { readPerSecond: 10_000, writePerSecond: 10_000 } });
  for (let i = 0; i < 25; i++) await createCompute(h);
});
afterAll(() => h.close());

const list = (query: string) => h.call('GET', `/api/v1/computes${query}`, { key: OWNER });

describe('GET /computes pagination', () => {
  it('defaults to page 1, limit 20', async () => {
    const r = await list('');
    expect(r.body.meta).toEqual({ total: 25, page: 1, limit: 20 });
    expect(r.body.data).toHaveLength(20);
    expect(r.body.data[0].id).toBe('1');
  });

  it('the last page holds the rest, in id order', async () => {
    const r = await list('?page=2');
    expect(r.body.meta).toEqual({ total: 25, page: 2, limit: 20 });
    expect(r.body.data.map((c: { id: string }) => c.id)).toEqual(['21', '22', '23', '24', '25']);
  });

  it('a page past the end is empty, not an error', async () => {
    const r = await list('?page=9&limit=10');
    expect([r.status, r.body.data, r.body.meta]).toEqual([200, [], { total: 25, page: 9, limit: 10 }]);
  });

  it.each(['?limit=1', '?limit=100', '?page=3&limit=12'])('accepts %s', async (query) => {
    expect((await list(query)).status).toBe(200);
  });

  it.each([
    '?limit=101',
    '?limit=0',
    '?page=0',
    '?page=-1',
    '?page=1.5',
    '?page=abc',
    '?limit=',
    '?page=%2B1',
    '?page=1&page=2',
    '?page=99999999999999999999',
  ])('refuses %s with 400 VALIDATION_ERROR', async (query) => {
    const r = await list(query);
    expect([r.status, r.body.code]).toEqual([400, 'VALIDATION_ERROR']);
  });

  it('ignores unknown query parameters', async () => {
    expect((await list('?sort=name')).status).toBe(200);
  });
});

describe('GET /computes/specifications', () => {
  it('carries meta and honours page/limit the same way', async () => {
    const all = await h.call('GET', '/api/v1/computes/specifications', { key: OWNER });
    expect(all.body.meta).toEqual({ total: 7, page: 1, limit: 20 });
    const paged = await h.call('GET', '/api/v1/computes/specifications?limit=2&page=4', { key: OWNER });
    expect(paged.body.data.map((s: { specification: string }) => s.specification)).toEqual(['S-16C-32G']);
    expect((await h.call('GET', '/api/v1/computes/specifications?limit=500', { key: OWNER })).status).toBe(400);
  });
});
