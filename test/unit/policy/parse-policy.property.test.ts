/**
 * Properties of `parsePolicy` on generated documents: mutations of one valid policy (required keys
 * deleted, values of the wrong type, unknown keys injected at any depth), valid variations of it,
 * and garbage. It never throws; every invalid document is `{ ok: false, errors }` with each problem
 * located by a non-empty path (one of them at or above what was broken) and no secret echoed; valid
 * variations still parse, to the values they set.
 */
import { generateKeyPairSync } from 'node:crypto';
import * as path from 'node:path';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { formatPath, parsePolicy, type ConfigProblem } from '../../../src/gateway/policy';
import type { PolicyResult } from '../../../src/gateway/policy/types';
import { memoryIo } from './fixture-io';

const RUNS = { numRuns: 300 };
const SOURCE = '/etc/gw/gateway.yaml';
const SECRETS = {
  KEY_PROD: 'sk-SENTINEL-prod-7f3a',
  JWT_HS_SECRET: 'hs-SENTINEL-0123456789abcdef0123456789abcdef',
  STAGING_FILE: 'sk-SENTINEL-staging-91c2',
};
const rsaPublicPem = generateKeyPairSync('rsa', { modulusLength: 2048 })
  .publicKey.export({ format: 'pem', type: 'spki' })
  .toString();
const io = () =>
  memoryIo(
    { KEY_PROD: SECRETS.KEY_PROD, JWT_HS_SECRET: SECRETS.JWT_HS_SECRET },
    {
      [path.join('/etc/gw', 'secrets/staging')]: `${SECRETS.STAGING_FILE}\n`,
      [path.join('/etc/gw', 'keys/k1.pub.pem')]: rsaPublicPem,
    },
  );

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type DocPath = Array<string | number>;

/** Every section and most key forms, all valid. */
const VALID: { [key: string]: Json } = {
  listen: { host: '127.0.0.1', port: 18080, adminPort: 19090 },
  upstream: { baseUrl: 'https://api.strettch.cloud/api/v1', timeoutMs: 10000, connectTimeoutMs: 2000, maxSockets: 16 },
  accounts: { prod: { apiKey: { env: 'KEY_PROD' } }, staging: { apiKey: { file: 'secrets/staging' } } },
  limits: { default: { read: 30, write: 5, safety: 0.9 }, staging: { all: 2 } },
  auth: {
    issuer: 'https://auth.internal',
    audience: 'strettch-gateway',
    maxTokenLifetimeSec: 900,
    clockToleranceSec: 10,
    maxTokenBytes: 4096,
    keys: [
      { kid: 'k1', algorithms: ['RS256'], publicKeyFile: 'keys/k1.pub.pem' },
      { kid: 'hs', algorithms: ['HS256'], secret: { env: 'JWT_HS_SECRET' } },
    ],
  },
  scopes: { 'ops:read': ['computes.list', 'computes.get'], everything: ['*'] },
  protection: { badTokens: { maxFailures: 20, windowSec: 60, lockoutSec: 300 } },
  callers: {
    billing: { account: 'prod', scopes: ['ops:read', 'catalog:read'], weight: 1, maxWaitMs: 1000 },
    autoscaler: { account: 'staging', scopes: ['computes:*'], weight: 3, maxQueued: 10, requestsPerMinute: 600 },
  },
};

const clone = <T extends Json>(value: T): T => structuredClone(value);
const isMapping = (value: Json | undefined): value is { [key: string]: Json } =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function get(doc: Json, at: DocPath): Json | undefined {
  let node: Json | undefined = doc;
  for (const segment of at) {
    if (Array.isArray(node) && typeof segment === 'number') node = node[segment];
    else if (isMapping(node) && typeof segment === 'string' && Object.hasOwn(node, segment)) node = node[segment];
    else return undefined;
  }
  return node;
}

