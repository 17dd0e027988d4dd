/**
 * The request path's least-privilege steps over the in-memory ledger: what is denied, what shadow
 * mode lets through (and counts), what is forwarded, and how a create's place is settled.
 */
import { operationById, type OperationId } from '../../../src/catalog/catalog';
import { createdComputeId, createLeastPrivilegeGuard } from '../../../src/gateway/least-privilege/guard';
import { MemoryComputeLedger } from '../../../src/gateway/least-privilege/ledger';
import type { ComputeLedger, LeastPrivilegePolicy } from '../../../src/gateway/least-privilege/types';
import { createLogger } from '../../../src/gateway/observability/logger';
import { createMetrics } from '../../../src/gateway/observability/metrics';
import { listPaging } from '../../../src/gateway/least-privilege/own-computes-list';
import { VALID_CREATE } from '../../helpers/valid-create';
import { callerAccess } from '../../helpers/caller-access';

const LP: LeastPrivilegePolicy = {
  constraints: { create: { regions: ['KGL-1'] } },
  ownership: { foreign: 'forbidden', ownerTag: true },
  quotas: { liveComputes: 1 },
  shadow: false,
};

function setup(leastPrivilege: LeastPrivilegePolicy = LP, ledger: ComputeLedger = new MemoryComputeLedger({})) {
  const lines: string[] = [];
  const metrics = createMetrics();
  const guard = createLeastPrivilegeGuard({
    ledger,
    metrics,
    holdMs: 60_000,
    logger: createLogger({ destination: { write: (l: string) => void lines.push(l) } }),
  });
  const caller = callerAccess(leastPrivilege);
  const denials = async () =>
    (await metrics.registry.getSingleMetricAsString('strettch_gateway_least_privilege_denials_total'))
      .split('\n')
      .filter((l) => !l.startsWith('#'));
  return { guard, caller, ledger, lines, denials };
}

const op = (id: OperationId) => operationById(id);
const body = (value: unknown) => Buffer.from(JSON.stringify(value));
/** A request body as step 6 hands it over: parsed, an object of declared properties. */
const parsed = (value: Record<string, unknown>) => ({ value });

describe('checkBody', () => {
  it('forwards the checked value written back, with the owner tag', () => {
    const { guard, caller } = setup();
    const checked = guard.checkBody(
      caller,
      op('computes.create'),
      parsed({ hostName: 'a', region: 'KGL-1', tags: ['x'] }),
    );
    expect(checked.ok && checked.value!.toString()).toBe('{"hostName":"a","region":"KGL-1","tags":["x","owner:svc"]}');
  });

  it('writes non-ASCII characters and + as escapes, so no charset reads the bytes differently', () => {
    const { guard, caller } = setup({ shadow: false });
    const checked = guard.checkBody(caller, op('computes.upsize'), parsed({ newSpecification: 'S-2C+4G é' }));
    expect(checked.ok && checked.value!.toString('latin1')).toBe('{"newSpecification":"S-2C\\u002b4G \\u00e9"}');
  });

  it('a broken constraint → 403 naming it; in shadow mode it passes, logged and counted', async () => {
    const enforced = setup();
    const refused = enforced.guard.checkBody(
      enforced.caller,
      op('computes.create'),
      parsed({ ...VALID_CREATE, region: 'NBO-1' }),
    );
    expect(refused.ok ? 'ok' : [refused.rejection.code, refused.rejection.publicMessage]).toEqual([
      'FORBIDDEN',
      expect.stringContaining('create.regions'),
    ]);
    expect(await enforced.denials()).toContain(
      'strettch_gateway_least_privilege_denials_total{caller="svc",check="constraint",mode="enforced"} 1',
    );

    const shadow = setup({ ...LP, shadow: true });
    expect(
      shadow.guard.checkBody(shadow.caller, op('computes.create'), parsed({ ...VALID_CREATE, region: 'NBO-1' })).ok,
    ).toBe(true);
    expect(await shadow.denials()).toContain(
      'strettch_gateway_least_privilege_denials_total{caller="svc",check="constraint",mode="shadow"} 1',
    );
    expect(shadow.lines.join('')).toContain('shadow mode: this request would have been denied');
  });

  it('a caller-set owner: tag is refused even in shadow mode', () => {
    const { guard, caller } = setup({ shadow: true });
    const checked = guard.checkBody(caller, op('computes.create'), parsed({ ...VALID_CREATE, tags: ['Owner:other'] }));
    expect(checked.ok ? 'ok' : checked.rejection.reason).toBe('constraint:tags.reserved');
  });

  it('bodies of other operations are only written back; no body on a constrained create is refused', () => {
    const { guard, caller } = setup();
    expect(guard.checkBody(caller, op('computes.stop'), undefined)).toEqual({ ok: true, value: undefined });
    expect(guard.checkBody(caller, op('computes.stop'), parsed({ region: 'NBO-1' }))).toEqual({
      ok: true,
      value: Buffer.from('{"region":"NBO-1"}'),
    });
    expect(guard.checkBody(caller, op('computes.create'), undefined).ok).toBe(false);
    const unconstrained = setup({ shadow: false });
    expect(unconstrained.guard.checkBody(unconstrained.caller, op('computes.create'), undefined)).toEqual({
      ok: true,
      value: undefined,
    });
  });
});

