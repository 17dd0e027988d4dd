/**
 * `ledger rebuild` without I/O: its arguments (every problem at once), its help, and the problems it
 * reports before it would open anything (policy, account, settings). The run itself is tested against
 * the real sandbox and Redis in test/integration/cli/ledger-rebuild.test.ts.
 */
import { parseCommandLine } from '../../../src/cli/args';
import type { CliIo } from '../../../src/cli/io';
import { LEDGER_HELP, runLedger } from '../../../src/cli/ledger';
import { parseLedgerArgs } from '../../../src/cli/ledger-args';
import { formatRebuild } from '../../../src/cli/ledger-format';
import { planLedgerRebuild } from '../../../src/gateway/least-privilege/ledger-rebuild';

function memoryIo(files: Record<string, string> = {}, settingsEnv: Record<string, string> = {}) {
  const out = { stdout: '', stderr: '' };
  const io: CliIo = {
    readFile: (file) => {
      if (!Object.hasOwn(files, file)) throw Object.assign(new Error(`ENOENT: ${file}`), { code: 'ENOENT' });
      return files[file]!;
    },
    readEnv: (name) => ({ KEY: 'sk-test-secret-key-value', HS: HS_SECRET })[name],
    settingsEnv,
    stdout: (text) => void (out.stdout += text),
    stderr: (text) => void (out.stderr += text),
  };
  return { io, out };
}

const HS_SECRET = '9f2c4e6a8b0d1f3e5a7c9b1d3f5e7a9c0b2d4f6e8a1c3e5b7d9f0a2c4e6b8d0f';
const POLICY = `
upstream: { baseUrl: "http://127.0.0.1:9/api/v1" }
accounts: { prod: { apiKey: { env: KEY } } }
auth:
  issuer: https://auth.test
  audience: gw
  keys: [{ kid: k, algorithms: [HS256], secret: { env: HS } }]
callers: { ci: { account: prod, scopes: ["computes:*"] } }
`;

describe('parseLedgerArgs', () => {
  it('reads the subcommand, the account, the policy and the switches', () => {
    expect(parseLedgerArgs(['rebuild', '--account', 'prod', '--config=p.yaml', '--apply'])).toEqual({
      ok: true,
      settings: { accountId: 'prod', configPath: 'p.yaml', apply: true, json: false, help: false },
    });
  });

  it('a dry run unless --apply', () => {
    const parsed = parseLedgerArgs(['rebuild', '--account', 'a', '--config', 'p.yaml']);
    expect(parsed.ok && parsed.settings.apply).toBe(false);
  });

  it.each([
    [
      [],
      [
        'name the subcommand: rebuild',
        '--account: name the account whose ledger to rebuild',
        '--config: name the policy the gateway runs (the account key and limits)',
      ],
    ],
    [['repair', '--account', 'a', '--config', 'p'], ['unknown subcommand "repair" (known: rebuild)']],
    [['rebuild', 'x', '--account', 'a', '--config', 'p'], ['unexpected argument "x"']],
    [
      ['rebuild', '--bogus'],
      [
        '--bogus: unknown option',
        '--account: name the account whose ledger to rebuild',
        '--config: name the policy the gateway runs (the account key and limits)',
      ],
    ],
    [['rebuild', '--account'], expect.arrayContaining(['--account: needs a value'])],
  ])('%j → every problem named', (argv, problems) => {
    expect(parseLedgerArgs(argv)).toEqual({ ok: false, problems });
  });

  it('the bin knows the command; help needs nothing else', () => {
    expect(parseCommandLine(['ledger', 'rebuild'])).toEqual({ kind: 'run', command: 'ledger', argv: ['rebuild'] });
    expect(parseCommandLine(['help', 'ledger'])).toEqual({ kind: 'help', command: 'ledger' });
    expect(parseLedgerArgs(['--help'])).toMatchObject({ ok: true, settings: { help: true } });
  });
});

describe('runLedger before opening anything', () => {
  it('--help prints the help, exit 0', async () => {
    const { io, out } = memoryIo();
    expect(await runLedger(['--help'], io)).toBe(0);
    expect(out.stdout).toBe(`${LEDGER_HELP}\n`);
  });

  it('a usage error prints the problems and the help, exit 2', async () => {
    const { io, out } = memoryIo();
    expect(await runLedger(['rebuild'], io)).toBe(2);
    expect(out.stderr).toContain('ledger: --account: name the account whose ledger to rebuild\n');
    expect(out.stderr).toContain(LEDGER_HELP);
  });

  it('an invalid policy: every problem with its path, exit 1', async () => {
    const { io, out } = memoryIo({ 'p.yaml': 'accounts: 3\n' }, { REDIS_URL: 'redis://127.0.0.1:1' });
    expect(await runLedger(['rebuild', '--account', 'prod', '--config', 'p.yaml'], io)).toBe(1);
    expect(out.stderr).toMatch(/^ledger rebuild: p\.yaml:1: accounts/m);
  });

  it('an unknown account, or no REDIS_URL, or an invalid setting: exit 2, named; the key never printed', async () => {
    const cases: [string, Record<string, string>, string][] = [
      ['staging', { REDIS_URL: 'redis://127.0.0.1:1' }, 'unknown account "staging" (accounts: prod)'],
      ['prod', {}, 'REDIS_URL (or REDIS_SENTINELS, or REDIS_CLUSTER_NODES): required'],
      ['prod', { REDIS_URL: 'http://x' }, 'REDIS_URL: must start with redis:// or rediss://'],
    ];
    for (const [account, env, problem] of cases) {
      const { io, out } = memoryIo({ 'p.yaml': POLICY }, env);
      expect(await runLedger(['rebuild', '--account', account, '--config', 'p.yaml'], io)).toBe(2);
      expect(out.stderr).toContain(problem);
      expect(out.stdout + out.stderr).not.toContain('sk-test-secret-key-value');
    }
  });
});

describe('formatRebuild', () => {
  const plan = planLedgerRebuild({
    accountCallers: ['ci'],
    computes: Array.from({ length: 25 }, (_, i) => ({ id: String(i + 1), state: 'RUNNING', tags: ['owner:ci'] })),
    live: new Map([['99', 'ci']]),
    owners: new Map(),
  });

  it('long id lists are cut at 20 (the JSON has them all); every change has its line', () => {
    const text = formatRebuild({ accountId: 'prod', apply: false, pages: 1, plan });
    expect(text).toContain(
      '  ci  1 → 25  1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, … (5 more)',
    );
    expect(text).toContain('changes (51)');
    expect(text).toContain('  live  99: ci → (none)');
  });

  it('after --apply, what was written and what was skipped', () => {
    const text = formatRebuild({ accountId: 'prod', apply: true, pages: 1, plan, result: { applied: 50, stale: 1 } });
    expect(text).toContain('written: 50 change(s); 1 skipped because the ledger changed meanwhile');
  });
});
