/**
 * The rebuild plan (pure) and the provider's list read page by page over a scripted reader: what a
 * compute's tags and state say, what the ledger held, and the changes in between.
 */
import {
  planLedgerRebuild,
  readOwnerTag,
  type ProviderCompute,
  type RebuildInput,
} from '../../../src/gateway/least-privilege/ledger-rebuild';
import { MemoryComputeLedger } from '../../../src/gateway/least-privilege/ledger';
import { readProviderComputes, type UpstreamAnswer } from '../../../src/gateway/least-privilege/provider-computes';

const CALLERS = ['autoscaler', 'ci'];
const compute = (id: string, tags: string[] = [], state = 'RUNNING'): ProviderCompute => ({ id, state, tags });
const input = (overrides: Partial<RebuildInput>): RebuildInput => ({
  accountCallers: CALLERS,
  computes: [],
  live: new Map(),
  owners: new Map(),
  ...overrides,
});

describe('readOwnerTag', () => {
  const callers = new Set(CALLERS);
  it.each([
    [['web', 'owner:ci'], { kind: 'owner', callerId: 'ci' }],
    [['web'], { kind: 'none' }],
    [[], { kind: 'none' }],
    [['owner:ci', 'owner:autoscaler'], { kind: 'ambiguous', tags: ['owner:ci', 'owner:autoscaler'] }],
    [['Owner:ci'], { kind: 'ambiguous', tags: ['Owner:ci'] }],
    [['owner:ghost'], { kind: 'not-on-account', callerId: 'ghost' }],
    [['owner:'], { kind: 'not-on-account', callerId: '' }],
  ])('%j → %j', (tags, reading) => {
    expect(readOwnerTag(tags, callers)).toEqual(reading);
  });
});

describe('planLedgerRebuild', () => {
  it('an empty ledger (Redis lost): tagged computes restored to their callers, untagged ones reported', () => {
    const plan = planLedgerRebuild(
      input({
        computes: [compute('1', ['owner:autoscaler']), compute('2', ['owner:ci']), compute('3', ['web'])],
      }),
    );
    expect(plan.repairs).toEqual([
      { kind: 'owner', computeId: '1', expected: undefined, owner: 'autoscaler' },
      { kind: 'live', computeId: '1', expected: undefined, caller: 'autoscaler' },
      { kind: 'owner', computeId: '2', expected: undefined, owner: 'ci' },
      { kind: 'live', computeId: '2', expected: undefined, caller: 'ci' },
    ]);
    expect(plan.callers).toEqual([
      { callerId: 'autoscaler', liveBefore: 0, liveAfter: 1, computeIds: ['1'] },
      { callerId: 'ci', liveBefore: 0, liveAfter: 1, computeIds: ['2'] },
    ]);
    expect(plan.unowned).toEqual(['3']);
    expect(plan.computes).toEqual({ total: 3, live: 3, gone: 0 });
  });

  it('a ledger that already agrees: no changes', () => {
    const plan = planLedgerRebuild(
      input({
        computes: [compute('1', ['owner:ci']), compute('2')],
        live: new Map([
          ['1', 'ci'],
          ['2', 'autoscaler'],
        ]),
        owners: new Map([
          ['1', 'ci'],
          ['2', 'autoscaler'],
        ]),
      }),
    );
    expect(plan.repairs).toEqual([]);
    // An untagged compute the ledger counts (a caller with ownerTag: false) keeps its owner and place.
    expect(plan.unowned).toEqual([]);
    expect(plan.callers.find((c) => c.callerId === 'autoscaler')).toMatchObject({ liveBefore: 1, liveAfter: 1 });
  });

  it('deleted outside the gateway: gone from the list, or destroying/destroyed, stops counting; the owner stays', () => {
    const plan = planLedgerRebuild(
      input({
        computes: [compute('2', ['owner:ci'], 'DESTROYING'), compute('3', [], 'DESTROYED')],
        live: new Map([
          ['1', 'ci'],
          ['2', 'ci'],
          ['3', 'autoscaler'],
        ]),
        owners: new Map([
          ['2', 'ci'],
          ['3', 'autoscaler'],
        ]),
      }),
    );
    expect(plan.repairs).toEqual([
      { kind: 'live', computeId: '2', expected: 'ci', caller: undefined },
      { kind: 'live', computeId: '3', expected: 'autoscaler', caller: undefined },
      { kind: 'live', computeId: '1', expected: 'ci', caller: undefined },
    ]);
    expect(plan.callers.map((c) => [c.callerId, c.liveBefore, c.liveAfter])).toEqual([
      ['autoscaler', 1, 0],
      ['ci', 2, 0],
    ]);
    expect(plan.computes).toEqual({ total: 2, live: 0, gone: 2 });
  });

  it('a tag that contradicts the ledger wins and is reported as an owner change', () => {
    const plan = planLedgerRebuild(
      input({
        computes: [compute('1', ['owner:ci'])],
        live: new Map([['1', 'autoscaler']]),
        owners: new Map([['1', 'autoscaler']]),
      }),
    );
    expect(plan.ownerChanges).toEqual([{ computeId: '1', from: 'autoscaler', to: 'ci' }]);
    expect(plan.repairs).toEqual([
      { kind: 'owner', computeId: '1', expected: 'autoscaler', owner: 'ci' },
      { kind: 'live', computeId: '1', expected: 'autoscaler', caller: 'ci' },
    ]);
  });

  it('owner tags the gateway never writes, or naming no caller of this account, restore nothing', () => {
    const plan = planLedgerRebuild(
      input({
        computes: [
          compute('1', ['owner:ci', 'owner:autoscaler']),
          compute('2', ['OWNER:ci']),
          compute('3', ['owner:ghost']),
        ],
      }),
    );
    expect(plan.repairs).toEqual([]);
    expect(plan.ambiguous.map((a) => a.computeId)).toEqual(['1', '2']);
    expect(plan.notOnAccount).toEqual([{ computeId: '3', callerId: 'ghost' }]);
    expect(plan.unowned).toEqual([]);
  });

  it('a caller the ledger counts that is no longer on the account is still shown', () => {
    const plan = planLedgerRebuild(input({ computes: [compute('1')], live: new Map([['1', 'retired']]) }));
    expect(plan.callers.map((c) => c.callerId)).toEqual(['autoscaler', 'ci', 'retired']);
    expect(plan.repairs).toEqual([]);
  });

  it('applied to a ledger, the plan leaves exactly the counts it announced; a second plan finds nothing to do', async () => {
    const ledger = new MemoryComputeLedger();
    await ledger.reserveCreate({ accountId: 'a', callerId: 'ci', reservationId: 'r', enforce: true, holdMs: 1000 });
    await ledger.commitCreate('a', 'ci', 'r', '9');
    const computes = [compute('1', ['owner:ci']), compute('2', ['owner:autoscaler']), compute('5')];
    const plan = async () =>
      planLedgerRebuild(
        input({
          computes,
          live: await ledger.liveComputes('a'),
          owners: new Map(
            (await ledger.ownersOf('a', ['1', '2', '5'])).flatMap((o, i) => (o ? [[computes[i]!.id, o]] : [])),
          ),
        }),
      );
    const first = await plan();
    expect(await ledger.applyRepairs('a', first.repairs)).toEqual({ applied: first.repairs.length, stale: 0 });
    for (const caller of first.callers)
      expect((await ledger.counts('a', caller.callerId)).callerLive).toBe(caller.liveAfter);
    expect((await plan()).repairs).toEqual([]);
  });
});