describe('checkOwnership', () => {
  it('own computes pass; others → 403 or the provider’s 404; unrecorded ones are not the caller’s', async () => {
    const { guard, caller, ledger } = setup();
    await ledger.reserveCreate({
      accountId: 'acct',
      callerId: 'svc',
      reservationId: 'r1',
      enforce: true,
      holdMs: 1000,
    });
    await ledger.commitCreate('acct', 'svc', 'r1', '41');
    await ledger.reserveCreate({
      accountId: 'acct',
      callerId: 'other',
      reservationId: 'r2',
      enforce: true,
      holdMs: 1000,
    });
    await ledger.commitCreate('acct', 'other', 'r2', '42');
    expect((await guard.checkOwnership(caller, op('computes.stop'), '41')).ok).toBe(true);
    const foreign = await guard.checkOwnership(caller, op('computes.stop'), '42');
    expect(foreign.ok ? 'ok' : foreign.rejection.code).toBe('FORBIDDEN');
    const hidden = await guard.checkOwnership(
      { ...caller, leastPrivilege: { ...LP, ownership: { foreign: 'not-found', ownerTag: false } } },
      op('computes.get'),
      '43',
    );
    expect(hidden.ok ? 'ok' : [hidden.rejection.code, hidden.rejection.publicMessage]).toEqual([
      'RESOURCE_NOT_FOUND',
      'Compute 43 was not found.',
    ]);
  });

  it('a ledger that fails → 503, never a guess', async () => {
    const broken = new MemoryComputeLedger({});
    broken.ownerOf = () => Promise.reject(new Error('down'));
    const { guard, caller } = setup(LP, broken);
    const checked = await guard.checkOwnership(caller, op('computes.delete'), '41');
    expect(checked.ok ? 'ok' : checked.rejection.code).toBe('SERVICE_UNAVAILABLE');
  });
});

describe('the ledger unreachable', () => {
  const down = () => {
    const ledger = new MemoryComputeLedger({});
    ledger.reserveCreate = () => Promise.reject(new Error('down'));
    ledger.ownerOf = () => Promise.reject(new Error('down'));
    return ledger;
  };

  it.each<[string, LeastPrivilegePolicy, string]>([
    ['no ownership, no quotas: the create goes on unrecorded', { shadow: false }, 'ok'],
    ['shadow mode: never denied', { ...LP, shadow: true }, 'ok'],
    ['enforced quotas: 503', { quotas: { liveComputes: 3 }, shadow: false }, 'SERVICE_UNAVAILABLE'],
    [
      'enforced ownership: 503',
      { ownership: { foreign: 'forbidden', ownerTag: false }, shadow: false },
      'SERVICE_UNAVAILABLE',
    ],
  ])('create, %s', async (_name, leastPrivilege, expected) => {
    const { guard, caller } = setup(leastPrivilege, down());
    const reserved = await guard.reserveCreate(caller, 'k1');
    expect(reserved.ok ? 'ok' : reserved.rejection.code).toBe(expected);
  });

  it('create under an account quota: 503 even for a caller without its own', async () => {
    const { guard, caller } = setup({ shadow: false }, down());
    const reserved = await guard.reserveCreate({ ...caller, accountQuotas: { liveComputes: 5 } }, 'k1');
    expect(reserved.ok ? 'ok' : reserved.rejection.code).toBe('SERVICE_UNAVAILABLE');
  });

  it('ownership in shadow mode: the request goes on', async () => {
    const { guard, caller } = setup({ ...LP, shadow: true }, down());
    expect((await guard.checkOwnership(caller, op('computes.stop'), '41')).ok).toBe(true);
  });
});

