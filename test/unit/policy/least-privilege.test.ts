import { parsePolicy, validatePolicyText, type ConfigProblem, type Policy } from '../../../src/gateway/policy';
import { memoryIo } from './fixture-io';
import {
  AUTOSCALER_CREATE_CONSTRAINTS,
  AUTOSCALER_LEAST_PRIVILEGE_YAML,
  indentYaml,
} from '../../helpers/autoscaler-example';

/**
 * Issue #7 in the policy: `constraints`, `ownership`, `quotas` and `shadow` per caller, `quotas`
 * per account. One case per rule, each with the exact path it must report (and a line).
 */

const SOURCE = '/etc/gw/gateway.yaml';
const io = () => memoryIo({ STRETTCH_KEY: 'sk-main', HS_SECRET: 'hs-secret-0123456789abcdef0123456789abcdef' });

/** A policy whose caller `autoscaler` (or `name`) has the given YAML lines, indented under it. */
function policyText(callerLines: string, options: { name?: string; accountLines?: string } = {}): string {
  return [
    'accounts:',
    '  main:',
    '    apiKey: { env: STRETTCH_KEY }',
    ...(options.accountLines ? [indentYaml(options.accountLines, 4)] : []),
    'auth:',
    '  issuer: https://auth.internal',
    '  audience: strettch-gateway',
    '  keys: [ { kid: hs, algorithms: [HS256], secret: { env: HS_SECRET } } ]',
    'callers:',
    `  ${options.name ?? 'autoscaler'}:`,
    '    account: main',
    '    scopes: [computes:read, computes:create, computes:power, computes:resize]',
    ...(callerLines.trim() ? [indentYaml(callerLines, 4)] : []),
    '',
  ].join('\n');
}

function parse(text: string) {
  return parsePolicy(text, SOURCE, io());
}

function mustParse(text: string): Policy {
  const result = parse(text);
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.policy;
}

function problems(text: string): ConfigProblem[] {
  const result = parse(text);
  if (result.ok) throw new Error('expected the policy to be rejected');
  return result.errors;
}

/** The brief's example, verbatim. */
const FULL = AUTOSCALER_LEAST_PRIVILEGE_YAML;

describe('least privilege in the policy: resolution', () => {
  it('resolves the full example into the caller and the account', () => {
    const policy = mustParse(policyText(FULL, { accountLines: 'quotas: { liveComputes: 50 }' }));
    expect(policy.callers.autoscaler!.leastPrivilege).toEqual({
      constraints: {
        create: AUTOSCALER_CREATE_CONSTRAINTS,
        upsize: { specifications: ['S-1C-2G'] },
      },
      ownership: { foreign: 'forbidden', ownerTag: true },
      quotas: { liveComputes: 5, createsPerHour: 10 },
      shadow: false,
    });
    expect(policy.accounts.main!.quotas).toEqual({ liveComputes: 50 });
  });

  it('leaves everything out, but shadow false, when nothing is configured', () => {
    const policy = mustParse(policyText(''));
    expect(policy.callers.autoscaler!.leastPrivilege).toEqual({ shadow: false });
    expect(policy.accounts.main).not.toHaveProperty('quotas');
  });

  it.each([
    ['constraints: {}', { shadow: false }],
    ['constraints: { create: {}, upsize: {} }', { shadow: false }],
    ['constraints: { create: { tags: {} } }', { shadow: false }],
    ['quotas: {}', { shadow: false }],
    ['ownership: {}', { ownership: { foreign: 'forbidden', ownerTag: false }, shadow: false }],
    ['ownership: { foreign: not-found }', { ownership: { foreign: 'not-found', ownerTag: false }, shadow: false }],
    ['quotas: { createsPerHour: 1 }', { quotas: { createsPerHour: 1 }, shadow: false }],
    ['quotas: { liveComputes: 1000000 }', { quotas: { liveComputes: 1000000 }, shadow: false }],
    ['shadow: true', { shadow: true }],
    [
      'constraints: { create: { tags: { required: [a] } } }',
      { constraints: { create: { requiredTags: ['a'] } }, shadow: false },
    ],
    [
      'constraints: { create: { tags: { allowed: ["*"] } } }',
      { constraints: { create: { allowedTags: ['*'] } }, shadow: false },
    ],
    [
      'constraints: { create: { hostName: "a|b" } }',
      { constraints: { create: { hostNamePattern: '^(?:a|b)$' } }, shadow: false },
    ],
    [
      'constraints: { create: { withPublicIp: false } }',
      { constraints: { create: { withPublicIp: false } }, shadow: false },
    ],
    [
      'constraints: { upsize: { specifications: [S-2C] } }',
      { constraints: { upsize: { specifications: ['S-2C'] } }, shadow: false },
    ],
    // Required tags matched by a glob of the allowed list; values are 1–64 printable characters.
    [
      'constraints: { create: { tags: { required: [pool-a], allowed: ["pool-*"] } } }',
      { constraints: { create: { requiredTags: ['pool-a'], allowedTags: ['pool-*'] } }, shadow: false },
    ],
    [
      `constraints: { create: { regions: ["${'r'.repeat(64)}", "a.b/c:d"] } }`,
      { constraints: { create: { regions: ['r'.repeat(64), 'a.b/c:d'] } }, shadow: false },
    ],
  ])('%s', (lines, expected) => {
    expect(mustParse(policyText(lines)).callers.autoscaler!.leastPrivilege).toEqual(expected);
  });

  it('keeps the resolved settings deeply frozen', () => {
    const lp = mustParse(policyText(FULL)).callers.autoscaler!.leastPrivilege;
    expect(Object.isFrozen(lp)).toBe(true);
    expect(Object.isFrozen(lp.constraints!.create!.regions)).toBe(true);
    expect(Object.isFrozen(lp.ownership)).toBe(true);
    expect(Object.isFrozen(lp.quotas)).toBe(true);
  });

  it('keeps the account key out of any serialisation when the account has quotas', () => {
    const policy = mustParse(policyText('', { accountLines: 'quotas: { liveComputes: 50 }' }));
    expect(policy.accounts.main!.apiKey).toBe('sk-main');
    expect(JSON.stringify(policy)).not.toContain('sk-main');
    expect(Object.isFrozen(policy.accounts.main!.quotas)).toBe(true);
  });

  it('accepts an owner tag of exactly 64 characters: a caller name of 58', () => {
    const name = 'c'.repeat(58);
    expect(
      mustParse(policyText('ownership: { ownerTag: true }', { name })).callers[name]!.leastPrivilege.ownership,
    ).toEqual({ foreign: 'forbidden', ownerTag: true });
  });

  it('accepts a long caller name when it writes no owner tag', () => {
    const name = 'c'.repeat(200);
    expect(
      mustParse(policyText('ownership: { foreign: not-found }', { name })).callers[name]!.leastPrivilege.ownership,
    ).toBeDefined();
  });
});

