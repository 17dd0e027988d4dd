import { runCheckConfig } from '../../../src/cli/check-config';
import type { CliIo } from '../../../src/cli/io';
import { describeAccountLimits, summarizePolicy } from '../../../src/cli/policy-summary';
import {
  loadPolicyFileWithoutSecrets,
  policyWithoutSecrets,
  UNRESOLVED_SECRET,
} from '../../../src/cli/policy-without-secrets';
import { fixturePolicy, POLICY_PATH, POLICY_TEXT, SECRETS } from './policy-fixture';

const STAGING_KEY_PATH = '/etc/gateway/secrets/staging';

function memoryIo(files: Record<string, string>, env: Record<string, string>) {
  const out = { stdout: '', stderr: '', read: [] as string[], env: [] as string[] };
  const io: CliIo = {
    readFile: (file) => {
      out.read.push(file);
      if (!Object.hasOwn(files, file)) throw Object.assign(new Error('no such file'), { code: 'ENOENT' });
      return files[file]!;
    },
    readEnv: (name) => {
      out.env.push(name);
      return env[name];
    },
    stdout: (text) => void (out.stdout += text),
    stderr: (text) => void (out.stderr += text),
  };
  return { io, out };
}

const allFiles = { [POLICY_PATH]: POLICY_TEXT, [STAGING_KEY_PATH]: `${SECRETS.staging}\n` };
const allEnv = { KEY_PROD: SECRETS.KEY_PROD, HS_SECRET: SECRETS.HS_SECRET };

function expectNoSecret(text: string) {
  for (const secret of Object.values(SECRETS)) expect(text).not.toContain(secret);
}

describe('runCheckConfig', () => {
  it('resolves the secrets by default, as start does, and prints a summary without them: exit 0', () => {
    const { io, out } = memoryIo(allFiles, allEnv);
    expect(runCheckConfig([POLICY_PATH], io)).toBe(0);
    expect(out.stderr).toBe('');
    expect(out.read).toEqual([POLICY_PATH, STAGING_KEY_PATH]);
    expect(out.env.sort()).toEqual(['HS_SECRET', 'KEY_PROD']);
    expect(out.stdout).toContain(`${POLICY_PATH}: valid\n`);
    expect(out.stdout).toContain('keys hs (HS256)');
    expectNoSecret(out.stdout);
  });

  it('lists every missing secret with its path: exit 1', () => {
    const { io, out } = memoryIo({ [POLICY_PATH]: POLICY_TEXT }, {});
    expect(runCheckConfig([POLICY_PATH], io)).toBe(1);
    expect(out.stdout).toBe('');
    expect(out.stderr).toBe(
      [
        `${POLICY_PATH}:3: accounts.prod.apiKey.env: environment variable KEY_PROD is not set`,
        `${POLICY_PATH}:4: accounts.staging.apiKey.file: cannot read file ${STAGING_KEY_PATH} (ENOENT)`,
        `${POLICY_PATH}:12: auth.keys[0].secret.env: environment variable HS_SECRET is not set`,
        `check-config: 3 problem(s) in ${POLICY_PATH}`,
        '',
      ].join('\n'),
    );
  });

  it('with --no-secrets reads only the policy file and no environment variable: exit 0', () => {
    const { io, out } = memoryIo({ [POLICY_PATH]: POLICY_TEXT }, {});
    expect(runCheckConfig(['--no-secrets', POLICY_PATH], io)).toBe(0);
    expect(out.read).toEqual([POLICY_PATH]);
    expect(out.env).toEqual([]);
    expect(out.stdout).toContain('valid in shape and references (secrets not resolved: --no-secrets)');
    expect(out.stdout).toContain('keys not loaded (--no-secrets)');
    expect(out.stdout).not.toContain(UNRESOLVED_SECRET);
  });

  it.each([
    [
      'an unknown key',
      POLICY_TEXT.replace('scopes: [inventory]', 'scopes: [inventory], scope: [inventory]'),
      `${POLICY_PATH}:18: callers.ci-smoke.scope: unknown key`,
    ],
    [
      'an unknown scope',
      POLICY_TEXT.replace('[inventory]', '[inventori]'),
      `${POLICY_PATH}:18: callers.ci-smoke.scopes[0]: unknown scope "inventori"`,
    ],
    [
      'an unknown account',
      POLICY_TEXT.replace('account: staging', 'account: stagin'),
      `${POLICY_PATH}:18: callers.ci-smoke.account: unknown account "stagin"`,
    ],
    [
      'a literal secret',
      POLICY_TEXT.replace('{ env: KEY_PROD }', `"${SECRETS.KEY_PROD}"`),
      `${POLICY_PATH}:3: accounts.prod.apiKey: must be a reference`,
    ],
  ])('with --no-secrets still finds %s: exit 1', (_name, text, problem) => {
    const { io, out } = memoryIo({ [POLICY_PATH]: text }, {});
    expect(runCheckConfig([POLICY_PATH, '--no-secrets'], io)).toBe(1);
    expect(out.stderr).toContain(problem);
    expect(out.stderr).toMatch(/check-config: \d+ problem\(s\) in /);
    expect(out.stdout).toBe('');
    expectNoSecret(out.stderr);
  });

  it('reports a missing file as a problem: exit 1', () => {
    const { io, out } = memoryIo({}, {});
    expect(runCheckConfig(['/nowhere.yaml', '--no-secrets'], io)).toBe(1);
    expect(out.stderr).toContain('/nowhere.yaml: (file): cannot read policy file /nowhere.yaml (ENOENT)');
  });

  it.each([
    [[], 'check-config: name the policy file'],
    [['a.yaml', 'b.yaml'], 'check-config: unexpected argument "b.yaml"'],
    [['a.yaml', '--secrets'], 'check-config: --secrets: unknown option'],
  ])('%j is a usage error: exit 2', (argv, message) => {
    const { io, out } = memoryIo({}, {});
    expect(runCheckConfig(argv, io)).toBe(2);
    expect(out.stderr).toContain(message);
    expect(out.stderr).toContain('Usage: strettch-gateway check-config');
  });

  it('prints its help on stdout with --help', () => {
    const { io, out } = memoryIo({}, {});
    expect(runCheckConfig(['--help'], io)).toBe(0);
    expect(out.stdout).toContain('--no-secrets');
  });
});

