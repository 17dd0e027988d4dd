import {
  embeddedPolicyForExplain,
  explainRequest,
  limitFor,
  runExplain,
  type Explanation,
} from '../../../src/cli/explain';
import { describeLimit, formatExplanation } from '../../../src/cli/explain-format';
import type { CliIo } from '../../../src/cli/io';
import { fixturePolicy, POLICY_PATH, POLICY_TEXT } from './policy-fixture';

const policy = fixturePolicy();

describe('explainRequest', () => {
  it.each<[string, string, string, string, string[] | undefined, Partial<Explanation> & Record<string, unknown>]>([
    [
      'allowed, per-class read limit',
      'billing',
      'GET',
      '/api/v1/computes',
      undefined,
      {
        outcome: 'granted',
        allowed: true,
        grantedBy: 'computes:read',
        operation: expect.objectContaining({ id: 'computes.list', class: 'read', upstreamPath: '/computes' }),
        limit: { accountId: 'prod', class: 'read', ratePerSecond: 30, safety: 0.95, effectivePerSecond: 28.5 },
      },
    ],
    [
      'allowed, per-class write limit',
      'operator',
      'POST',
      '/api/v1/computes/42/stop',
      undefined,
      {
        outcome: 'granted',
        grantedBy: 'computes:power',
        limit: { accountId: 'prod', class: 'write', ratePerSecond: 5, safety: 0.95, effectivePerSecond: 4.75 },
        caller: {
          id: 'operator',
          accountId: 'prod',
          scopes: ['computes:read', 'computes:create', 'computes:power', 'computes:resize', 'computes:delete'],
          weight: 2,
          maxWaitMs: 3000,
          requestsPerMinute: 600,
        },
      },
    ],
    [
      'allowed, one-class limit for reads',
      'ci-smoke',
      'GET',
      '/api/v1/regions',
      undefined,
      {
        outcome: 'granted',
        grantedBy: 'inventory',
        limit: { accountId: 'staging', class: 'all', ratePerSecond: 2, safety: 0.95, effectivePerSecond: 1.9 },
      },
    ],
    [
      'missing scope, named as the gateway names it',
      'billing',
      'POST',
      '/api/v1/computes/42/stop',
      undefined,
      {
        outcome: 'missing-scope',
        allowed: false,
        status: 403,
        code: 'FORBIDDEN',
        missingScope: 'computes:power',
        narrowedByToken: false,
        caller: expect.objectContaining({ id: 'billing', scopes: ['computes:read', 'catalog:read'] }),
      },
    ],
    [
      'missing scope of a policy scope',
      'ci-smoke',
      'GET',
      '/api/v1/images',
      undefined,
      { outcome: 'missing-scope', missingScope: 'catalog:read' },
    ],
    [
      'unknown caller',
      'nobody',
      'GET',
      '/api/v1/computes',
      undefined,
      {
        outcome: 'unknown-caller',
        allowed: false,
        status: 403,
        knownCallers: ['billing', 'operator', 'ci-smoke'],
      },
    ],
    [
      'a caller name from the prototype is unknown',
      'constructor',
      'GET',
      '/api/v1/computes',
      undefined,
      { outcome: 'unknown-caller' },
    ],
    [
      'unknown route',
      'billing',
      'GET',
      '/api/v1/volumes',
      undefined,
      {
        outcome: 'unknown-route',
        allowed: false,
        status: 404,
        code: 'ROUTE_NOT_FOUND',
        reason: 'no-route',
        message: 'No such operation.',
      },
    ],
    [
      'unknown route: base path left out',
      'billing',
      'GET',
      '/computes',
      undefined,
      {
        outcome: 'unknown-route',
        reason: 'outside-base-path',
        hint: 'paths include the base path: did you mean /api/v1/computes?',
      },
    ],
    [
      'unknown route: lower-case method',
      'billing',
      'get',
      '/api/v1/computes',
      undefined,
      {
        outcome: 'unknown-route',
        reason: 'method-not-allowed',
        hint: 'methods are case-sensitive: did you mean GET?',
      },
    ],
    [
      'unknown route: wrong method',
      'billing',
      'PUT',
      '/api/v1/computes',
      undefined,
      { outcome: 'unknown-route', reason: 'method-not-allowed' },
    ],
    [
      'bad target: dot segment',
      'billing',
      'GET',
      '/api/v1/computes/../regions',
      undefined,
      {
        outcome: 'bad-target',
        allowed: false,
        status: 400,
        code: 'BAD_REQUEST',
        reason: 'dot-segment',
      },
    ],
    [
      'bad target: encoded slash',
      'billing',
      'GET',
      '/api/v1/computes%2F1',
      undefined,
      { outcome: 'bad-target', reason: 'encoded-separator' },
    ],
    [
      'bad target: bad id',
      'billing',
      'GET',
      '/api/v1/computes/01',
      undefined,
      { outcome: 'bad-target', reason: 'bad-path-parameter', message: 'Path parameter "id" is not valid.' },
    ],
    [
      'bad target: undeclared query parameter',
      'billing',
      'GET',
      '/api/v1/computes?debug=1',
      undefined,
      { outcome: 'bad-target', reason: 'unknown-query-parameter' },
    ],
    [
      'bad target: a query value outside the document\u2019s bounds (the provider\u2019s code)',
      'billing',
      'GET',
      '/api/v1/computes?limit=1000000',
      undefined,
      {
        outcome: 'bad-target',
        allowed: false,
        status: 400,
        code: 'VALIDATION_ERROR',
        reason: 'query-value-out-of-bounds',
        message: 'Query parameter "limit" must be a whole number from 1 to 100.',
      },
    ],
    [
      'bad target: an encoded unreserved character',
      'billing',
      'GET',
      '/%61pi/v1/computes',
      undefined,
      { outcome: 'bad-target', code: 'BAD_REQUEST', reason: 'encoded-unreserved' },
    ],
    [
      'health is public, for any caller',
      'nobody',
      'GET',
      '/api/v1/health',
      undefined,
      {
        outcome: 'public',
        allowed: true,
        operation: expect.objectContaining({ id: 'health', requiresAuth: false }),
      },
    ],
    ['health is public, whatever the token scopes', 'billing', 'GET', '/api/v1/health', [], { outcome: 'public' }],
    [
      'token scope keeps what it names',
      'operator',
      'GET',
      '/api/v1/computes/7',
      ['computes:read'],
      {
        outcome: 'granted',
        grantedBy: 'computes:read',
        tokenScopes: ['computes:read'],
      },
    ],
    [
      'token scope narrows the grant',
      'operator',
      'POST',
      '/api/v1/computes/7/stop',
      ['computes:read'],
      {
        outcome: 'missing-scope',
        missingScope: 'computes:power',
        narrowedByToken: true,
        tokenScopes: ['computes:read'],
      },
    ],
    [
      'token pattern narrows to a prefix',
      'operator',
      'DELETE',
      '/api/v1/computes/7',
      ['computes:*'],
      { outcome: 'granted', grantedBy: 'computes:delete' },
    ],
    [
      'an empty scope claim grants nothing',
      'billing',
      'GET',
      '/api/v1/computes',
      [],
      { outcome: 'missing-scope', narrowedByToken: true, tokenScopes: [] },
    ],
    [
      'a token cannot add a scope',
      'billing',
      'POST',
      '/api/v1/computes/7/stop',
      ['computes:power'],
      {
        outcome: 'missing-scope',
        narrowedByToken: false,
        ignoredTokenScopes: ['computes:power'],
      },
    ],
  ])('%s', (_name, caller, method, target, tokenScopes, expected) => {
    expect(explainRequest(policy, caller, method, target, tokenScopes)).toMatchObject(expected);
  });

  it('says nothing about token scopes when the token has no claim', () => {
    const explanation = explainRequest(policy, 'billing', 'GET', '/api/v1/computes');
    expect(explanation).not.toHaveProperty('tokenScopes');
    expect(explanation).not.toHaveProperty('ignoredTokenScopes');
  });

  it('never carries an account key', () => {
    for (const target of ['/api/v1/computes', '/api/v1/regions']) {
      expect(JSON.stringify(explainRequest(policy, 'ci-smoke', 'GET', target))).not.toContain('unresolved-secret');
    }
  });
});

