import { DEMO_KEYS } from '../../../src/sandbox/keys';
import { HELP_TEXT, parseCliArgs } from '../../../src/sandbox/cli-args';

describe('parseCliArgs', () => {
  it('defaults: port 4010 on 127.0.0.1, the demo keys, log level info', () => {
    expect(parseCliArgs([], {})).toEqual({
      kind: 'run',
      options: { port: 4010, host: '127.0.0.1', keys: DEMO_KEYS.map((k) => ({ ...k })) },
      logLevel: 'info',
      demoKeys: true,
      extraKeyLabels: [],
    });
  });

  it('maps every flag onto options, in both --flag value and --flag=value forms', () => {
    const parsed = parseCliArgs(
      [
        '--port=0',
        '--host',
        '0.0.0.0',
        '--profile',
        'launch',
        '--window=sliding',
        '--window-phase-ms',
        '250',
        '--read-limit',
        '28',
        '--write-limit=4',
        '--latency-ms',
        '5',
        '--jitter-ms',
        '3',
        '--create-delay-ms',
        '0',
        '--transition-delay-ms',
        '10',
        '--error-rate',
        '0.1',
        '--drop-rate',
        '0',
        '--slow-rate',
        '1',
        '--slow-ms',
        '200',
        '--seed',
        '42',
        '--body-limit-bytes',
        '1024',
        '--log-level',
        'silent',
      ],
      {},
    );
    expect(parsed).toMatchObject({
      kind: 'run',
      seed: 42,
      logLevel: 'silent',
      options: {
        port: 0,
        host: '0.0.0.0',
        profile: 'launch',
        window: 'sliding',
        windowPhaseMs: 250,
        limits: { readPerSecond: 28, writePerSecond: 4 },
        latencyMs: 5,
        jitterMs: 3,
        createDelayMs: 0,
        transitionDelayMs: 10,
        faults: { errorRate: 0.1, dropRate: 0, slowRate: 1, slowMs: 200 },
        bodyLimitBytes: 1024,
      },
    });
  });

  it('takes extra keys from --keys, else from STRETTCH_SANDBOX_KEYS; --keys wins', () => {
    const fromEnv = parseCliArgs([], { STRETTCH_SANDBOX_KEYS: 'env-key-123:ops:admin' });
    expect(fromEnv.kind === 'run' && fromEnv.options.keys!.map((k) => k.key)).toEqual([
      ...DEMO_KEYS.map((k) => k.key),
      'env-key-123',
    ]);
    const both = parseCliArgs(['--keys', 'flag-key-123:ops:member', '--no-demo-keys'], {
      STRETTCH_SANDBOX_KEYS: 'env-key-123:ops:admin',
    });
    expect(both).toMatchObject({
      kind: 'run',
      demoKeys: false,
      options: { keys: [{ key: 'flag-key-123', team: 'ops', role: 'member' }] },
    });
    expect(both.kind === 'run' && both.extraKeyLabels[0]).toMatch(/^ops:member:[0-9a-f]{8}$/);
  });

  it('an extra key equal to a demo key replaces it', () => {
    const parsed = parseCliArgs(['--keys', 'sandbox-owner-key:team-z:member'], {});
    const keys = parsed.kind === 'run' ? parsed.options.keys! : [];
    expect(keys.filter((k) => k.key === 'sandbox-owner-key')).toEqual([
      { key: 'sandbox-owner-key', team: 'team-z', role: 'member' },
    ]);
    expect(keys).toHaveLength(4);
  });

  it.each([
    [['--help'], 'help'],
    [['-h', '--bogus'], 'help'],
  ])('%j → %s', (argv, kind) => {
    expect(parseCliArgs(argv, {}).kind).toBe(kind);
  });

  it.each([
    [['--bogus'], 'unknown flag --bogus'],
    [['extra'], 'unknown flag extra'],
    [['--port'], '--port needs a value'],
    [['--port', '70000'], '--port: must be a whole number from 0 to 65535'],
    [['--port', '1', '--port', '2'], '--port is given more than once'],
    [['--window', 'rolling'], '--window: must be one of fixed, sliding'],
    [['--window-phase-ms', '1000'], '--window-phase-ms: must be a whole number from 0 to 999'],
    [['--error-rate', '1.5'], '--error-rate: must be a number from 0 to 1'],
    [['--error-rate', '-0'], '--error-rate: must be a number from 0 to 1'],
    [['--read-limit', '0'], '--read-limit: must be a whole number from 1'],
    [['--log-level', 'loud'], '--log-level: must be one of'],
    [['--no-demo-keys=yes'], '--no-demo-keys takes no value'],
    [['--no-demo-keys'], 'no keys'],
    [['--keys', 'a:b'], '--keys: entry 1: expected key:team:role'],
  ])('%j → error %s', (argv, message) => {
    const parsed = parseCliArgs(argv, {});
    expect(parsed.kind).toBe('error');
    expect(parsed.kind === 'error' && parsed.message).toContain(message);
  });

  it('reports a bad environment variable by name', () => {
    expect(parseCliArgs([], { STRETTCH_SANDBOX_KEYS: 'nope' })).toEqual({
      kind: 'error',
      message: 'STRETTCH_SANDBOX_KEYS: entry 1: expected key:team:role',
    });
  });

  it('the help text documents every flag', () => {
    for (const flag of [
      '--port',
      '--host',
      '--profile',
      '--window',
      '--window-phase-ms',
      '--read-limit',
      '--write-limit',
      '--all-limit',
      '--latency-ms',
      '--jitter-ms',
      '--create-delay-ms',
      '--transition-delay-ms',
      '--error-rate',
      '--drop-rate',
      '--slow-rate',
      '--slow-ms',
      '--seed',
      '--keys',
      '--no-demo-keys',
      '--body-limit-bytes',
      '--log-level',
      '--help',
    ]) {
      expect(HELP_TEXT).toContain(flag);
    }
  });
});
