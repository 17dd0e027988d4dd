import fc from 'fast-check';
import { OPERATION_IDS, type OperationId } from '../../../src/catalog/catalog';
import {
  checkRequestBody,
  describeValue,
  listValues,
  MAX_HOST_NAME_LENGTH,
  reservedTagViolations,
} from '../../../src/gateway/least-privilege/constraints';
import type { CreateConstraints, LeastPrivilegePolicy } from '../../../src/gateway/least-privilege/types';
import { AUTOSCALER_CREATE_CONSTRAINTS } from '../../helpers/autoscaler-example';

/** The brief's autoscaler, as the policy resolves it. */
const POLICY: LeastPrivilegePolicy = {
  constraints: {
    create: AUTOSCALER_CREATE_CONSTRAINTS,
    upsize: { specifications: ['S-1C-2G'] },
  },
  shadow: false,
};

const VALID_CREATE = {
  hostName: 'as-web-1',
  image: 'UBUNTU-24.04',
  region: 'KGL-1',
  specification: 'S-1C',
  publicKeys: ['ssh-ed25519 AAAA me@host'],
  tags: ['autoscaler', 'pool-a'],
};

const create = (changes: Record<string, unknown>, omit: string[] = []) => {
  const body: Record<string, unknown> = { ...VALID_CREATE, ...changes };
  for (const name of omit) delete body[name];
  return body;
};

const constraintsOf = (policy: LeastPrivilegePolicy, operation: OperationId, body: unknown) =>
  checkRequestBody(policy, operation, body).map((v) => v.constraint);

