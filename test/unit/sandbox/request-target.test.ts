import { parseTarget } from '../../../src/sandbox/request-target';

describe('parseTarget', () => {
  it.each([
    ['/api/v1/computes', ['computes']],
    ['/api/v1/computes/42/start?x=1', ['computes', '42', 'start']],
    ['/api/v1', []],
    ['/api/v1/', ['']],
    ['/api/v1/computes/%34%32', ['computes', '42']],
    ['/api/v1/computes/../health', ['computes', '..', 'health']],
    ['/api/v1/a%2Fb', ['a/b']],
  ])('%s → api %j', (raw, segments) => {
    expect(parseTarget(raw, '/api/v1')).toMatchObject({ kind: 'api', segments });
  });

  it('keeps the query', () => {
    const target = parseTarget('/api/v1/computes?page=2&limit=5', '/api/v1');
    expect(target.kind === 'api' && [target.query.get('page'), target.query.get('limit')]).toEqual(['2', '5']);
  });

  it.each([
    ['/api/v1/%E0%A4%A', 'undecodable'],
    ['/api/v10/computes', 'other'],
    ['/api', 'other'],
    ['http://host/api/v1/computes', 'other'],
    ['*', 'other'],
    ['/_sandbox/stats?phaseMs=1', 'referee'],
    ['/_sandboxes', 'other'],
  ])('%s → %s', (raw, kind) => {
    expect(parseTarget(raw, '/api/v1').kind).toBe(kind);
  });
});