describe('reserveCreate and settleCreate', () => {
  const accepted = (id: string) => ({
    kind: 'answered' as const,
    status: 202,
    body: body({ success: true, data: { id } }),
  });

  it('a 2xx makes the compute live and owned; a refusal frees the place; a lost answer keeps it held', async () => {
    const { guard, caller, ledger } = setup();
    const first = await guard.reserveCreate(caller, 'k1');
    if (!first.ok || !first.value) throw new Error('the first create should get a place');
    await guard.settleCreate(first.value, { kind: 'answered', status: 400, body: body({}) });
    const second = await guard.reserveCreate(caller, 'k2');
    if (!second.ok || !second.value) throw new Error('the refused create should have freed its place');
    await guard.settleCreate(second.value, accepted('77'));
    expect(await ledger.ownerOf('acct', '77')).toBe('svc');
    const third = await guard.reserveCreate(caller, 'k3');
    expect(third.ok ? 'ok' : [third.rejection.code, third.rejection.publicMessage]).toEqual([
      'QUOTA_EXCEEDED',
      'Quota caller.liveComputes (1) reached.',
    ]);

    await guard.recordDeleted(caller, '77');
    const fourth = await guard.reserveCreate(caller, 'k4');
    if (!fourth.ok || !fourth.value) throw new Error('the delete should have freed a place');
    await guard.settleCreate(fourth.value, { kind: 'lost' });
    expect((await guard.reserveCreate(caller, 'k5')).ok).toBe(false);
  });

  it('a create never sent (refused by the schedule, caller gone) frees its place', async () => {
    const { guard, caller } = setup();
    const first = await guard.reserveCreate(caller, 'k1');
    if (!first.ok || !first.value) throw new Error('the first create should get a place');
    await guard.settleCreate(first.value, { kind: 'not-sent' });
    expect((await guard.reserveCreate(caller, 'k2')).ok).toBe(true);
  });

  it('a caller with no quota or ownership holds no place (no ledger call before the send); its created compute is still recorded', async () => {
    const ledger = new MemoryComputeLedger({});
    const calls: string[] = [];
    for (const name of ['reserveCreate', 'releaseCreate', 'commitCreate'] as const) {
      const original = ledger[name].bind(ledger) as (...args: unknown[]) => Promise<unknown>;
      (ledger as unknown as Record<string, unknown>)[name] = (...args: unknown[]) => {
        calls.push(name);
        return original(...args);
      };
    }
    const { guard, caller } = setup({ shadow: false }, ledger);
    const refused = await guard.reserveCreate(caller, 'k1');
    if (!refused.ok || !refused.value) throw new Error('an unrestricted create goes on');
    await guard.settleCreate(refused.value, { kind: 'not-sent' });
    await guard.settleCreate(refused.value, { kind: 'answered', status: 429, body: body({}) });
    expect(calls).toEqual([]);
    const made = await guard.reserveCreate(caller, 'k2');
    if (!made.ok || !made.value) throw new Error('an unrestricted create goes on');
    await guard.settleCreate(made.value, accepted('91'));
    expect(calls).toEqual(['commitCreate']);
    expect(await ledger.ownerOf('acct', '91')).toBe('svc');
  });

  it('shadow mode: over the quota the create goes on, counted', async () => {
    const { guard, caller, denials } = setup({ quotas: { liveComputes: 1 }, shadow: true });
    await guard.reserveCreate(caller, 'k1');
    expect((await guard.reserveCreate(caller, 'k2')).ok).toBe(true);
    expect((await denials()).join('\n')).toContain('check="quota",mode="shadow"} 1');
  });
});

describe('helpers', () => {
  it.each([
    ['{"data":{"id":"325"}}', '325'],
    ['{"data":{"id":325}}', undefined],
    ['{"data":{"id":"../1"}}', undefined],
    ['{"data":[]}', undefined],
    ['not json', undefined],
  ])('createdComputeId(%s) = %s', (text, expected) => {
    expect(createdComputeId(Buffer.from(text))).toBe(expected);
  });

  it('listPaging: provider defaults, and the provider’s 100 cap', () => {
    expect(listPaging([])).toEqual({ page: 1, limit: 20 });
    expect(
      listPaging([
        ['page', '3'],
        ['limit', '5'],
      ]),
    ).toEqual({ page: 3, limit: 5 });
    expect(listPaging([['limit', '101']])).toEqual({ error: 'limit: must be at most 100' });
  });
});