describe('checkRequestBody: create', () => {
  it('accepts a body within every constraint', () => {
    expect(checkRequestBody(POLICY, 'computes.create', VALID_CREATE)).toEqual([]);
    expect(checkRequestBody(POLICY, 'computes.create', create({ withPublicIp: false, tags: ['autoscaler'] }))).toEqual(
      [],
    );
  });

  it.each<[string, Record<string, unknown>, string[], string, string]>([
    [
      'a region outside the list',
      { region: 'NBO-1' },
      [],
      'create.regions',
      'region "NBO-1" is not allowed (allowed: "KGL-1")',
    ],
    [
      'a region of the wrong type',
      { region: 5 },
      [],
      'create.regions',
      'region must be a string, got 5 (allowed: "KGL-1")',
    ],
    ['a region that is a list', { region: ['KGL-1'] }, [], 'create.regions', 'region must be a string, got a list'],
    ['no region', {}, ['region'], 'create.regions', 'region is required here (allowed: "KGL-1")'],
    ['a region differing in case', { region: 'kgl-1' }, [], 'create.regions', 'region "kgl-1" is not allowed'],
    [
      'an image outside the list',
      { image: 'DEBIAN-12' },
      [],
      'create.images',
      'image "DEBIAN-12" is not allowed (allowed: "UBUNTU-24.04")',
    ],
    ['a null image', { image: null }, [], 'create.images', 'image must be a string, got null'],
    [
      'a specification outside the list',
      { specification: 'S-8C' },
      [],
      'create.specifications',
      'specification "S-8C" is not allowed (allowed: "S-1C", "S-1C-1G")',
    ],
    ['no required tag', { tags: ['pool-a'] }, [], 'create.tags.required', 'tags must include "autoscaler"'],
    ['no tags at all', {}, ['tags'], 'create.tags.required', 'tags must include "autoscaler"'],
    [
      'a tag outside the allowed list',
      { tags: ['autoscaler', 'web'] },
      [],
      'create.tags.allowed',
      'tag "web" is not allowed (allowed: "autoscaler", "pool-*")',
    ],
    [
      'two tags outside the allowed list',
      { tags: ['autoscaler', 'web', 'db'] },
      [],
      'create.tags.allowed',
      'tags "web", "db" are not allowed',
    ],
    ['a tag that is not a string', { tags: ['autoscaler', 7] }, [], 'create.tags.allowed', 'tag 7 is not allowed'],
    ['a glob is not a regex', { tags: ['autoscaler', 'pool'] }, [], 'create.tags.allowed', 'tag "pool" is not allowed'],
    [
      'a hostName that does not match',
      { hostName: 'web-1' },
      [],
      'create.hostName',
      'hostName "web-1" is not allowed (it must match ^(?:^as-[a-z0-9-]{1,20}$)$)',
    ],
    [
      'a hostName matching only in part',
      { hostName: 'as-web-1.evil' },
      [],
      'create.hostName',
      'hostName "as-web-1.evil" is not allowed',
    ],
    ['no hostName', {}, ['hostName'], 'create.hostName', 'hostName is required here'],
    [
      'a hostName of the wrong type',
      { hostName: { name: 'as-1' } },
      [],
      'create.hostName',
      'hostName must be a string, got an object',
    ],
    [
      'a hostName longer than DNS allows',
      { hostName: `as-${'a'.repeat(MAX_HOST_NAME_LENGTH)}` },
      [],
      'create.hostName',
      `is longer than ${MAX_HOST_NAME_LENGTH} characters`,
    ],
    ['withPublicIp true', { withPublicIp: true }, [], 'create.withPublicIp', 'withPublicIp true is not allowed'],
    [
      'withPublicIp of the wrong type',
      { withPublicIp: 'true' },
      [],
      'create.withPublicIp',
      'withPublicIp must be a boolean, got "true"',
    ],
  ])('%s', (_name, changes, omit, constraint, message) => {
    expect(checkRequestBody(POLICY, 'computes.create', create(changes, omit))).toEqual([
      { constraint, message: expect.stringContaining(message) },
    ]);
  });

  it('reports tags of the wrong type once per tag constraint', () => {
    expect(checkRequestBody(POLICY, 'computes.create', create({ tags: 'autoscaler' }))).toEqual([
      {
        constraint: 'create.tags.required',
        message: 'tags must be a list of strings, got "autoscaler" (required: "autoscaler")',
      },
      {
        constraint: 'create.tags.allowed',
        message: 'tags must be a list of strings, got "autoscaler" (allowed: "autoscaler", "pool-*")',
      },
    ]);
  });

  it('reports every violation, not just the first, in a fixed order', () => {
    const body = { hostName: 5, image: 'X', region: 'Y', specification: 'Z', tags: ['x'], withPublicIp: true };
    expect(constraintsOf(POLICY, 'computes.create', body)).toEqual([
      'create.regions',
      'create.images',
      'create.specifications',
      'create.tags.required',
      'create.tags.allowed',
      'create.hostName',
      'create.withPublicIp',
    ]);
  });

  it('treats required tags as allowed even when the allowed list leaves them out', () => {
    const policy: LeastPrivilegePolicy = {
      constraints: { create: { requiredTags: ['team-a'], allowedTags: ['pool-*'] } },
      shadow: false,
    };
    expect(checkRequestBody(policy, 'computes.create', { tags: ['team-a', 'pool-1'] })).toEqual([]);
  });

  it('without withPublicIp: false, any withPublicIp passes', () => {
    const policy: LeastPrivilegePolicy = { constraints: { create: { regions: ['KGL-1'] } }, shadow: false };
    expect(checkRequestBody(policy, 'computes.create', { region: 'KGL-1', withPublicIp: true })).toEqual([]);
    expect(checkRequestBody(policy, 'computes.create', { region: 'KGL-1', withPublicIp: 'weird' })).toEqual([]);
  });

  it.each([
    ['null', null],
    ['a list', [VALID_CREATE]],
    ['a string', JSON.stringify(VALID_CREATE)],
    ['a number', 1],
    ['absent', undefined],
  ])('a body that is %s is one violation, "body"', (_name, body) => {
    expect(checkRequestBody(POLICY, 'computes.create', body)).toEqual([
      { constraint: 'body', message: 'the request body must be a JSON object' },
    ]);
  });

  it('reads own fields only, never the prototype', () => {
    const policy: LeastPrivilegePolicy = { constraints: { create: { regions: ['KGL-1'] } }, shadow: false };
    const inherited = Object.create({ region: 'KGL-1' }) as Record<string, unknown>;
    expect(constraintsOf(policy, 'computes.create', inherited)).toEqual(['create.regions']);
    const proto = JSON.parse('{"__proto__": {"region": "KGL-1"}}') as unknown;
    expect(constraintsOf(policy, 'computes.create', proto)).toEqual(['create.regions']);
  });

  it('quotes the offending value cut to 64 characters, JSON-escaped', () => {
    const [violation] = checkRequestBody(POLICY, 'computes.create', create({ region: `${'r'.repeat(100)}` }));
    expect(violation!.message).toBe(`region "${'r'.repeat(64)}"… is not allowed (allowed: "KGL-1")`);
    const [quoted] = checkRequestBody(POLICY, 'computes.create', create({ image: 'a"b\n<script>' }));
    expect(quoted!.message).toBe('image "a\\"b\\n<script>" is not allowed (allowed: "UBUNTU-24.04")');
  });

  it('names at most 10 allowed values, then how many more', () => {
    const regions = Array.from({ length: 25 }, (_, i) => `R-${i}`);
    const [violation] = checkRequestBody({ constraints: { create: { regions } }, shadow: false }, 'computes.create', {
      region: 'X',
    });
    expect(violation!.message).toBe(
      `region "X" is not allowed (allowed: ${regions
        .slice(0, 10)
        .map((r) => `"${r}"`)
        .join(', ')} and 15 more)`,
    );
  });

  it('fails closed on a pattern that does not compile (a hand-built policy; the policy check refuses one)', () => {
    const policy: LeastPrivilegePolicy = { constraints: { create: { hostNamePattern: '(' } }, shadow: false };
    expect(checkRequestBody(policy, 'computes.create', { hostName: 'a' })).toEqual([
      { constraint: 'create.hostName', message: 'hostName cannot be checked: the policy pattern is invalid' },
    ]);
  });
});