describe('limitFor', () => {
  it('an auto account: the initial rate and the bounds, in the facts and the line', () => {
    const auto = {
      ...policy.accounts.prod!,
      limits: { all: 2, safety: 0.95, auto: { bounds: { minPerSecond: 1, maxPerSecond: 30 } } },
    };
    const facts = limitFor(auto, 'read');
    expect(facts).toEqual({
      accountId: 'prod',
      class: 'all',
      ratePerSecond: 2,
      safety: 0.95,
      effectivePerSecond: 1.9,
      auto: { minPerSecond: 1, maxPerSecond: 30 },
    });
    expect(describeLimit(facts)).toBe(
      'all 2/s × safety 0.95 = 1.9/s (limits: auto — initially; follows the provider within 1–30/s), ' +
        'shared by every caller and replica of account prod',
    );
  });

  it.each([
    ['read', { class: 'read', ratePerSecond: 30, effectivePerSecond: 28.5 }],
    ['write', { class: 'write', ratePerSecond: 5, effectivePerSecond: 4.75 }],
  ] as const)('per-class account, %s', (operationClass, expected) => {
    expect(limitFor(policy.accounts.prod!, operationClass)).toMatchObject(expected);
  });

  it.each(['read', 'write'] as const)('one-rate account, %s', (operationClass) => {
    expect(limitFor(policy.accounts.staging!, operationClass)).toEqual({
      accountId: 'staging',
      class: 'all',
      ratePerSecond: 2,
      safety: 0.95,
      effectivePerSecond: 1.9,
    });
  });
});

