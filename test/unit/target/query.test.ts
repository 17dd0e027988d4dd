import { operationById, type Operation, type QueryParameter } from '../../../src/catalog/catalog';
import { parseQuery, validateQuery } from '../../../src/gateway/target/query';
import { checkQueryValue, describeRequirement, INT32_MAX, INT32_MIN } from '../../../src/gateway/target/query-value';

describe('parseQuery', () => {
  it.each([
    ['', []],
    ['page=1', [{ name: 'page', value: '1' }]],
    ['page', [{ name: 'page', value: undefined }]],
    ['page=', [{ name: 'page', value: '' }]],
    [
      'page=1&limit=2',
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
    ['p%61ge=1', 'encoded-unreserved'],
    ['page=%31', 'encoded-unreserved'],
    ['a=%7e', 'encoded-unreserved'],
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

describe('the bounds come from the vendored OpenAPI document', () => {
  it('computes.list declares page ≥ 1 and 1 ≤ limit ≤ 100', () => {
    expect(operationById('computes.list').queryParameters).toEqual([
      { name: 'page', type: 'integer', required: false, minimum: 1 },
      { name: 'limit', type: 'integer', required: false, minimum: 1, maximum: 100 },
    ]);
  });

  const list = operationById('computes.list');
  it.each([
    [[{ name: 'limit', value: '100' }], { ok: true, query: [['limit', '100']] }],
    [
      [{ name: 'limit', value: '101' }],
      {
        ok: false,
        reason: 'query-value-out-of-bounds',
        parameter: 'limit',
        requirement: 'a whole number from 1 to 100',
      },
    ],
    [
      [{ name: 'page', value: '0' }],
      {
        ok: false,
        reason: 'query-value-out-of-bounds',
        parameter: 'page',
        requirement: `a whole number from 1 to ${INT32_MAX}`,
      },
    ],
    [[{ name: 'page', value: '1e2' }], { ok: false, reason: 'invalid-query-value', parameter: 'page' }],
  ])('computes.list %j', (pairs, expected) => {
    expect(validateQuery(list, pairs)).toEqual(expected);
  });
});

describe('checkQueryValue', () => {
  const unbounded: QueryParameter = { name: 'offset', type: 'integer', required: false };
  const region: QueryParameter = { name: 'region', type: 'string', required: false, enum: ['nbo-1', 'lon-1'] };

  it.each([
    [unbounded, '0', { ok: true }],
    [unbounded, String(INT32_MIN), { ok: true }],
    [unbounded, String(INT32_MAX), { ok: true }],
    [unbounded, String(INT32_MAX + 1), { ok: false, reason: 'query-value-out-of-bounds' }],
    [unbounded, String(INT32_MIN - 1), { ok: false, reason: 'query-value-out-of-bounds' }],
    // Exact beyond 2^53, where Number would round.
    [{ ...unbounded, maximum: 2 ** 53 }, '9007199254740993', { ok: false, reason: 'query-value-out-of-bounds' }],
    [unbounded, '-0', { ok: false, reason: 'invalid-query-value' }],
    [unbounded, '007', { ok: false, reason: 'invalid-query-value' }],
    [unbounded, undefined, { ok: false, reason: 'invalid-query-value' }],
    [region, 'nbo-1', { ok: true }],
    [region, 'par-1', { ok: false, reason: 'query-value-out-of-bounds' }],
    [region, 'NBO-1', { ok: false, reason: 'query-value-out-of-bounds' }],
    [region, '', { ok: false, reason: 'invalid-query-value' }],
  ])('%j %j → %j', (parameter, value, expected) => {
    expect(checkQueryValue(parameter, value)).toMatchObject(expected);
  });

  it.each([
    [unbounded, `a whole number from ${INT32_MIN} to ${INT32_MAX}`],
    [{ ...unbounded, minimum: 1, maximum: 100 }, 'a whole number from 1 to 100'],
    [region, 'one of nbo-1, lon-1'],
  ])('describes %j as %s', (parameter, text) => {
    expect(describeRequirement(parameter)).toBe(text);
  });
});
