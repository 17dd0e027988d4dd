/**
 * A policy of CHILD_PARSE_FROM_CHARS or more has its YAML read in a child process (issue #15). Each
 * document here goes both ways and must come out the same: values, problems, their paths and lines.
 * The same document reaches the child path by a comment appended after it, which moves no line.
 */
import childProcess from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  CHILD_PARSE_FROM_CHARS,
  loadSigningPolicyFile,
  parsePolicy,
  validatePolicyText,
} from '../../../src/gateway/policy/parse-policy';
import { readPolicyYaml, type PolicyYaml } from '../../../src/gateway/policy/policy-yaml';
import { readPolicyYamlInChild } from '../../../src/gateway/policy/policy-yaml-child';
import type { DocPath } from '../../../src/gateway/policy/problems';
import type { PolicyIo } from '../../../src/gateway/policy/types';
import { FIXTURES, fixtureIo } from '../../unit/policy/fixture-io';

// Each child started from the TypeScript sources compiles what it loads: a few seconds on a busy machine.
jest.setTimeout(120_000);

const padded = (text: string) => `${text}\n${'#'.repeat(CHILD_PARSE_FROM_CHARS)}\n`;
const fixture = (name: string) => path.join(FIXTURES, name);
const fixtureText = (name: string) => fs.readFileSync(fixture(name), 'utf8');

/** `callers` callers after a valid head; `tail` (a caller line, or anything) last, at a line the test knows. */
function largePolicy(callers: number, tail = ''): { text: string; tailLine: number } {
  const head = fixtureText('valid/minimal.yaml').trimEnd();
  const lines = Array.from({ length: callers }, (_, i) => `  caller-${i}: { account: prod, scopes: [catalog:read] }`);
  const text = `${head}\n${lines.join('\n')}\n${tail}\n`;
  return { text, tailLine: text.split('\n').length - 1 };
}

/** What a read gives, as plain data: the value or the problems, and the lines of `paths`. */
function outcome(read: PolicyYaml, paths: readonly DocPath[]) {
  return read.ok ? { value: read.value, lines: read.linesOf(paths) } : { problems: read.problems };
}

const PATHS: DocPath[] = [
  [],
  ['callers'],
  ['callers', 'billing', 'scopes', 0],
  ['callers', 'caller-2999', 'account'],
  ['callers', 'nobody', 'account'],
  ['auth', 'keys', 0, 'kid'],
  ['auth', 'keys', 9],
];

describe('readPolicyYaml in this process and in a child give the same result', () => {
  const texts: Array<[name: string, text: string]> = [
    ['valid/full.yaml', fixtureText('valid/full.yaml')],
    ['invalid/yaml-syntax.yaml', fixtureText('invalid/yaml-syntax.yaml')],
    ['invalid/yaml-duplicate-key.yaml', fixtureText('invalid/yaml-duplicate-key.yaml')],
    ['invalid/not-a-mapping.yaml', fixtureText('invalid/not-a-mapping.yaml')],
    ['invalid/caller-name-proto.yaml', fixtureText('invalid/caller-name-proto.yaml')],
    ['an empty document', ''],
    [
      'an alias bomb',
      `a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n`,
    ],
    ['3,000 callers', largePolicy(3000).text],
    ['3,000 callers, a flow map left open at the end', largePolicy(3000, '  last: { account: prod').text],
    ['3,000 callers, a key repeated at the end', largePolicy(3000, '  caller-7: { account: prod }').text],
    ['3,000 callers, one named __proto__ at the end', largePolicy(3000, '  __proto__: { account: prod }').text],
  ];

  it.each(texts)('%s', (_name, text) => {
    expect(outcome(readPolicyYamlInChild(text), PATHS)).toEqual(outcome(readPolicyYaml(text), PATHS));
  });

  it('the large documents among them are past the size that picks the child', () => {
    expect(largePolicy(3000).text.length).toBeGreaterThan(CHILD_PARSE_FROM_CHARS);
  });
});