describe('checkRequestBody: upsize and other operations', () => {
  it.each<[unknown, string[]]>([
    [{ newSpecification: 'S-1C-2G' }, []],
    [{ newSpecification: 'S-4C' }, ['upsize.specifications']],
    [{ newSpecification: 4 }, ['upsize.specifications']],
    [{}, ['upsize.specifications']],
    [{ specification: 'S-1C-2G' }, ['upsize.specifications']],
    ['S-1C-2G', ['body']],
  ])('upsize %j → %j', (body, expected) => {
    expect(constraintsOf(POLICY, 'computes.upsize', body)).toEqual(expected);
  });

  it('names the value and the list', () => {
    expect(checkRequestBody(POLICY, 'computes.upsize', { newSpecification: 'S-4C' })).toEqual([
      { constraint: 'upsize.specifications', message: 'newSpecification "S-4C" is not allowed (allowed: "S-1C-2G")' },
    ]);
  });

  it.each(OPERATION_IDS.filter((id) => id !== 'computes.create' && id !== 'computes.upsize'))(
    '%s has no body constraint',
    (operation) => {
      expect(checkRequestBody(POLICY, operation, { region: 'nowhere' })).toEqual([]);
      expect(checkRequestBody(POLICY, operation, 'not an object')).toEqual([]);
    },
  );

  it('with no constraint for the operation, any body passes (the provider validates it)', () => {
    expect(checkRequestBody({ shadow: false }, 'computes.create', 'not an object')).toEqual([]);
    expect(
      checkRequestBody({ constraints: { upsize: { specifications: ['S'] } }, shadow: false }, 'computes.create', null),
    ).toEqual([]);
    expect(checkRequestBody({ constraints: { create: {} }, shadow: false }, 'computes.create', null)).toEqual([]);
    expect(checkRequestBody({ constraints: { upsize: {} }, shadow: false }, 'computes.upsize', null)).toEqual([]);
  });

  it('does not consider shadow mode: it only reports', () => {
    expect(constraintsOf({ ...POLICY, shadow: true }, 'computes.create', create({ region: 'X' }))).toEqual([
      'create.regions',
    ]);
  });
});

describe('reservedTagViolations', () => {
  it.each<[unknown, string[]]>([
    [{ tags: ['owner:someone-else'] }, ['owner:someone-else']],
    [{ tags: ['web', 'OWNER:x', 'owner:y'] }, ['OWNER:x', 'owner:y']],
    [{ tags: ['web', 'owners', 'x-owner:y'] }, []],
    [{ tags: 'owner:x' }, []],
    [{}, []],
    [null, []],
    [['owner:x'], []],
  ])('%j', (body, reserved) => {
    const violations = reservedTagViolations(body);
    if (reserved.length === 0) return expect(violations).toEqual([]);
    expect(violations).toHaveLength(1);
    expect(violations[0]!.constraint).toBe('tags.reserved');
    for (const tag of reserved) expect(violations[0]!.message).toContain(JSON.stringify(tag));
    expect(violations[0]!.message).toContain('the "owner:" prefix is reserved');
  });
});

