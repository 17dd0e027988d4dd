import { runCheckConfig } from '../../../src/cli/check-config';
import {
  explainRequest,
  leastPrivilegeFacts,
  ownershipEffect,
  runExplain,
  type Explanation,
} from '../../../src/cli/explain';
import { describeCreateConstraints, formatExplanation } from '../../../src/cli/explain-format';
import type { CliIo } from '../../../src/cli/io';
import { describeAccountQuotas, describeLeastPrivilege, summarizePolicy } from '../../../src/cli/policy-summary';
import { operationById, OPERATION_IDS } from '../../../src/catalog/catalog';
import { LP_POLICY_TEXT, lpFixturePolicy, POLICY_PATH } from './policy-fixture';
import { AUTOSCALER_CREATE_CONSTRAINTS } from '../../helpers/autoscaler-example';

/** Issue #7 in the CLI: what explain and check-config say about constraints, ownership, quotas and shadow. */

const policy = lpFixturePolicy();

function granted(caller: string, line: string): Extract<Explanation, { outcome: 'granted' }> {
  const [method, target] = line.split(' ') as [string, string];
  const explanation = explainRequest(policy, caller, method, target);
  if (explanation.outcome !== 'granted') throw new Error(`expected granted, got ${explanation.outcome}`);
  return explanation;
}

function text(caller: string, line: string): string {
  const [method, target] = line.split(' ') as [string, string];
  return formatExplanation(
    { caller, method, target, policy: POLICY_PATH, upstream: 'https://api.example/api/v1' },
    explainRequest(policy, caller, method, target),
  );
}

describe('explain: least privilege facts', () => {
  it('a create: its constraints, the owner it records with its tag, and every quota', () => {
    expect(granted('autoscaler', 'POST /api/v1/computes').leastPrivilege).toEqual({
      constraints: {
        create: AUTOSCALER_CREATE_CONSTRAINTS,
      },
      ownership: { effect: 'records-owner', foreign: 'forbidden', foreignStatus: 403, ownerTag: 'owner:autoscaler' },
      quotas: {
        effect: 'counts',
        caller: { liveComputes: 5, createsPerHour: 10 },
        account: { accountId: 'main', liveComputes: 50 },
        counts: 'enforced at request time',
      },
      shadow: false,
    });
  });

  it('an upsize: only the upsize constraints, and ownership of the compute', () => {
    expect(granted('autoscaler', 'PATCH /api/v1/computes/3/upsize').leastPrivilege).toEqual({
      constraints: { upsize: { specifications: ['S-1C-2G'] } },
      ownership: { effect: 'own-computes-only', foreign: 'forbidden', foreignStatus: 403 },
      shadow: false,
    });
  });

  it.each<[string, string, object]>([
    [
      'hider',
      'GET /api/v1/computes/3',
      { ownership: { effect: 'own-computes-only', foreign: 'not-found', foreignStatus: 404 }, shadow: true },
    ],
    ['hider', 'POST /api/v1/computes/3/reboot', { ownership: { effect: 'own-computes-only', foreignStatus: 404 } }],
    ['hider', 'GET /api/v1/computes', { ownership: { effect: 'lists-own-computes' } }],
    // no owner tag without ownerTag
    [
      'hider',
      'POST /api/v1/computes',
      {
        ownership: { effect: 'records-owner', foreign: 'not-found', foreignStatus: 404 },
        quotas: { caller: { createsPerHour: 3 } },
      },
    ],
    // a delete gives a live place back: live quotas only
    [
      'autoscaler',
      'DELETE /api/v1/computes/3',
      { quotas: { effect: 'frees', caller: { liveComputes: 5 }, account: { accountId: 'main', liveComputes: 50 } } },
    ],
    // the account's quota binds a caller without settings of its own
    [
      'plain',
      'POST /api/v1/computes',
      {
        quotas: {
          effect: 'counts',
          account: { accountId: 'main', liveComputes: 50 },
          counts: 'enforced at request time',
        },
        shadow: false,
      },
    ],
    [
      'plain',
      'DELETE /api/v1/computes/3',
      { quotas: { effect: 'frees', account: { accountId: 'main', liveComputes: 50 } } },
    ],
  ])('%s %s', (caller, line, expected) => {
    expect(granted(caller, line).leastPrivilege).toMatchObject(expected);
  });

  it.each<[string, string]>([
    ['plain', 'GET /api/v1/regions'],
    ['plain', 'GET /api/v1/computes/3'],
    ['spare-user', 'GET /api/v1/computes/1'],
    ['spare-user', 'POST /api/v1/computes/1/start'],
    ['spare-user', 'POST /api/v1/computes'],
    ['spare-user', 'DELETE /api/v1/computes/1'],
  ])('%s %s: nothing beyond the scope applies', (caller, line) => {
    const { leastPrivilege } = granted(caller, line);
    expect(Object.keys(leastPrivilege).filter((key) => key !== 'shadow')).toEqual([]);
  });

  it('says nothing of least privilege for a denied request', () => {
    const explanation = explainRequest(policy, 'spare-user', 'GET', '/api/v1/regions');
    expect(explanation.outcome).toBe('missing-scope');
    expect(explanation).not.toHaveProperty('leastPrivilege');
  });

  it('never carries an account key', () => {
    expect(JSON.stringify(granted('autoscaler', 'POST /api/v1/computes'))).not.toContain('unresolved-secret');
  });
});