function set(doc: Json, at: DocPath, value: Json | undefined): void {
  const parent = get(doc, at.slice(0, -1));
  const last = at[at.length - 1]!;
  if (Array.isArray(parent) && typeof last === 'number') {
    if (value === undefined) parent.splice(last, 1);
    else parent[last] = value;
  } else if (isMapping(parent) && typeof last === 'string') {
    if (value === undefined) delete parent[last];
    else parent[last] = value;
  }
}

/** Every node of the valid document, by path (the root excluded). */
function allPaths(node: Json, at: DocPath = []): DocPath[] {
  const children: Array<[string | number, Json]> = Array.isArray(node)
    ? node.map((v, i) => [i, v])
    : isMapping(node)
      ? Object.entries(node)
      : [];
  return children.flatMap(([key, child]) => [[...at, key], ...allPaths(child, [...at, key])]);
}
const PATHS = allPaths(VALID);
const MAPPING_PATHS: DocPath[] = [[], ...PATHS.filter((at) => isMapping(get(VALID, at)))];

/**
 * Deleting any of these makes the document invalid; the second element is the path a problem must
 * be reported at (or under): the key itself, the object missing it, or what referred to it.
 */
const REQUIRED: Array<[DocPath, string]> = [
  [['accounts'], 'accounts'],
  [['auth'], 'auth'],
  [['callers'], 'callers'],
  [['auth', 'issuer'], 'auth.issuer'],
  [['auth', 'audience'], 'auth.audience'],
  [['auth', 'keys'], 'auth.keys'],
  [['auth', 'keys', 0, 'kid'], 'auth.keys[0].kid'],
  [['auth', 'keys', 0, 'algorithms'], 'auth.keys[0].algorithms'],
  [['auth', 'keys', 0, 'publicKeyFile'], 'auth.keys[0]'],
  [['auth', 'keys', 1, 'secret'], 'auth.keys[1]'],
  [['accounts', 'prod', 'apiKey'], 'accounts.prod.apiKey'],
  [['accounts', 'prod', 'apiKey', 'env'], 'accounts.prod.apiKey'],
  [['accounts', 'staging'], 'callers.autoscaler.account'],
  [['callers', 'billing', 'account'], 'callers.billing.account'],
  [['callers', 'billing', 'scopes'], 'callers.billing.scopes'],
  [['callers', 'autoscaler', 'account'], 'callers.autoscaler.account'],
  [['scopes', 'ops:read'], 'callers.billing.scopes[0]'],
  [['limits', 'default', 'write'], 'limits.default'],
  [['limits', 'staging', 'all'], 'limits.staging'],
  [['protection', 'badTokens', 'windowSec'], 'protection.badTokens.windowSec'],
];

/** A value of another JSON type than `value` (no field of the policy accepts two types). */
function otherTypeValue(value: Json | undefined, pick: number): Json {
  const kind = value === null ? 'null' : Array.isArray(value) ? 'list' : typeof value;
  const candidates: Array<[string, Json]> = [
    ['string', 'seven'],
    ['number', 7],
    ['boolean', true],
    ['list', ['x', 1]],
    ['object', { nested: 1 }],
    ['null', null],
  ];
  const others = candidates.filter(([k]) => k !== kind).map(([, v]) => v);
  return others[pick % others.length]!;
}

const relatedTo = (problemPath: string, expected: string) =>
  problemPath === expected ||
  expected.startsWith(`${problemPath}.`) ||
  expected.startsWith(`${problemPath}[`) ||
  problemPath.startsWith(expected);

function expectWellFormedRefusal(result: PolicyResult): ConfigProblem[] {
  if (result.ok) throw new Error('the document was accepted');
  expect(result.errors.length).toBeGreaterThan(0);
  for (const problem of result.errors) {
    expect(typeof problem.path).toBe('string');
    expect(problem.path.trim()).not.toBe('');
    expect(problem.message.trim()).not.toBe('');
    if (problem.line !== undefined) expect(Number.isInteger(problem.line) && problem.line >= 1).toBe(true);
  }
  const text = JSON.stringify(result.errors);
  for (const secret of Object.values(SECRETS)) expect(text).not.toContain(secret);
  return result.errors;
}