describe('describeValue / listValues', () => {
  it.each<[unknown, string]>([
    ['a', '"a"'],
    [5, '5'],
    [true, 'true'],
    [null, 'null'],
    [[], 'a list'],
    [{}, 'an object'],
    [undefined, 'a undefined'],
  ])('%j → %s', (value, text) => {
    expect(describeValue(value)).toBe(text);
  });

  it('does not split a surrogate pair when cutting', () => {
    expect(describeValue(`${'a'.repeat(63)}😀tail`)).toBe(`"${'a'.repeat(63)}"…`);
  });

  it('lists', () => {
    expect(listValues(['a', 'b'])).toBe('"a", "b"');
  });
});

/** Generated policies and bodies: values from a small alphabet, globs never starting with `*`. */
const slug = fc.string({
  unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789-'.split('')),
  minLength: 1,
  maxLength: 8,
});
const valueList = fc.uniqueArray(slug, { minLength: 1, maxLength: 5 });
const allowedTag = fc
  .tuple(slug, fc.option(slug, { nil: undefined }), fc.boolean())
  .map(([prefix, suffix, glob]) => (glob ? `${prefix}*${suffix ?? ''}` : prefix));

/** A tag an allowed entry admits: the entry itself, or a glob with its `*` filled in. */
function instantiate(entry: string, fill: string): string {
  return entry.replaceAll('*', fill);
}

const HOST_NAMES = { pattern: '^(?:as-[a-z0-9]{1,20})$', sample: fc.stringMatching(/^as-[a-z0-9]{1,20}$/) };

interface Scenario {
  policy: LeastPrivilegePolicy;
  body: Record<string, unknown>;
}

const scenario: fc.Arbitrary<Scenario> = fc
  .record({
    regions: fc.option(valueList, { nil: undefined }),
    images: fc.option(valueList, { nil: undefined }),
    specifications: fc.option(valueList, { nil: undefined }),
    allowed: fc.option(fc.uniqueArray(allowedTag, { minLength: 1, maxLength: 4 }), { nil: undefined }),
    requiredCount: fc.nat({ max: 3 }),
    hostName: fc.boolean(),
    noPublicIp: fc.boolean(),
    upsize: fc.option(valueList, { nil: undefined }),
    seed: fc.infiniteStream(fc.nat()),
    fill: slug,
    hostNameValue: HOST_NAMES.sample,
    publicIp: fc.constantFrom(undefined, false),
  })
  .map((g) => {
    const pick = <T>(list: readonly T[]) => list[g.seed.next().value % list.length]!;
    const allowedInstances = g.allowed?.map((entry) => instantiate(entry, g.fill));
    const required = allowedInstances
      ? [...new Set(allowedInstances.slice(0, g.requiredCount))]
      : g.requiredCount > 0
        ? ['team-a']
        : [];
    const create: CreateConstraints = {
      ...(g.regions ? { regions: g.regions } : {}),
      ...(g.images ? { images: g.images } : {}),
      ...(g.specifications ? { specifications: g.specifications } : {}),
      ...(required.length > 0 ? { requiredTags: required } : {}),
      ...(g.allowed ? { allowedTags: g.allowed } : {}),
      ...(g.hostName ? { hostNamePattern: HOST_NAMES.pattern } : {}),
      ...(g.noPublicIp ? { withPublicIp: false as const } : {}),
    };
    const tags = [...required, ...(allowedInstances ? [pick(allowedInstances)] : ['anything'])];
    const body: Record<string, unknown> = {
      hostName: g.hostNameValue,
      image: g.images ? pick(g.images) : 'ANY-IMAGE',
      region: g.regions ? pick(g.regions) : 'ANY-REGION',
      specification: g.specifications ? pick(g.specifications) : 'ANY-SPEC',
      publicKeys: ['ssh-ed25519 AAAA'],
      tags,
      ...(g.publicIp !== undefined ? { withPublicIp: g.publicIp } : {}),
      newSpecification: g.upsize ? pick(g.upsize) : 'ANY-SPEC',
    };
    return {
      policy: { constraints: { create, ...(g.upsize ? { upsize: { specifications: g.upsize } } : {}) }, shadow: false },
      body,
    };
  });

/** Mutations that break exactly one constraint of a valid body, when the policy has it. */
const MUTATIONS: ReadonlyArray<
  [
    constraint: string,
    applies: (c: CreateConstraints) => boolean,
    mutate: (body: Record<string, unknown>, c: CreateConstraints, junk: unknown) => void,
  ]