describe('readProviderComputes', () => {
  const page = (items: unknown[], total: number, status = 200): UpstreamAnswer => ({
    kind: 'answered',
    status,
    body: Buffer.from(JSON.stringify({ success: true, data: items, meta: { total, page: 1, limit: 100 } })),
  });
  const many = (from: number, n: number) => Array.from({ length: n }, (_, i) => compute(String(from + i), ['x']));

  it('reads page after page until the list ends, asking for 100 at a time', async () => {
    const paths: string[] = [];
    const answers = [page(many(1, 100), 230), page(many(101, 100), 230), page(many(201, 30), 230)];
    const read = (path: string) => {
      paths.push(path);
      return Promise.resolve(answers.shift()!);
    };
    const listed = await readProviderComputes(read);
    expect(listed).toMatchObject({ ok: true, pages: 3 });
    expect(listed.ok && listed.computes.map((c) => c.id)).toEqual(many(1, 230).map((c) => c.id));
    expect(paths).toEqual(['/computes?page=1&limit=100', '/computes?page=2&limit=100', '/computes?page=3&limit=100']);
  });

  it('an exact multiple of 100 stops at the total, without reading an empty page', async () => {
    const answers = [page(many(1, 100), 100)];
    expect(await readProviderComputes(() => Promise.resolve(answers.shift()!))).toMatchObject({ ok: true, pages: 1 });
  });

  it.each([
    [page([], 0, 401), 'page 1: the provider answered 401'],
    [
      { kind: 'answered', status: 429, body: Buffer.from('{"code":"TOO_MANY_REQUESTS","message":"x"}') },
      'page 1: the provider answered 429 TOO_MANY_REQUESTS',
    ],
    [{ kind: 'failed', reason: 'upstream ECONNREFUSED' }, 'page 1: upstream ECONNREFUSED'],
    [{ kind: 'answered', status: 200, body: Buffer.from('<html>') }, "page 1: the provider's list is unreadable"],
    [page([{ id: 7, state: 'RUNNING', tags: [] }], 1), 'page 1, item 0: a compute without a string id, state and tags'],
    [
      page([{ id: '7', state: 'RUNNING', tags: [1] }], 1),
      'page 1, item 0: a compute without a string id, state and tags',
    ],
  ] as [UpstreamAnswer, string][])('a bad page is a problem, never a partial plan: %j', async (answer, problem) => {
    expect(await readProviderComputes(() => Promise.resolve(answer))).toEqual({ ok: false, problem });
  });

  it('more than 10,000 computes is refused rather than read for ever', async () => {
    let n = 0;
    const listed = await readProviderComputes(() => Promise.resolve(page(many((n += 100), 100), 1_000_000)));
    expect(listed).toEqual({ ok: false, problem: expect.stringContaining('more than 10000 computes') });
  });
});