describe('the loaders give the same result for a document past the size that picks the child', () => {
  // Watched, not replaced: the children run; the count tells which documents went to one.
  let spawnSync: jest.SpiedFunction<typeof childProcess.spawnSync>;
  beforeEach(() => {
    spawnSync = jest.spyOn(childProcess, 'spawnSync');
  });
  afterEach(() => spawnSync.mockRestore());
  const childrenStarted = () => spawnSync.mock.calls.filter(([command]) => command === process.execPath).length;

  /** Reads the policy file padded (so from a child), every other file as it is. */
  const paddedIo = (policyFile: string): PolicyIo => ({
    readEnv: fixtureIo.readEnv,
    readFile: (file) => (file === policyFile ? padded(fixtureIo.readFile(file)) : fixtureIo.readFile(file)),
  });

  // One document per source of problems: YAML, shape, references, resolution (env, files, keys).
  it.each([
    'invalid/yaml-syntax.yaml',
    'invalid/caller-name-proto.yaml',
    'invalid/caller-unknown-key.yaml',
    'invalid/caller-unknown-account.yaml',
    'invalid/env-not-set.yaml',
    'invalid/key-file-missing.yaml',
  ])('parsePolicy and validatePolicyText: %s', (name) => {
    const text = fixtureText(name);
    const inProcess = parsePolicy(text, fixture(name), fixtureIo);
    const inProcessShape = validatePolicyText(text);
    expect(inProcess.ok).toBe(false);
    expect(childrenStarted()).toBe(0);
    expect(parsePolicy(padded(text), fixture(name), fixtureIo)).toEqual(inProcess);
    expect(validatePolicyText(padded(text))).toEqual(inProcessShape);
    expect(childrenStarted()).toBeGreaterThanOrEqual(2);
  });

  it('parsePolicy: the full valid fixture, resolved the same', () => {
    const text = fixtureText('valid/full.yaml');
    const inProcess = parsePolicy(text, fixture('valid/full.yaml'), fixtureIo);
    const fromChild = parsePolicy(padded(text), fixture('valid/full.yaml'), fixtureIo);
    expect(childrenStarted()).toBe(1);
    if (!inProcess.ok || !fromChild.ok) throw new Error('the full fixture must be valid');
    expect(fromChild.policy).toEqual(inProcess.policy);
  });

  it('a child runs with a small young generation (a lower peak of memory beside the gateway)', () => {
    parsePolicy(padded(fixtureText('valid/full.yaml')), fixture('valid/full.yaml'), fixtureIo);
    expect(spawnSync).toHaveBeenCalledWith(
      process.execPath,
      expect.arrayContaining(['--max-semi-space-size=1', '-e']),
      expect.anything(),
    );
  });

  it('loadSigningPolicyFile: an HS256 secret too short, located the same', () => {
    const name = 'invalid/key-hs-secret-too-short.yaml';
    const inProcess = loadSigningPolicyFile(fixture(name), fixtureIo);
    expect(inProcess).toMatchObject({ ok: false, errors: [{ line: expect.any(Number) }] });
    expect(loadSigningPolicyFile(fixture(name), paddedIo(fixture(name)))).toEqual(inProcess);
    // One to read it, one to locate the problem.
    expect(childrenStarted()).toBe(2);
  });
});

describe('a 3,000-caller policy (past the size that picks the child)', () => {
  // Named as the minimal fixture, so its key file resolves from the fixture tree.
  const sourcePath = fixture('valid/minimal.yaml');

  it('loads with every caller', () => {
    const result = parsePolicy(largePolicy(3000).text, sourcePath, fixtureIo);
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    expect(Object.keys(result.policy.callers)).toHaveLength(3001);
  });

  it('a caller of an unknown account, last: its path and line', () => {
    const { text, tailLine } = largePolicy(3000, '  stray: { account: nowhere, scopes: [catalog:read] }');
    expect(parsePolicy(text, sourcePath, fixtureIo)).toEqual({
      ok: false,
      errors: [{ path: 'callers.stray.account', message: 'unknown account "nowhere"', line: tailLine }],
    });
  });

  it('an unknown key, last: its path and line', () => {
    const { text, tailLine } = largePolicy(3000, '  stray: { account: prod, scopes: [catalog:read], colour: red }');
    expect(parsePolicy(text, sourcePath, fixtureIo)).toEqual({
      ok: false,
      errors: [{ path: 'callers.stray.colour', message: 'unknown key', line: tailLine }],
    });
  });
});