> = [
  ['create.regions', (c) => c.regions !== undefined, (b, _c, junk) => void (b.region = junk)],
  ['create.images', (c) => c.images !== undefined, (b, _c, junk) => void (b.image = junk)],
  ['create.specifications', (c) => c.specifications !== undefined, (b, _c, junk) => void (b.specification = junk)],
  ['create.hostName', (c) => c.hostNamePattern !== undefined, (b, _c, junk) => void (b.hostName = junk)],
  [
    'create.withPublicIp',
    (c) => c.withPublicIp === false,
    (b, _c, junk) => void (b.withPublicIp = typeof junk === 'string' ? true : junk === undefined ? 'yes' : junk),
  ],
  // Drop one required tag: what remains is still allowed.
  [
    'create.tags.required',
    (c) => c.requiredTags !== undefined,
    (b, c) => void (b.tags = (b.tags as string[]).filter((t) => t !== c.requiredTags![0])),
  ],
  // A tag starting with `~` matches no generated entry (entries start with a slug character).
  [
    'create.tags.allowed',
    (c) => c.allowedTags !== undefined,
    (b) => void (b.tags = [...(b.tags as string[]), '~not-allowed']),
  ],
];

/** Disallowed values: outside every generated list (they contain `~` or are not strings), or absent. */
const junk = fc.oneof(
  fc.string({ maxLength: 10 }).map((s) => `~${s}`),
  fc.integer(),
  fc.constant(null),
  fc.constant(undefined),
  fc.array(fc.string(), { maxLength: 2 }),
  fc.dictionary(fc.string({ maxLength: 3 }), fc.string({ maxLength: 3 }), { maxKeys: 2 }),
);

describe('checkRequestBody: properties', () => {
  const policyArbitrary = scenario.map((s) => s.policy);

  it('never throws, whatever the JSON value, operation or policy', () => {
    fc.assert(
      fc.property(
        policyArbitrary,
        fc.constantFrom(...OPERATION_IDS),
        fc.oneof(fc.jsonValue(), fc.anything()),
        (policy, operation, body) => {
          const violations = checkRequestBody(policy, operation, body);
          expect(Array.isArray(violations)).toBe(true);
          for (const v of violations) expect(typeof v.message).toBe('string');
        },
      ),
      { numRuns: 500 },
    );
  });

  it('never throws on arbitrary JSON under the full example policy', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<OperationId>('computes.create', 'computes.upsize'),
        fc.jsonValue(),
        (operation, body) => {
          expect(() => checkRequestBody(POLICY, operation, body)).not.toThrow();
        },
      ),
      { numRuns: 500 },
    );
  });

  it('a body built only from allowed values breaks no constraint', () => {
    fc.assert(
      fc.property(scenario, ({ policy, body }) => {
        expect(checkRequestBody(policy, 'computes.create', body)).toEqual([]);
        expect(checkRequestBody(policy, 'computes.upsize', body)).toEqual([]);
      }),
      { numRuns: 500 },
    );
  });

  it('changing one constrained field to a disallowed value breaks exactly that constraint', () => {
    fc.assert(
      fc.property(scenario, fc.nat(), junk, ({ policy, body }, which, value) => {
        const create = policy.constraints!.create!;
        const applicable = MUTATIONS.filter(([, applies]) => applies(create));
        fc.pre(applicable.length > 0);
        const [constraint, , mutate] = applicable[which % applicable.length]!;
        const changed = structuredClone(body);
        mutate(changed, create, value);
        if (value === undefined && constraint !== 'create.withPublicIp' && !constraint.startsWith('create.tags')) {
          // `junk` undefined stands for the field left out.
          const name = {
            'create.regions': 'region',
            'create.images': 'image',
            'create.specifications': 'specification',
            'create.hostName': 'hostName',
          }[constraint]!;
          delete changed[name];
        }
        expect(constraintsOf(policy, 'computes.create', changed)).toEqual([constraint]);
      }),
      { numRuns: 1000 },
    );
  });

  it('changing newSpecification to a disallowed value breaks exactly upsize.specifications', () => {
    fc.assert(
      fc.property(scenario, junk, ({ policy, body }, value) => {
        fc.pre(policy.constraints!.upsize !== undefined);
        const changed = { ...body, newSpecification: value };
        if (value === undefined) delete changed.newSpecification;
        expect(constraintsOf(policy, 'computes.upsize', changed)).toEqual(['upsize.specifications']);
      }),
    );
  });
});