describe('least privilege in the policy: every rule, with its path', () => {
  const C = 'callers.autoscaler';
  it.each<[string, string, string, string]>([
    // unknown keys, at every level
    ['unknown key in constraints', 'constraints: { delete: {} }', `${C}.constraints.delete`, 'unknown key'],
    [
      'unknown key in create',
      'constraints: { create: { region: [KGL-1] } }',
      `${C}.constraints.create.region`,
      'unknown key',
    ],
    [
      'unknown key in upsize',
      'constraints: { upsize: { specification: [S-1C] } }',
      `${C}.constraints.upsize.specification`,
      'unknown key',
    ],
    [
      'unknown key in tags',
      'constraints: { create: { tags: { forbidden: [x] } } }',
      `${C}.constraints.create.tags.forbidden`,
      'unknown key',
    ],
    ['unknown key in ownership', 'ownership: { ownerTags: true }', `${C}.ownership.ownerTags`, 'unknown key'],
    ['unknown key in quotas', 'quotas: { live: 5 }', `${C}.quotas.live`, 'unknown key'],
    // the shape of each section
    ['constraints not a mapping', 'constraints: [create]', `${C}.constraints`, 'expected a mapping, got a list'],
    ['ownership left empty (null)', 'ownership:', `${C}.ownership`, 'expected a mapping, got nothing (null)'],
    ['quotas not a mapping', 'quotas: 5', `${C}.quotas`, 'expected a mapping, got 5'],
    // lists: non-empty, unique, 1–64 printable characters
    [
      'an empty list',
      'constraints: { create: { regions: [] } }',
      `${C}.constraints.create.regions`,
      'must not be empty',
    ],
    [
      'not a list',
      'constraints: { create: { images: UBUNTU-24.04 } }',
      `${C}.constraints.create.images`,
      'expected a list, got a string',
    ],
    [
      'a duplicate entry',
      'constraints: { create: { images: [A, B, A] } }',
      `${C}.constraints.create.images[2]`,
      'duplicate "A" (first at [0])',
    ],
    [
      'a duplicate in upsize',
      'constraints: { upsize: { specifications: [S-1C, S-1C] } }',
      `${C}.constraints.upsize.specifications[1]`,
      'duplicate "S-1C"',
    ],
    [
      'an empty entry',
      'constraints: { create: { specifications: [""] } }',
      `${C}.constraints.create.specifications[0]`,
      'must be 1–64 printable ASCII characters without spaces',
    ],
    [
      'an entry of 65 characters',
      `constraints: { create: { regions: [${'r'.repeat(65)}] } }`,
      `${C}.constraints.create.regions[0]`,
      'must be 1–64 printable',
    ],
    [
      'an entry with a space',
      'constraints: { create: { regions: ["KGL 1"] } }',
      `${C}.constraints.create.regions[0]`,
      'must be 1–64 printable',
    ],
    [
      'a non-ASCII entry',
      'constraints: { create: { regions: ["KGL–1"] } }',
      `${C}.constraints.create.regions[0]`,
      'must be 1–64 printable',
    ],
    [
      'an entry that is not a string',
      'constraints: { create: { regions: [5] } }',
      `${C}.constraints.create.regions[0]`,
      'expected a string, got 5',
    ],
    [
      'an empty tag list',
      'constraints: { create: { tags: { allowed: [] } } }',
      `${C}.constraints.create.tags.allowed`,
      'must not be empty',
    ],
    [
      'a duplicate tag',
      'constraints: { create: { tags: { required: [a, a] } } }',
      `${C}.constraints.create.tags.required[1]`,
      'duplicate "a"',
    ],
    // tags: required must be allowed; the owner: prefix is the gateway's
    [
      'a required tag the allowed list refuses',
      'constraints: { create: { tags: { required: [web, pool-a], allowed: [pool-*] } } }',
      `${C}.constraints.create.tags.required[0]`,
      'required tag "web" is not allowed by tags.allowed',
    ],
    [
      'a glob is not a regex',
      'constraints: { create: { tags: { required: [pool-a], allowed: ["pool-."] } } }',
      `${C}.constraints.create.tags.required[0]`,
      'required tag "pool-a" is not allowed',
    ],
    [
      'a required owner: tag',
      'constraints: { create: { tags: { required: ["owner:me"] } } }',
      `${C}.constraints.create.tags.required[0]`,
      'the "owner:" prefix is reserved',
    ],
    [
      'an allowed owner: glob, in any case',
      'constraints: { create: { tags: { allowed: ["Owner:*"] } } }',
      `${C}.constraints.create.tags.allowed[0]`,
      'the "owner:" prefix is reserved',
    ],
    // hostName
    [
      'a hostName that does not compile',
      'constraints: { create: { hostName: "^as-(" } }',
      `${C}.constraints.create.hostName`,
      'is not a valid regular expression: Invalid regular expression: /^as-(/: Unterminated group',
    ],
    [
      'a hostName that breaks out of its anchors',
      'constraints: { create: { hostName: "a)|(b" } }',
      `${C}.constraints.create.hostName`,
      'is not a valid regular expression',
    ],
    [
      'an empty hostName',
      'constraints: { create: { hostName: "" } }',
      `${C}.constraints.create.hostName`,
      'must not be empty',
    ],
    [
      'a hostName pattern over 256 characters',
      `constraints: { create: { hostName: "${'a'.repeat(257)}" } }`,
      `${C}.constraints.create.hostName`,
      'must have at most 256 characters',
    ],
    [
      'a hostName with nested repetition (exponential backtracking): ^(a+)+$',
      'constraints: { create: { hostName: "^(a+)+$" } }',
      `${C}.constraints.create.hostName`,
      'has catastrophic backtracking (exponential time on crafted input)',
    ],
    [
      'a hostName with overlapping alternatives under repetition: (a|a)*',
      'constraints: { create: { hostName: "(a|a)*x" } }',
      `${C}.constraints.create.hostName`,
      'has catastrophic backtracking (exponential time on crafted input)',
    ],
    [
      'a hostName with polynomial backtracking: .*-.*-.*=',
      'constraints: { create: { hostName: "[a-z-]*-[a-z-]*-[a-z-]*=" } }',
      `${C}.constraints.create.hostName`,
      'has catastrophic backtracking (3rd degree polynomial time on crafted input)',
    ],
    [
      'a hostName that is not a string',
      'constraints: { create: { hostName: [a] } }',
      `${C}.constraints.create.hostName`,
      'expected a string, got a list',
    ],
    // withPublicIp
    [
      'withPublicIp true',
      'constraints: { create: { withPublicIp: true } }',
      `${C}.constraints.create.withPublicIp`,
      'only false is meaningful',
    ],
    [
      'withPublicIp not a boolean',
      'constraints: { create: { withPublicIp: "no" } }',
      `${C}.constraints.create.withPublicIp`,
      'only false is meaningful',
    ],
    // ownership
    [
      'an unknown foreign answer',
      'ownership: { foreign: hidden }',
      `${C}.ownership.foreign`,
      'must be one of: forbidden, not-found',
    ],
    [
      'ownerTag not a boolean',
      'ownership: { ownerTag: yes please }',
      `${C}.ownership.ownerTag`,
      'expected a boolean, got a string',
    ],
    // quotas
    ['a zero quota', 'quotas: { liveComputes: 0 }', `${C}.quotas.liveComputes`, 'must be at least 1'],
    [
      'a fractional quota',
      'quotas: { createsPerHour: 1.5 }',
      `${C}.quotas.createsPerHour`,
      'expected an integer, got 1.5',
    ],
    [
      'a quota over a million',
      'quotas: { createsPerHour: 1000001 }',
      `${C}.quotas.createsPerHour`,
      'must be at most 1000000',
    ],
    [
      'a quota that is not a number',
      'quotas: { liveComputes: five }',
      `${C}.quotas.liveComputes`,
      'expected a number, got a string',
    ],
    // shadow
    ['shadow not a boolean', 'shadow: on', `${C}.shadow`, 'expected a boolean, got a string'],
  ])('%s', (_name, lines, path, message) => {
    const errors = problems(policyText(lines));
    expect(errors.map((e) => e.path)).toEqual([path]);
    expect(errors[0]!.message).toContain(message);
    expect(errors[0]!.line).toEqual(expect.any(Number));
  });

  it.each<[string, string, string]>([
    ['an unknown key', 'quotas: { liveComputes: 5, createsPerHour: 1 }', 'accounts.main.quotas.createsPerHour'],
    ['a zero quota', 'quotas: { liveComputes: 0 }', 'accounts.main.quotas.liveComputes'],
    ['not a mapping', 'quotas: 50', 'accounts.main.quotas'],
  ])('account quotas: %s', (_name, accountLines, path) => {
    expect(problems(policyText('', { accountLines })).map((e) => e.path)).toEqual([path]);
  });

  it('reports an owner tag longer than 64 characters at the caller, before any secret is read', () => {
    const name = 'c'.repeat(59);
    const text = policyText('ownership: { ownerTag: true }', { name });
    const expected = {
      path: `callers.${name}.ownership.ownerTag`,
      message:
        'the owner tag "owner:<caller>" would have 65 characters, more than 64: give this caller a name of at most 58 characters, or set ownerTag: false',
      line: 12,
    };
    expect(problems(text)).toEqual([expected]);
    // check-config --no-secrets and explain validate without secrets: the same problem, the same line.
    expect(validatePolicyText(text)).toEqual({ ok: false, errors: [expected] });
  });

  it.each([
    [
      'a malformed tag is not also reported as reserved',
      `constraints: { create: { tags: { required: ["owner:${'x'.repeat(60)}"] } } }`,
      'must be 1–64 printable',
    ],
    [
      'a malformed required tag is not also reported as not allowed',
      'constraints: { create: { tags: { required: ["a b"], allowed: [y] } } }',
      'must be 1–64 printable',
    ],
  ])('one message per entry: %s', (_name, lines, message) => {
    const errors = problems(policyText(lines));
    expect(errors).toHaveLength(1);
    expect(errors[0]!.message).toContain(message);
  });

  it('points at the offending line', () => {
    const text = policyText(FULL.replace('liveComputes: 5', 'liveComputes: -5'));
    expect(problems(text)).toEqual([
      {
        path: 'callers.autoscaler.quotas.liveComputes',
        message: 'must be at least 1',
        line: text.split('\n').findIndex((l) => l.includes('-5')) + 1,
      },
    ]);
  });

  it('reports every problem of a caller at once, in document order', () => {
    const text = policyText(`
constraints:
  create:
    regions: []
    images: [a, a]
    hostName: "("
    withPublicIp: true
    tags: { required: [x], allowed: [y] }
ownership: { foreign: nope }
quotas: { liveComputes: 0, createsPerHour: 0 }
shadow: 1
`);
    expect(problems(text).map((e) => e.path)).toEqual([
      'callers.autoscaler.constraints.create.regions',
      'callers.autoscaler.constraints.create.images[1]',
      'callers.autoscaler.constraints.create.hostName',
      'callers.autoscaler.constraints.create.withPublicIp',
      'callers.autoscaler.constraints.create.tags.required[0]',
      'callers.autoscaler.ownership.foreign',
      'callers.autoscaler.quotas.liveComputes',
      'callers.autoscaler.quotas.createsPerHour',
      'callers.autoscaler.shadow',
    ]);
  });
});
