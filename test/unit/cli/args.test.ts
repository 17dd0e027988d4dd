import { parseTokenArgs } from '../../../src/cli/args';
import { parseStartArgs } from '../../../src/cli/start-args';
import { SCHEDULE_TUNING_DEFAULTS } from '../../../src/schedule';
import { CONNECTION_LIMIT_DEFAULTS } from '../../../src/shared/connection-limits';

describe('parseStartArgs', () => {
  it('defaults to the embedded default with info logs', () => {
    const parsed = parseStartArgs([], {});
    if (!parsed.ok) throw new Error(parsed.problems.join('\n'));
    expect(parsed.settings.help).toBe(false);
    expect(parsed.settings.version).toBe(false);
    expect(parsed.settings.settings).toEqual({
      configPath: undefined,
      watch: false,
      host: undefined,
      port: undefined,
      adminPort: undefined,
      logLevel: 'info',
      audit: { kind: 'stdout' },
      redisUrl: undefined,
      redisCommandTimeoutMs: 150,
      redisConnectTimeoutMs: 1000,
      expectedReplicas: 1,
      singleReplica: false,
      warmUpConnections: 4,
      connectionLimits: CONNECTION_LIMIT_DEFAULTS,
      schedule: SCHEDULE_TUNING_DEFAULTS,
      tracing: { enabled: false, why: 'not-configured' },
      tracingVariables: { headersSet: false, tracesHeadersSet: false },
    });
  });

  it.each([
    [['--config', 'a.yaml'], {}, { configPath: 'a.yaml' }],
    [['--config=a.yaml'], {}, { configPath: 'a.yaml' }],
    [[], { PORT: '0', ADMIN_PORT: '9191', HOST: '0.0.0.0' }, { port: 0, adminPort: 9191, host: '0.0.0.0' }],
    [['--help'], { LOG_LEVEL: 'debug' }, { logLevel: 'debug' }],
    [['--watch'], {}, { watch: true }],
    [[], { CONFIG_WATCH: '1' }, { watch: true }],
    [
      [],
      { REDIS_URL: 'redis://127.0.0.1:6390', GATEWAY_REPLICAS: '3' },
      { redisUrl: 'redis://127.0.0.1:6390', expectedReplicas: 3 },
    ],
    [[], { REDIS_COMMAND_TIMEOUT_MS: '400' }, { redisCommandTimeoutMs: 400 }],
    [[], { AUDIT_LOG: '/var/log/audit.jsonl' }, { audit: { kind: 'file', path: '/var/log/audit.jsonl' } }],
  ])('%j with %j', (argv, env, expected) => {
    const parsed = parseStartArgs(argv, env);
    expect(parsed).toMatchObject({ ok: true, settings: { settings: expected } });
  });

  it.each([
    [['--help'], { help: true, version: false }],
    [['--version'], { help: false, version: true }],
  ])('%j', (argv, expected) => {
    expect(parseStartArgs(argv, {})).toMatchObject({ ok: true, settings: expected });
  });

  it('reports every problem at once: flags, arguments and each variable', () => {
    expect(parseStartArgs(['--nope', 'stray'], { PORT: 'x', LOG_LEVEL: 'loud', AUDIT_LOG: 'a\nb' })).toEqual({
      ok: false,
      problems: [
        '--nope: unknown option',
        'unexpected argument "stray"',
        'PORT: must be a port number from 0 to 65535',
        'LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent',
        'AUDIT_LOG: must be "stdout" or a file path',
      ],
    });
  });

  it.each([
    [['--config'], {}, '--config: needs a value'],
    [['--nope'], {}, '--nope: unknown option'],
    [['stray'], {}, 'unexpected argument "stray"'],
    [[], { PORT: '80a' }, 'PORT: must be a port number from 0 to 65535'],
    [[], { ADMIN_PORT: '70000' }, 'ADMIN_PORT: must be a port number from 0 to 65535'],
    [[], { LOG_LEVEL: 'loud' }, 'LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent'],
    [[], { GATEWAY_REPLICAS: '0' }, 'GATEWAY_REPLICAS: must be a whole number from 1 to 9999'],
    [[], { REDIS_URL: 'http://x' }, 'REDIS_URL: must start with redis:// or rediss://'],
    [
      [],
      { REDIS_COMMAND_TIMEOUT_MS: '5' },
      'REDIS_COMMAND_TIMEOUT_MS: must be a whole number of milliseconds from 10 to 10000',
    ],
    [
      [],
      { REDIS_COMMAND_TIMEOUT_MS: '1e3' },
      'REDIS_COMMAND_TIMEOUT_MS: must be a whole number of milliseconds from 10 to 10000',
    ],
  ])('refuses %j %j', (argv, env, problem) => {
    expect(parseStartArgs(argv, env)).toEqual({ ok: false, problems: [problem] });
  });
});

describe('parseTokenArgs', () => {
  it('takes a caller, a lifetime, a scope and a policy', () => {
    expect(
      parseTokenArgs([
        'demo-reader',
        '--lifetime',
        '60',
        '--scope',
        'computes:read',
        '--config',
        'p.yaml',
        '--kid',
        'hs',
      ]),
    ).toEqual({
      ok: true,
      settings: {
        caller: 'demo-reader',
        lifetimeSec: 60,
        scope: 'computes:read',
        configPath: 'p.yaml',
        kid: 'hs',
        help: false,
      },
    });
  });

  it('defaults the lifetime to 15 minutes', () => {
    expect(parseTokenArgs(['x'])).toMatchObject({ ok: true, settings: { lifetimeSec: 900 } });
  });

  it.each([
    [[], 'name the caller, e.g. demo-reader'],
    [['a', 'b'], 'unexpected argument "b"'],
    [['a', '--lifetime', '0'], '--lifetime: seconds from 1 to 3600'],
    [['a', '--lifetime', '3601'], '--lifetime: seconds from 1 to 3600'],
    [['a', '--lifetime', '1e3'], '--lifetime: seconds from 1 to 3600'],
  ])('refuses %j', (argv, problem) => {
    expect(parseTokenArgs(argv)).toEqual({ ok: false, problems: [problem] });
  });
});