describe('ownershipEffect', () => {
  it.each(OPERATION_IDS.map((id) => [id, operationById(id).pathTemplate] as const))('%s (%s)', (id, pathTemplate) => {
    const expected =
      id === 'computes.create'
        ? 'records-owner'
        : id === 'computes.list'
          ? 'lists-own-computes'
          : pathTemplate.includes('{id}')
            ? 'own-computes-only'
            : undefined;
    expect(ownershipEffect(operationById(id))).toBe(expected);
  });

  it("every operation on one compute is its owner's only", () => {
    const own = OPERATION_IDS.filter((id) => ownershipEffect(operationById(id)) === 'own-computes-only');
    expect(own).toEqual([
      'computes.get',
      'computes.delete',
      'computes.start',
      'computes.stop',
      'computes.reboot',
      'computes.upsize',
    ]);
  });
});

describe('leastPrivilegeFacts', () => {
  it('carries only shadow for a caller without settings', () => {
    expect(
      leastPrivilegeFacts(policy.callers.plain!, policy.accounts.spare!, operationById('computes.create')),
    ).toEqual({ shadow: false });
  });
});

describe('explain: text', () => {
  it("lists a create's constraints one per line, then ownership and quotas", () => {
    const out = text('autoscaler', 'POST /api/v1/computes');
    expect(out).toContain(
      [
        '  granted by   computes:create',
        '  constraints  region: one of KGL-1',
        '               image: one of UBUNTU-24.04',
        '               specification: one of S-1C, S-1C-1G',
        '               tags: must include autoscaler',
        '               tags: each one of autoscaler, pool-* (* matches any characters), or a required tag',
        '               hostName: must match ^(?:^as-[a-z0-9-]{1,20}$)$',
        '               withPublicIp: may not be true',
        "  ownership    the new compute is recorded as autoscaler's, tagged owner:autoscaler",
        '  quotas       a create counts against these (the counts are enforced at request time)',
        '               caller: at most 5 live computes, 10 creates per rolling hour',
        '               account main: at most 50 live computes',
        '  account      main',
        '',
      ].join('\n'),
    );
  });

  it.each<[string, string, string[]]>([
    [
      'autoscaler',
      'PATCH /api/v1/computes/3/upsize',
      [
        'constraints  newSpecification: one of S-1C-2G',
        'ownership    only computes autoscaler created through the gateway; any other → 403\n',
      ],
    ],
    [
      'hider',
      'GET /api/v1/computes/3',
      [
        'ownership    only computes hider created through the gateway; any other → 404 (as if it did not exist)',
        'shadow       on: constraint, ownership and quota denials are logged and counted, not enforced',
      ],
    ],
    ['hider', 'GET /api/v1/computes', ['ownership    lists only computes hider created through the gateway']],
    [
      'hider',
      'POST /api/v1/computes',
      ["ownership    the new compute is recorded as hider's\n", 'caller: at most 3 creates per rolling hour'],
    ],
    [
      'autoscaler',
      'DELETE /api/v1/computes/9',
      [
        "quotas       a delete through the gateway gives the compute's place back (the counts are enforced at request time)",
        'caller: at most 5 live computes\n',
      ],
    ],
  ])('%s %s', (caller, line, fragments) => {
    const out = text(caller, line);
    for (const fragment of fragments) expect(out).toContain(fragment);
  });

  it.each<[string, string]>([
    ['plain', 'GET /api/v1/regions'],
    ['spare-user', 'GET /api/v1/computes'],
  ])('%s %s: no least-privilege line', (caller, line) => {
    const out = text(caller, line);
    for (const label of ['constraints', 'ownership', 'quotas', 'shadow'])
      expect(out).not.toContain(`  ${label.padEnd(12)} `);
  });

  it('describes each create constraint alone', () => {
    expect(describeCreateConstraints({ allowedTags: ['web'] })).toEqual(['tags: each one of web']);
    expect(describeCreateConstraints({})).toEqual([]);
  });
});

