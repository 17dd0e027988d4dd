/**
 * acceptRequestBody: what a request body may be, for every caller (issue #11 §1). Tables per
 * refusal; the property test of what is forwarded is forwarded-body.property.test.ts.
 */
import { CATALOG, operationById, type OperationId } from '../../../src/catalog/catalog';
import { acceptRequestBody } from '../../../src/gateway/body/request-body';
import { GATEWAY_ERRORS } from '../../../src/gateway/errors';
import { VALID_CREATE } from '../../helpers/valid-create';

const JSON_TYPE = ['application/json'];
const accept = (id: OperationId, text: string | Buffer, contentTypes: readonly string[] = JSON_TYPE) =>
  acceptRequestBody(operationById(id), contentTypes, Buffer.isBuffer(text) ? text : Buffer.from(text, 'utf8'));
const refusal = (result: ReturnType<typeof accept>) =>
  result.ok
    ? 'accepted'
    : [GATEWAY_ERRORS[result.rejection.code].status, result.rejection.code, result.rejection.reason];

describe('acceptRequestBody', () => {
  it('the declared properties come from the vendored document, as spelled there', () => {
    expect(operationById('computes.create').bodyProperties).toEqual([
      'hostName',
      'image',
      'publicKeys',
      'region',
      'specification',
      'tags',
      'withPublicIp',
    ]);
    expect(operationById('computes.upsize').bodyProperties).toEqual(['newSpecification']);
    for (const op of CATALOG) expect(op.bodyProperties.length > 0).toBe(op.hasRequestBody);
  });

  it('accepts a declared body, and no body at all (the upstream answers that)', () => {
    expect(accept('computes.create', JSON.stringify({ ...VALID_CREATE, tags: ['a'], withPublicIp: false }))).toEqual({
      ok: true,
      value: { value: { ...VALID_CREATE, tags: ['a'], withPublicIp: false } },
    });
    expect(accept('computes.upsize', '{"newSpecification":"S-2C-4G"}', ['application/json; charset=UTF-8']).ok).toBe(
      true,
    );
    expect(acceptRequestBody(operationById('computes.create'), [], undefined)).toEqual({ ok: true, value: undefined });
    expect(acceptRequestBody(operationById('computes.create'), [], Buffer.alloc(0))).toEqual({
      ok: true,
      value: undefined,
    });
  });

  it.each(CATALOG.filter((op) => !op.hasRequestBody).map((op) => [op.id] as const))(
    '%s: a non-empty body → 400 body-not-expected (an empty one is no body)',
    (id) => {
      expect(refusal(accept(id, '{}'))).toEqual([400, 'BAD_REQUEST', 'body-not-expected']);
      expect(refusal(accept(id, ' ', []))).toEqual([400, 'BAD_REQUEST', 'body-not-expected']);
      expect(accept(id, Buffer.alloc(0), ['text/plain'])).toEqual({ ok: true, value: undefined });
    },
  );

  it.each([
    [['application/json; charset=utf-7']],
    [['application/json; charset=utf-16le']],
    [['text/plain']],
    [[]],
    [['application/json; foo=bar']],
  ])('Content-Type %j → 415 UNSUPPORTED_MEDIA_TYPE', (contentTypes) => {
    expect(refusal(accept('computes.upsize', '{"newSpecification":"S-2C-4G"}', contentTypes))).toEqual([
      415,
      'UNSUPPORTED_MEDIA_TYPE',
      'body-media-type',
    ]);
  });

  it('two Content-Type lines → 400, even when both are fine', () => {
    expect(
      refusal(accept('computes.upsize', '{"newSpecification":"S-2C-4G"}', ['application/json', 'application/json'])),
    ).toEqual([400, 'BAD_REQUEST', 'body-duplicate-content-type']);
  });

  it.each([
    ['computes.create', { ...VALID_CREATE, Region: 'EVIL-9' }, 'body-case-colliding-key', '"region" and "Region"'],
    ['computes.create', { ...VALID_CREATE, WithPublicIp: true }, 'body-undeclared-property', '"WithPublicIp"'],
    ['computes.upsize', { NewSpecification: 'S-64C' }, 'body-undeclared-property', '"NewSpecification"'],
    [
      'computes.upsize',
      { newSpecification: 'S-2C-4G', newSpecificatioN: 'S-64C' },
      'body-case-colliding-key',
      '"newSpecificatioN"',
    ],
    [
      'computes.create',
      { ...VALID_CREATE, extra: 1, more: 2 },
      'body-undeclared-property',
      'properties "extra", "more"',
    ],
    ['computes.create', { ...VALID_CREATE, __proto__x: 1 }, 'body-undeclared-property', '"__proto__x"'],
  ] as const)('%s %j → 400 VALIDATION_ERROR %s, naming %s', (id, body, reason, named) => {
    const result = accept(id, JSON.stringify(body));
    expect(refusal(result)).toEqual([400, 'VALIDATION_ERROR', reason]);
    if (!result.ok) expect(result.rejection.publicMessage).toContain(named);
  });

  it('an own "__proto__" member is an undeclared property like any other', () => {
    const result = accept('computes.upsize', '{"newSpecification":"S-2C-4G","__proto__":{"region":"x"}}');
    expect(refusal(result)).toEqual([400, 'VALIDATION_ERROR', 'body-undeclared-property']);
  });

  it('the message lists what the operation declares', () => {
    const result = accept('computes.upsize', '{"size":"S-64C"}');
    expect(result.ok ? '' : result.rejection.publicMessage).toBe(
      'The request body has property "size" that computes.upsize does not declare (declared: newSpecification).',
    );
  });

  it.each([
    ['{"hostName":1e400}', 'body-inexact-number'],
    ['{"tags":[1208925819614629174706176]}', 'body-inexact-number'],
    ['{"hostName":-0}', 'body-inexact-number'],
  ])('numbers that would be forwarded as other values: %s → 400', (text, reason) => {
    expect(refusal(accept('computes.create', text))).toEqual([400, 'VALIDATION_ERROR', reason]);
  });

  it.each([
    ['[]', 'VALIDATION_ERROR', 'body-not-an-object'],
    ['"S-2C-4G"', 'VALIDATION_ERROR', 'body-not-an-object'],
    ['null', 'VALIDATION_ERROR', 'body-not-an-object'],
    ['{"newSpecification":"a","newSpecification":"b"}', 'MALFORMED_JSON', 'body-duplicate-key'],
    ['{"newSpecification":', 'MALFORMED_JSON', 'body-syntax'],
    [Buffer.from([0x7b, 0xff, 0x7d]), 'MALFORMED_JSON', 'body-invalid-utf8'],
  ])('%j → 400 %s', (text, code, reason) => {
    expect(refusal(accept('computes.upsize', text))).toEqual([400, code, reason]);
  });
});