describe('summarizePolicy', () => {
  const summary = summarizePolicy(fixturePolicy(), { secretsResolved: false });

  it.each([
    'accounts (2)\n',
    '  prod        read 30/s, write 5/s × safety 0.95 = 28.5 reads/s, 4.75 writes/s\n',
    '  staging     all 2/s × safety 0.95 = 1.9/s\n',
    'callers (3)\n',
    '  billing     account prod, weight 1, maxWaitMs 1000; scopes computes:read, catalog:read\n',
    '  operator    account prod, weight 2, maxWaitMs 3000, requestsPerMinute 600; scopes computes:read, computes:create, computes:power, computes:resize, computes:delete\n',
    '  ci-smoke    account staging, weight 1, maxWaitMs 1000; scopes inventory\n',
    'scopes (7)\n',
    '  computes:power   computes.start, computes.stop, computes.reboot\n',
    '  inventory        computes.list, regions.list\n',
  ])('has %j', (fragment) => {
    expect(summary).toContain(fragment);
  });
});

describe('describeAccountLimits', () => {
  it.each([
    [{ read: 30, write: 5, safety: 1 } as const, 'read 30/s, write 5/s × safety 1 = 30 reads/s, 5 writes/s'],
    [{ all: 3, safety: 0.9 } as const, 'all 3/s × safety 0.9 = 2.7/s'],
    [
      { read: 30, write: 5, safety: 0.95, auto: { bounds: { minPerSecond: 1, maxPerSecond: 30 } } } as const,
      "auto within 1–30/s (follows the provider's headers), initially " +
        'read 30/s, write 5/s × safety 0.95 = 28.5 reads/s, 4.75 writes/s',
    ],
    [
      { all: 2, safety: 0.95, adaptiveSafety: { min: 0.9, max: 0.995 } } as const,
      'all 2/s × safety 0.95 = 1.9/s at first; safety adaptive within 0.9–0.995 (sized from measured send delays)',
    ],
  ])('%j', (limits, text) => {
    expect(describeAccountLimits(limits)).toBe(text);
  });
});

describe('loadPolicyFileWithoutSecrets', () => {
  it('resolves every account to a placeholder that is never enumerable', () => {
    const loaded = loadPolicyFileWithoutSecrets(POLICY_PATH, () => POLICY_TEXT);
    if (!loaded.ok) throw new Error('expected a policy');
    expect(loaded.policy.accounts.prod!.apiKey).toBe(UNRESOLVED_SECRET);
    expect(JSON.stringify(loaded.policy)).not.toContain(UNRESOLVED_SECRET);
    expect(loaded.policy.auth.keys).toEqual([]);
  });
});

describe('summarizePolicy with claim rules', () => {
  const text = POLICY_TEXT.replace(
    '  ci-smoke: { account: staging, scopes: [inventory] }',
    '  shop: { account: staging, scopes: [inventory], match: { claims: { kubernetes.io/namespace: shop } } }',
  );
  const result = policyWithoutSecrets(text, POLICY_PATH);

  it('shows the rule a caller is matched by, under its scopes', () => {
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    const summary = summarizePolicy(result.policy, { secretsResolved: false });
    expect(summary).toMatch(
      / {2}shop {8}account staging, .*\n {14}matched by claim rule: kubernetes\.io\/namespace = shop\n/,
    );
    expect(summary).not.toMatch(/billing .*\n +matched by/);
  });
});
