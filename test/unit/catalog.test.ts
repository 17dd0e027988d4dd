import { CATALOG, OPERATION_IDS, API_BASE_PATH, matchRoute, operationById } from '../../src/catalog/catalog';

describe('catalog', () => {
  it('has exactly the twelve documented operations, each id once', () => {
    expect(CATALOG.map((op) => op.id).sort()).toEqual([...OPERATION_IDS].sort());
  });

  it('serves under the documented base path', () => {
    expect(API_BASE_PATH).toBe('/api/v1');
  });

  it.each([
    ['computes.list', 'read', true],
    ['computes.create', 'write', true],
    ['computes.upsize', 'write', true],
    ['computes.delete', 'write', true],
    ['specifications.list', 'read', true],
    ['health', 'read', false],
  ] as const)('%s is a %s that needs auth: %s', (id, cls, auth) => {
    const op = operationById(id);
    expect(op.class).toBe(cls);
    expect(op.requiresAuth).toBe(auth);
  });

  it('reads the declared query and header parameters from the document', () => {
    expect(operationById('computes.list').queryParameters.map((p) => p.name)).toEqual(['page', 'limit']);
    expect(operationById('computes.create').headerParameters).toEqual([{ name: 'Idempotency-Key', required: true }]);
    expect(operationById('computes.get').queryParameters).toEqual([]);
  });
});

describe('matchRoute', () => {
  it.each([
    ['GET', [], 'no-route'],
    ['GET', ['computes'], 'computes.list'],
    ['POST', ['computes'], 'computes.create'],
    ['GET', ['computes', 'specifications'], 'specifications.list'],
    ['GET', ['computes', '325'], 'computes.get'],
    ['DELETE', ['computes', '325'], 'computes.delete'],
    ['POST', ['computes', '7', 'start'], 'computes.start'],
    ['PATCH', ['computes', '7', 'upsize'], 'computes.upsize'],
    ['GET', ['health'], 'health'],
    ['GET', ['nope'], 'no-route'],
    ['GET', ['computes', '7', 'start'], 'method-not-allowed'],
    ['PUT', ['computes'], 'method-not-allowed'],
    ['GET', ['computes', 'abc'], 'bad-parameter'],
    ['GET', ['computes', '0325'], 'bad-parameter'],
    ['POST', ['computes', 'x', 'explode'], 'no-route'],
  ])('%s /%s → %s', (method, segments, expected) => {
    const result = matchRoute(method, segments);
    expect(result.kind === 'match' ? result.match.operation.id : result.kind).toBe(expected);
  });

  it('captures the path parameter', () => {
    const result = matchRoute('POST', ['computes', '42', 'reboot']);
    expect(result).toMatchObject({ kind: 'match', match: { params: { id: '42' } } });
  });

  it('never lets the specifications literal become an id for other methods', () => {
    expect(matchRoute('DELETE', ['computes', 'specifications']).kind).toBe('method-not-allowed');
  });
});