function parse(doc: Json | string): PolicyResult {
  return parsePolicy(typeof doc === 'string' ? doc : stringify(doc), SOURCE, io());
}

function mustParse(doc: Json) {
  const result = parse(doc);
  if (!result.ok) throw new Error(`expected a valid policy: ${JSON.stringify(result.errors)}`);
  return result.policy;
}

describe('parsePolicy properties', () => {
  it('the base document is valid (the mutations below start from a valid policy)', () => {
    expect(Object.keys(mustParse(clone(VALID)).callers)).toEqual(['billing', 'autoscaler']);
  });

  it('deleting required keys → refused, with a problem at (or above) each deleted key', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.constantFrom(...REQUIRED), { minLength: 1, maxLength: 3 }), (deletions) => {
        const doc = clone(VALID);
        // Deepest first, so that list indexes still point at what they named.
        for (const [at] of [...deletions].sort((a, b) => b[0].length - a[0].length)) set(doc, at, undefined);
        const errors = expectWellFormedRefusal(parse(doc));
        // Shape problems come first and hide reference problems, so at least one deletion is named.
        const expected = deletions.map(([, where]) => where);
        expect(errors.some((e) => expected.some((where) => relatedTo(e.path, where)))).toBe(true);
      }),
      RUNS,
    );
  });

  it('a value of the wrong type anywhere → refused, with a problem at (or above) that value', () => {
    fc.assert(
      fc.property(fc.constantFrom(...PATHS), fc.nat(), (at, pick) => {
        const doc = clone(VALID);
        set(doc, at, otherTypeValue(get(doc, at), pick));
        const errors = expectWellFormedRefusal(parse(doc));
        if (!errors.some((e) => relatedTo(e.path, formatPath(at)))) {
          throw new Error(`no problem at or above ${formatPath(at)}: ${JSON.stringify(errors)}`);
        }
      }),
      RUNS,
    );
  });

  it('an unknown key injected into any mapping, at any depth → refused, naming the key', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...MAPPING_PATHS),
        fc.stringMatching(/^[a-z][a-zA-Z0-9_]{0,11}$/),
        fc.oneof(fc.integer(), fc.string({ maxLength: 8 }), fc.boolean()),
        (at, name, value) => {
          const key = `zz${name}`;
          const doc = clone(VALID);
          const target = get(doc, at);
          if (!isMapping(target)) throw new Error('not a mapping');
          target[key] = value;
          const errors = expectWellFormedRefusal(parse(doc));
          const where = formatPath([...at, key]);
          if (
            !errors.some((e) => e.path === where || e.path.startsWith(`${where}.`) || e.path.startsWith(`${where}[`))
          ) {
            throw new Error(`no problem at ${where}: ${JSON.stringify(errors)}`);
          }
        },
      ),
      RUNS,
    );
  });

  /** Text that YAML or the schema must refuse, or that may by chance still be a policy. */
  const validText = stringify(VALID);
  const garbage = fc.oneof(
    fc.string({ maxLength: 200 }),
    fc.string({ unit: 'binary', maxLength: 200 }),
    fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes).toString('latin1')),
    // The valid text with a slice cut out, or junk spliced in.
    fc
      .tuple(
        fc.nat(),
        fc.nat(),
        fc.constantFrom(
          '',
          ':',
          '- ',
          '{',
          ']',
          '"',
          "'",
          '&a ',
          '*a',
          '!!binary ',
          '\t',
          '\u0000',
          '\n  x: 1\n',
          '? ',
          '|\n',
          '%YAML 1.1\n',
          '---\n',
          '...\n',
        ),
      )
      .map(([from, length, junk]) => {
        const start = from % (validText.length + 1);
        return `${validText.slice(0, start)}${junk}${validText.slice(Math.min(validText.length, start + (length % 40)))}`;
      }),
    // Aliases that would expand enormously, deep nesting, tags and several documents.
    fc.constantFrom(
      'a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n',
      `${'['.repeat(500)}${']'.repeat(500)}`,
      `${'- '.repeat(300)}x`,
      'accounts: !!js/function "function () { return 1 }"\n',
      'listen: !!binary aGVsbG8=\n',
      `${validText}---\n${validText}`,
      '__proto__: { polluted: true }\n',
      'callers: { constructor: { account: prod, scopes: ["*"] } }\n',
    ),
  );

  it('garbage never throws: either a policy, or problems that each carry a path', () => {
    fc.assert(
      fc.property(garbage, (text) => {
        let result: PolicyResult | undefined;
        expect(() => {
          result = parse(text);
        }).not.toThrow();
        if (!result!.ok) expectWellFormedRefusal(result!);
      }),
      RUNS,
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('valid variations (caller weights and waits, limits, timeouts, ports, a new caller, key order) still parse, to the values set', () => {
    const variation = fc.record({
      weight: fc.double({ min: 0.001, max: 1000, noNaN: true, noDefaultInfinity: true }),
      maxWaitMs: fc.integer({ min: 0, max: 60_000 }),
      maxQueued: fc.integer({ min: 1, max: 10_000 }),
      requestsPerMinute: fc.integer({ min: 1, max: 1_000_000 }),
      read: fc.double({ min: 0.01, max: 100_000, noNaN: true, noDefaultInfinity: true }),
      safety: fc.double({ min: 0.01, max: 1, noNaN: true, noDefaultInfinity: true }),
      timeoutMs: fc.integer({ min: 1, max: 600_000 }),
      ports: fc.uniqueArray(fc.integer({ min: 1, max: 65_535 }), { minLength: 2, maxLength: 2 }),
      issuer: fc.string({ minLength: 1, maxLength: 40 }).filter((s) => s.trim() !== ''),
      newCaller: fc.option(
        fc
          .stringMatching(/^[A-Za-z0-9][A-Za-z0-9:._@/-]{0,40}$/)
          .filter((name) => !['billing', 'autoscaler'].includes(name)),
      ),
      reorder: fc.boolean(),
    });
    fc.assert(
      fc.property(variation, (v) => {
        const doc = clone(VALID);
        set(doc, ['callers', 'billing', 'weight'], v.weight);
        set(doc, ['callers', 'billing', 'maxWaitMs'], v.maxWaitMs);
        set(doc, ['callers', 'autoscaler', 'maxQueued'], v.maxQueued);
        set(doc, ['callers', 'autoscaler', 'requestsPerMinute'], v.requestsPerMinute);
        set(doc, ['limits', 'default', 'read'], v.read);
        set(doc, ['limits', 'default', 'safety'], v.safety);
        set(doc, ['upstream', 'timeoutMs'], v.timeoutMs);
        set(doc, ['listen', 'port'], v.ports[0]!);
        set(doc, ['listen', 'adminPort'], v.ports[1]!);
        set(doc, ['auth', 'issuer'], v.issuer);
        if (v.newCaller !== null) set(doc, ['callers', v.newCaller], { account: 'prod', scopes: ['catalog:read'] });
        const ordered = v.reorder ? Object.fromEntries(Object.entries(doc).reverse()) : doc;
        const policy = mustParse(ordered);
        expect(policy.callers.billing).toMatchObject({ weight: v.weight, maxWaitMs: v.maxWaitMs });
        expect(policy.callers.autoscaler).toMatchObject({
          maxQueued: v.maxQueued,
          requestsPerMinute: v.requestsPerMinute,
        });
        expect(policy.accounts.prod!.limits).toMatchObject({ read: v.read, safety: v.safety });
        expect([policy.upstream.timeoutMs, policy.listen.port, policy.listen.adminPort, policy.auth.issuer]).toEqual([
          v.timeoutMs,
          v.ports[0],
          v.ports[1],
          v.issuer,
        ]);
        if (v.newCaller !== null)
          expect(policy.callers[v.newCaller]).toMatchObject({ id: v.newCaller, accountId: 'prod' });
      }),
      RUNS,
    );
  });
});
