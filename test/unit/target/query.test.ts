import { operationById, type Operation } from '../../../src/catalog/catalog';
import { parseQuery, validateQuery } from '../../../src/gateway/target/query';

describe('parseQuery', () => {
  it.each([
    ['', []],
    ['page=1', [{ name: 'page', value: '1' }]],
    ['page', [{ name: 'page', value: undefined }]],
    ['page=', [{ name: 'page', value: '' }]],
    [
      'p%61ge=%31&limit=2',
      [
        { name: 'page', value: '1' },
        { name: 'limit', value: '2' },
      ],
    ],
    ['a.b~c_d-e=f', [{ name: 'a.b~c_d-e', value: 'f' }]],
  ])('%j → %j', (raw, pairs) => {
    expect(parseQuery(raw)).toEqual({ ok: true, pairs });
  });

  it.each([
    ['=1', 'empty-query-name'],
    ['&', 'empty-query-name'],
    ['a=1=2', 'forbidden-query-character'],
    ['a+b=1', 'forbidden-query-character'],
    ['a=%2e', 'encoded-dot'],
    ['a=%2F', 'encoded-separator'],
    ['a=%25', 'double-encoding'],
    ['a=%3D', 'encoded-reserved'],
    ['a=%0d%0a', 'forbidden-byte'],
    ['a=%g1', 'malformed-percent-encoding'],
  ])('%j → %s', (raw, reason) => {
    expect(parseQuery(raw)).toEqual({ ok: false, reason });
  });
});

describe('validateQuery', () => {
  const list = operationById('computes.list');
  const withRequired: Operation = {
    ...list,
    queryParameters: [
      { name: 'region', type: 'string', required: true },
      { name: 'page', type: 'integer', required: false },
    ],
  };

  it('orders the result as the catalog declares it', () => {
    expect(
      validateQuery(list, [
        { name: 'limit', value: '5' },
        { name: 'page', value: '3' },
      ]),
    ).toEqual({
      ok: true,
      query: [
        ['page', '3'],
        ['limit', '5'],
      ],
    });
  });

  it.each([
    [[], { ok: false, reason: 'missing-query-parameter', parameter: 'region' }],
    [[{ name: 'page', value: '1' }], { ok: false, reason: 'missing-query-parameter', parameter: 'region' }],
    [[{ name: 'region', value: '' }], { ok: false, reason: 'invalid-query-value', parameter: 'region' }],
    [[{ name: 'region', value: 'x'.repeat(257) }], { ok: false, reason: 'invalid-query-value', parameter: 'region' }],
    [[{ name: 'region', value: 'nbo-1' }], { ok: true, query: [['region', 'nbo-1']] }],
  ])('required and string parameters: %j', (pairs, expected) => {
    expect(validateQuery(withRequired, pairs)).toEqual(expected);
  });
});