describe('runExplain with least privilege', () => {
  function memoryIo(files: Record<string, string>) {
    const out = { stdout: '', stderr: '' };
    const io: CliIo = {
      readFile: (file) => {
        if (!Object.hasOwn(files, file)) throw Object.assign(new Error('no such file'), { code: 'ENOENT' });
        return files[file]!;
      },
      readEnv: () => {
        throw new Error('explain reads no environment variable');
      },
      stdout: (t) => void (out.stdout += t),
      stderr: (t) => void (out.stderr += t),
    };
    return { io, out };
  }

  it('prints the facts in --json, and exits 0: the scope allows it', () => {
    const { io, out } = memoryIo({ [POLICY_PATH]: LP_POLICY_TEXT });
    expect(runExplain(['autoscaler', 'POST /api/v1/computes', '--config', POLICY_PATH, '--json'], io)).toBe(0);
    expect(out.stderr).toBe('');
    const json = JSON.parse(out.stdout) as { leastPrivilege: unknown };
    expect(json.leastPrivilege).toEqual(
      JSON.parse(JSON.stringify(granted('autoscaler', 'POST /api/v1/computes').leastPrivilege)),
    );
    expect(json.leastPrivilege).toMatchObject({ quotas: { counts: 'enforced at request time' } });
  });

  it('refuses a policy with a least-privilege mistake, with its line: exit 2', () => {
    const { io, out } = memoryIo({ [POLICY_PATH]: LP_POLICY_TEXT.replace('liveComputes: 5\n', 'liveComputes: 0\n') });
    expect(runExplain(['autoscaler', 'POST /api/v1/computes', '--config', POLICY_PATH], io)).toBe(2);
    expect(out.stderr).toContain(`${POLICY_PATH}:32: callers.autoscaler.quotas.liveComputes: must be at least 1`);
  });
});

describe('check-config summary', () => {
  const summary = summarizePolicy(policy, { secretsResolved: false });

  it.each([
    '  main        read 30/s, write 5/s × safety 0.95 = 28.5 reads/s, 4.75 writes/s; quotas(live 50)\n',
    '  spare       read 30/s, write 5/s × safety 0.95 = 28.5 reads/s, 4.75 writes/s\n',
    '  autoscaler  account main, weight 1, maxWaitMs 1000; scopes computes:read, computes:create, computes:power, computes:resize, computes:delete\n' +
      '              least privilege: create(regions, images, specifications, tags.required, tags.allowed, hostName, withPublicIp), upsize(specifications), ownership(owner tag), quotas(live 5, 10/h)\n',
    '  hider       account main, weight 1, maxWaitMs 1000; scopes computes:read, computes:create, computes:power, computes:resize, computes:delete\n' +
      '              least privilege: ownership(foreign 404), quotas(3/h), shadow\n',
    // A caller without settings gets no second line.
    '  plain       account main, weight 1, maxWaitMs 1000; scopes computes:read, computes:create, computes:power, computes:resize, computes:delete, catalog:read\n  spare-user',
    '              least privilege: upsize(specifications)\nscopes (6)\n',
  ])('has %j', (fragment) => {
    expect(summary).toContain(fragment);
  });

  it('check-config prints it for a valid policy: exit 0', () => {
    let stdout = '';
    const io: CliIo = {
      readFile: () => LP_POLICY_TEXT,
      readEnv: () => undefined,
      stdout: (t) => void (stdout += t),
      stderr: () => undefined,
    };
    expect(runCheckConfig([POLICY_PATH, '--no-secrets'], io)).toBe(0);
    expect(stdout).toContain('least privilege: ownership(foreign 404), quotas(3/h), shadow');
  });

  it.each<[Parameters<typeof describeLeastPrivilege>[0], string | undefined]>([
    [{ shadow: false }, undefined],
    [{ shadow: true }, 'shadow'],
    [{ constraints: { create: { regions: ['a'], images: ['b'] } }, shadow: false }, 'create(regions, images)'],
    [{ constraints: { create: {} }, shadow: false }, undefined],
    [{ ownership: { foreign: 'forbidden', ownerTag: false }, shadow: false }, 'ownership'],
    [{ ownership: { foreign: 'not-found', ownerTag: true }, shadow: false }, 'ownership(foreign 404, owner tag)'],
    [{ quotas: { liveComputes: 5, createsPerHour: 10 }, shadow: true }, 'quotas(live 5, 10/h), shadow'],
    [{ quotas: {}, shadow: false }, undefined],
  ])('describeLeastPrivilege(%j) → %j', (lp, expected) => {
    expect(describeLeastPrivilege(lp)).toBe(expected);
  });

  it('describes account quotas', () => {
    expect(describeAccountQuotas(undefined)).toBeUndefined();
    expect(describeAccountQuotas({})).toBeUndefined();
    expect(describeAccountQuotas({ liveComputes: 50 })).toBe('quotas(live 50)');
  });
});
