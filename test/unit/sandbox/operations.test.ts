import { ComputeStore } from '../../../src/sandbox/computes';
import { IdempotencyStore } from '../../../src/sandbox/idempotency';
import { createOperations, type OperationContext } from '../../../src/sandbox/operations';

const KEY = { id: 'a'.repeat(64), label: 'team-a:owner:aaaaaaaa', team: 'team-a', role: 'owner' as const };
const UUID = '3b241101-e2bb-4255-8caf-4136c566a962';
const BODY = { hostName: 'h', image: 'UBUNTU-24.04', region: 'KGL-1', specification: 'S-1C', publicKeys: ['k'] };

function setup() {
  const computes = new ComputeStore({ createDelayMs: 10, transitionDelayMs: 10 });
  const operations = createOperations({ computes, idempotency: new IdempotencyStore() });
  const ctx = (over: Partial<OperationContext> = {}): OperationContext => ({
    key: KEY,
    params: {},
    query: new URLSearchParams(),
    headers: { 'content-type': 'application/json', 'idempotency-key': UUID },
    body: Buffer.from(JSON.stringify(BODY)),
    nowMs: 0,
    requestId: 'req-00000001',
    ...over,
  });
  return { computes, operations, ctx };
}

describe('computes.create', () => {
  it('checks in order: Idempotency-Key, Content-Type, JSON, idempotency record, fields', () => {
    const { operations, ctx } = setup();
    const create = operations['POST /computes'];
    expect(create(ctx({ headers: { 'content-type': 'text/plain' }, body: Buffer.from('x') }))).toMatchObject({
      code: 'INVALID_IDEMPOTENCY_KEY',
    });
    expect(
      create(ctx({ headers: { 'content-type': 'text/plain', 'idempotency-key': UUID }, body: Buffer.from('x') })),
    ).toMatchObject({ code: 'BAD_REQUEST' });
    expect(create(ctx({ body: Buffer.from('x') }))).toMatchObject({ code: 'MALFORMED_JSON' });
    expect(create(ctx({ body: Buffer.from('{}') }))).toMatchObject({ code: 'VALIDATION_ERROR' });
    expect(create(ctx())).toMatchObject({ kind: 'response', status: 202, createdUnder: UUID });
    expect(create(ctx({ body: Buffer.from('{}') }))).toMatchObject({ code: 'UNPROCESSABLE_ENTITY' });
  });

  it('a replay returns the stored body byte for byte, with no createdUnder', () => {
    const { operations, ctx } = setup();
    const first = operations['POST /computes'](ctx());
    const again = operations['POST /computes'](ctx({ nowMs: 5000, requestId: 'req-00000002' }));
    expect(again).toEqual({
      kind: 'response',
      status: 202,
      body: first.kind === 'response' ? first.body : '',
      headers: { 'idempotent-replayed': 'true' },
    });
  });
});

describe('read operations', () => {
  it('list answers the envelope with meta; health needs no key', () => {
    const { operations, ctx } = setup();
    const list = operations['GET /computes'](ctx());
    expect(list.kind === 'response' && JSON.parse(list.body)).toMatchObject({
      success: true,
      data: [],
      meta: { total: 0, page: 1, limit: 20 },
      requestId: 'req-00000001',
    });
    expect(operations['GET /health'](ctx({ key: null }))).toMatchObject({ status: 200 });
  });

  it('an operation that needs a key refuses to run without one (a pipeline bug, not a client error)', () => {
    const { operations, ctx } = setup();
    expect(() => operations['GET /computes'](ctx({ key: null }))).toThrow(/without a key/);
  });
});
