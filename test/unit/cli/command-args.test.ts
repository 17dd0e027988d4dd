import {
  COMMANDS,
  parseCheckConfigArgs,
  parseCommandLine,
  parseExplainArgs,
  parseRequestLine,
  splitScopeClaim,
} from '../../../src/cli/args';
import { BIN_USAGE } from '../../../src/cli/usage';

describe('parseCommandLine', () => {
  it.each([
    [['start'], { kind: 'run', command: 'start', argv: [] }],
    [['start', '--config', 'p.yaml'], { kind: 'run', command: 'start', argv: ['--config', 'p.yaml'] }],
    [
      ['check-config', 'p.yaml', '--no-secrets'],
      { kind: 'run', command: 'check-config', argv: ['p.yaml', '--no-secrets'] },
    ],
    [['token', 'demo-reader'], { kind: 'run', command: 'token', argv: ['demo-reader'] }],
    [['explain', 'a', 'GET /x', '--help'], { kind: 'run', command: 'explain', argv: ['a', 'GET /x', '--help'] }],
    [['--help'], { kind: 'help' }],
    [['-h'], { kind: 'help' }],
    [['help'], { kind: 'help' }],
    [['help', 'explain'], { kind: 'help', command: 'explain' }],
    [[], { kind: 'usage-error', problem: 'name a command' }],
    [['stop'], { kind: 'usage-error', problem: 'unknown command "stop"' }],
    [['--config', 'p.yaml'], { kind: 'usage-error', problem: '--config: unknown option (name a command first)' }],
    [['help', 'stop'], { kind: 'usage-error', problem: 'unknown command "stop"' }],
    [['help', 'start', 'token'], { kind: 'usage-error', problem: 'unexpected argument "token"' }],
  ])('%j', (argv, expected) => {
    expect(parseCommandLine(argv)).toEqual(expected);
  });

  it.each(COMMANDS)('the usage names %s', (command) => {
    expect(BIN_USAGE).toContain(`  ${command} `);
    expect(BIN_USAGE).toContain(`strettch-gateway ${command} `);
  });
});

describe('parseCheckConfigArgs', () => {
  it.each([
    [['p.yaml'], { configPath: 'p.yaml', resolveSecrets: true, help: false }],
    [['--no-secrets', 'p.yaml'], { configPath: 'p.yaml', resolveSecrets: false, help: false }],
    [['--help'], { configPath: undefined, resolveSecrets: true, help: true }],
  ])('%j', (argv, settings) => {
    expect(parseCheckConfigArgs(argv)).toEqual({ ok: true, settings });
  });

  it.each([
    [[], 'name the policy file, e.g. config/gateway.yaml'],
    [['a', 'b'], 'unexpected argument "b"'],
    [['--config', 'a'], '--config: unknown option'],
  ])('refuses %j', (argv, problem) => {
    expect(parseCheckConfigArgs(argv)).toMatchObject({ ok: false, problems: expect.arrayContaining([problem]) });
  });
});

describe('parseRequestLine', () => {
  it.each([
    ['GET /api/v1/computes', { method: 'GET', target: '/api/v1/computes' }],
    ['  POST   /api/v1/computes/1/stop ', { method: 'POST', target: '/api/v1/computes/1/stop' }],
    ['get /x?a=1&b=2', { method: 'get', target: '/x?a=1&b=2' }],
    ['GET', undefined],
    ['GET /a /b', undefined],
    ['', undefined],
  ])('%j', (text, expected) => {
    expect(parseRequestLine(text)).toEqual(expected);
  });
});

describe('splitScopeClaim', () => {
  it.each([
    ['computes:read', ['computes:read']],
    ['computes:read  catalog:*', ['computes:read', 'catalog:*']],
    ['', []],
    [' ', []],
  ])('%j', (claim, scopes) => {
    expect(splitScopeClaim(claim)).toEqual(scopes);
  });
});

describe('parseExplainArgs', () => {
  const base = { configPath: undefined, tokenScopes: undefined, json: false, help: false };

  it.each([
    [
      ['demo-reader', 'GET /api/v1/computes'],
      { ...base, caller: 'demo-reader', method: 'GET', target: '/api/v1/computes' },
    ],
    [
      ['demo-reader', 'GET', '/api/v1/computes'],
      { ...base, caller: 'demo-reader', method: 'GET', target: '/api/v1/computes' },
    ],
    [
      ['--json', 'ops', 'DELETE /api/v1/computes/1', '--config', 'p.yaml', '--scope', 'computes:read computes:delete'],
      {
        ...base,
        caller: 'ops',
        method: 'DELETE',
        target: '/api/v1/computes/1',
        configPath: 'p.yaml',
        tokenScopes: ['computes:read', 'computes:delete'],
        json: true,
      },
    ],
    [['ops', 'GET /x', '--scope='], { ...base, caller: 'ops', method: 'GET', target: '/x', tokenScopes: [] }],
    [['--help'], { ...base, caller: undefined, method: undefined, target: undefined, help: true }],
  ])('%j', (argv, settings) => {
    expect(parseExplainArgs(argv)).toEqual({ ok: true, settings });
  });

  it.each([
    [[], 'name the caller, e.g. demo-reader'],
    [['ops'], 'name the request, e.g. "GET /api/v1/computes"'],
    [['ops', 'GET'], 'the request must be "<METHOD> <path>", e.g. "GET /api/v1/computes"'],
    [['ops', 'GET /a /b'], 'the request must be "<METHOD> <path>", e.g. "GET /api/v1/computes"'],
    [['ops', 'GET', '/a', 'extra'], 'unexpected argument "extra"'],
    [['ops', 'GET /a', '--scope'], '--scope: needs a value'],
    [['ops', 'GET /a', '--kid=k'], '--kid: unknown option'],
  ])('refuses %j', (argv, problem) => {
    expect(parseExplainArgs(argv)).toEqual({ ok: false, problems: [problem] });
  });
});