describe('embeddedPolicyForExplain', () => {
  it('is the embedded default: its callers, account and limits, without a key or the sandbox', () => {
    const embedded = embeddedPolicyForExplain();
    expect(Object.keys(embedded.callers)).toEqual(['demo-reader', 'demo-operator']);
    expect(explainRequest(embedded, 'demo-reader', 'GET', '/api/v1/computes')).toMatchObject({
      outcome: 'granted',
      limit: { accountId: 'sandbox', class: 'read', ratePerSecond: 30, safety: 0.95, effectivePerSecond: 28.5 },
    });
    expect(explainRequest(embedded, 'demo-reader', 'POST', '/api/v1/computes')).toMatchObject({
      outcome: 'missing-scope',
      missingScope: 'computes:create',
    });
  });
});

describe('formatExplanation', () => {
  const request = (caller: string, line: string) => {
    const [method, target] = line.split(' ') as [string, string];
    return {
      text: formatExplanation(
        { caller, method, target, policy: POLICY_PATH, upstream: 'https://api.example/api/v1' },
        explainRequest(policy, caller, method, target),
      ),
    };
  };

  it.each([
    [
      'billing',
      'GET /api/v1/computes',
      [
        'ALLOWED  billing → GET /api/v1/computes',
        'granted by   computes:read',
        'account      prod',
        'limit        read 30/s × safety 0.95 = 28.5/s',
        'forwarded    GET /computes to https://api.example/api/v1',
      ],
    ],
    ['ci-smoke', 'GET /api/v1/regions', ['limit        all 2/s × safety 0.95 = 1.9/s']],
    [
      'operator',
      'GET /api/v1/regions',
      ['DENIED 403 FORBIDDEN', 'missing      catalog:read', 'caller has   computes:read, computes:create'],
    ],
    ['operator', 'GET /api/v1/computes', ['at most 600 requests/min', 'weight 2, waits up to 3000 ms']],
    ['nobody', 'GET /api/v1/computes', ['"nobody" is not configured; callers: billing, operator, ci-smoke']],
    ['nobody', 'GET /api/v1/health', ['ALLOWED', 'public       the provider documents it without security']],
    ['billing', 'GET /computes', ['REFUSED 404 ROUTE_NOT_FOUND', 'hint         paths include the base path']],
    ['billing', 'GET /api/v1//computes', ['REFUSED 400 BAD_REQUEST', 'target       empty-segment']],
  ])('%s %s', (caller, line, fragments) => {
    const { text } = request(caller, line);
    for (const fragment of fragments) expect(text).toContain(fragment);
  });

  it('says when the token gave the operation up', () => {
    const explanation = explainRequest(policy, 'operator', 'POST', '/api/v1/computes/1/stop', [
      'computes:read',
      'catalog:read',
    ]);
    const text = formatExplanation(
      { caller: 'operator', method: 'POST', target: '/api/v1/computes/1/stop', policy: POLICY_PATH, upstream: 'x' },
      explanation,
    );
    expect(text).toContain(
      "token scope  computes:read catalog:read — narrows the grant: the caller's own scopes allow computes.stop",
    );
    expect(text).toContain('ignored      catalog:read (not granted to the caller');
  });
});

describe('runExplain', () => {
  function memoryIo(files: Record<string, string> = {}) {
    const out = { stdout: '', stderr: '', read: [] as string[] };
    const io: CliIo = {
      readFile: (file) => {
        out.read.push(file);
        if (!Object.hasOwn(files, file)) throw Object.assign(new Error('no such file'), { code: 'ENOENT' });
        return files[file]!;
      },
      readEnv: () => {
        throw new Error('explain reads no environment variable');
      },
      stdout: (text) => void (out.stdout += text),
      stderr: (text) => void (out.stderr += text),
    };
    return { io, out };
  }

  it.each([
    [['billing', 'GET /api/v1/computes'], 0],
    [['billing', 'GET', '/api/v1/computes'], 0],
    [['billing', 'POST /api/v1/computes'], 1],
    [['billing', 'GET /api/v1/nothing'], 1],
    [['billing', 'GET /api/v1/computes', '--scope', 'catalog:read'], 1],
    [['nobody', 'GET /api/v1/health'], 0],
  ])('%j against a policy file exits %d', (argv, code) => {
    const { io, out } = memoryIo({ [POLICY_PATH]: POLICY_TEXT });
    expect(runExplain([...argv, '--config', POLICY_PATH], io)).toBe(code);
    expect(out.stderr).toBe('');
    // Only the policy file: no secret file, no key file.
    expect(out.read).toEqual([POLICY_PATH]);
  });

  it('explains against the embedded default without --config, reading nothing', () => {
    const { io, out } = memoryIo();
    expect(runExplain(['demo-operator', 'POST /api/v1/computes/1/reboot'], io)).toBe(0);
    expect(out.read).toEqual([]);
    expect(out.stdout).toContain('policy       (embedded default)');
    expect(out.stdout).toContain('forwarded    POST /computes/1/reboot to the built-in sandbox');
  });

  it('prints one JSON object with --json', () => {
    const { io, out } = memoryIo({ [POLICY_PATH]: POLICY_TEXT });
    expect(runExplain(['billing', 'POST /api/v1/computes/3/start', '--config', POLICY_PATH, '--json'], io)).toBe(1);
    expect(JSON.parse(out.stdout)).toEqual({
      request: {
        caller: 'billing',
        method: 'POST',
        target: '/api/v1/computes/3/start',
        policy: POLICY_PATH,
        upstream: 'https://api.strettch.cloud/api/v1',
      },
      ...explainRequest(policy, 'billing', 'POST', '/api/v1/computes/3/start'),
    });
  });

  it.each([
    [[], 'explain: name the caller, e.g. demo-reader'],
    [['billing'], 'explain: name the request, e.g. "GET /api/v1/computes"'],
    [['billing', 'GET'], 'explain: the request must be "<METHOD> <path>"'],
    [['billing', 'GET /a', '--nope'], 'explain: --nope: unknown option'],
  ])('%j is a usage error: exit 2', (argv, message) => {
    const { io, out } = memoryIo();
    expect(runExplain(argv, io)).toBe(2);
    expect(out.stderr).toContain(message);
    expect(out.stderr).toContain('Usage: strettch-gateway explain');
    expect(out.stdout).toBe('');
  });

  it('prints its help on stdout with --help', () => {
    const { io, out } = memoryIo();
    expect(runExplain(['--help'], io)).toBe(0);
    expect(out.stdout).toContain('Exit code: 0 allowed, 1 denied');
  });

  it.each([
    ['a missing policy file', {}, `${POLICY_PATH}: (file): cannot read policy file ${POLICY_PATH} (ENOENT)`],
    [
      'an invalid policy',
      { [POLICY_PATH]: POLICY_TEXT.replace('catalog:read]', 'catalog:reed]') },
      `${POLICY_PATH}:16: callers.billing.scopes[1]: unknown scope "catalog:reed"`,
    ],
  ])('cannot decide with %s: exit 2 with the problems', (_name, files, problem) => {
    const { io, out } = memoryIo(files);
    expect(runExplain(['billing', 'GET /api/v1/computes', '--config', POLICY_PATH], io)).toBe(2);
    expect(out.stderr).toContain(problem);
    expect(out.stdout).toBe('');
  });
});
