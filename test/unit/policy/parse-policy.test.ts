import { generateKeyPairSync, KeyObject } from 'node:crypto';
import * as path from 'node:path';
import {
  callerForSubject,
  accountForCaller,
  loadPolicyFile,
  parsePolicy,
  resolvePolicy,
  validatePolicyText,
  DEFAULT_ACCOUNT_LIMITS,
  type Policy,
  type PolicyDocument,
} from '../../../src/gateway/policy';
import { FIXTURES, fixtureIo, memoryIo } from './fixture-io';

const rsaPublicPem = generateKeyPairSync('rsa', { modulusLength: 2048 })
  .publicKey.export({ format: 'pem', type: 'spki' })
  .toString();

const MINIMAL = `
accounts:
  prod: { apiKey: { env: KEY_PROD } }
auth:
  issuer: https://auth.internal
  audience: strettch-gateway
  keys: [ { kid: k1, algorithms: [RS256], publicKeyFile: keys/k1.pub.pem } ]
callers:
  billing: { account: prod, scopes: [computes:read] }
`;

const minimalIo = () => memoryIo({ KEY_PROD: 'sk-prod' }, { [path.join('/etc/gw', 'keys/k1.pub.pem')]: rsaPublicPem });

function mustParse(text: string, io = minimalIo(), sourcePath = '/etc/gw/gateway.yaml'): Policy {
  const result = parsePolicy(text, sourcePath, io);
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.policy;
}

describe('parsePolicy: defaults and resolution', () => {
  it('fills every default', () => {
    const policy = mustParse(MINIMAL);
    expect(policy.sourcePath).toBe('/etc/gw/gateway.yaml');
    expect(policy.listen).toEqual({ host: '127.0.0.1', port: 8080, adminHost: '127.0.0.1', adminPort: 9090 });
    expect(policy.upstream).toEqual({
      baseUrl: 'https://api.strettch.cloud/api/v1',
      timeoutMs: 30000,
      connectTimeoutMs: 5000,
      maxSockets: 64,
    });
    expect(policy.auth).toMatchObject({ maxTokenLifetimeSec: 3600, clockToleranceSec: 30, maxTokenBytes: 8192 });
    expect(policy.auth.keySet).toBeUndefined();
    expect(policy.accounts.prod!.limits).toEqual(DEFAULT_ACCOUNT_LIMITS);
    expect(policy.callers.billing).toMatchObject({ id: 'billing', accountId: 'prod', weight: 1, maxWaitMs: 1000 });
    expect(policy.callers.billing!.grants).toEqual([
      { scope: 'computes:read', operations: ['computes.list', 'computes.get'] },
    ]);
  });

  it('resolves the full fixture: limits, keys, merged scopes, expanded grants, relative secret files', () => {
    const result = loadPolicyFile(path.join(FIXTURES, 'valid', 'full.yaml'), fixtureIo);
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    const { policy } = result;
    expect(policy.upstream.baseUrl).toBe('http://127.0.0.1:4010/api/v1');
    expect(policy.accounts.prod!.limits).toEqual({
      read: 30,
      write: 5,
      safety: 0.9,
    });
    // An account's own profile inherits only the default's safety factor.
    expect(policy.accounts.staging!.limits).toEqual({ all: 2, safety: 0.9 });
    // A secret file relative to the policy file, with its trailing newline dropped.
    expect(policy.accounts.staging!.apiKey).toBe('sk-staging-fixture');
    expect(policy.auth.keys.map((k) => [k.kid, k.algorithms, k.key.type, k.key.asymmetricKeyType])).toEqual([
      ['k1', ['RS256'], 'public', 'rsa'],
      ['k2', ['ES256'], 'public', 'ec'],
      ['hs', ['HS256'], 'secret', undefined],
    ]);
    expect(policy.auth.keys[0]!.key).toBeInstanceOf(KeyObject);
    expect(policy.auth.keySet).toEqual({
      discovery: false,
      jwksUri: 'https://auth.internal/.well-known/jwks.json',
      allowedJwksHosts: [],
      cacheMaxAgeMs: 600000,
      minRefreshIntervalMs: 6000,
      maxKeys: 50,
      maxDocumentBytes: 262144,
      timeoutMs: 5000,
    });
    expect(policy.scopes['computes:read']).toEqual(['computes.list']);
    expect(policy.scopes['computes:lifecycle']).toHaveLength(8);
    expect(policy.scopes.everything).toHaveLength(12);
    expect(policy.callers.provisioner!.grants.map((g) => g.scope)).toEqual([
      'computes:read',
      'computes:create',
      'computes:power',
      'computes:resize',
      'computes:delete',
      'computes:lifecycle',
      'catalog:read',
    ]);
    expect(policy.callers['ci-smoke']!.grants.map((g) => g.scope)).toEqual(Object.keys(policy.scopes));
    expect(callerForSubject(policy, 'system:serviceaccount:tools:reporter')?.accountId).toBe('staging');
  });

  it('returns a deeply frozen policy', () => {
    const policy = mustParse(MINIMAL);
    expect(Object.isFrozen(policy)).toBe(true);
    expect(Object.isFrozen(policy.callers.billing!.grants[0]!.operations)).toBe(true);
    expect(Object.isFrozen(policy.auth.keys)).toBe(true);
    expect(() => {
      (policy.listen as { port: number }).port = 1;
    }).toThrow(TypeError);
    expect(() => {
      (policy.callers as Record<string, unknown>).intruder = {};
    }).toThrow(TypeError);
  });

  it('has no prototype in its records, so a sub like "constructor" finds no caller', () => {
    const policy = mustParse(MINIMAL);
    for (const sub of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
      expect(policy.callers[sub]).toBeUndefined();
      expect(callerForSubject(policy, sub)).toBeUndefined();
    }
    expect(callerForSubject(policy, 'billing')?.id).toBe('billing');
    expect(accountForCaller(policy, policy.callers.billing!).id).toBe('prod');
  });

  it('keeps the API key out of any serialisation of the policy', () => {
    const policy = mustParse(MINIMAL);
    expect(policy.accounts.prod!.apiKey).toBe('sk-prod');
    expect(JSON.stringify(policy)).not.toContain('sk-prod');
    expect(Object.keys(policy.accounts.prod!)).toEqual(['id', 'limits']);
  });
});

describe('parsePolicy: secret references', () => {
  const withAccount = (ref: string) => MINIMAL.replace('{ env: KEY_PROD }', ref);

  it('reads an absolute file as given and a relative one against the policy directory', () => {
    const io = memoryIo(
      {},
      {
        '/run/secrets/prod': 'sk-abs\r\n',
        [path.join('/etc/gw', 'keys/k1.pub.pem')]: rsaPublicPem,
        [path.join('/etc/gw', 'rel/prod')]: 'sk-rel',
      },
    );
    expect(mustParse(withAccount('{ file: /run/secrets/prod }'), io).accounts.prod!.apiKey).toBe('sk-abs');
    expect(mustParse(withAccount('{ file: rel/prod }'), io).accounts.prod!.apiKey).toBe('sk-rel');
    expect(io.reads).toContain('/run/secrets/prod');
    expect(io.reads).toContain(path.join('/etc/gw', 'rel/prod'));
  });

  it('resolves relative paths against a relative policy path without consulting the working directory', () => {
    const io = memoryIo({ KEY_PROD: 'sk' }, { [path.join('config', 'keys/k1.pub.pem')]: rsaPublicPem });
    expect(parsePolicy(MINIMAL, 'config/gateway.yaml', io).ok).toBe(true);
    expect(io.reads).toEqual([path.join('config', 'keys/k1.pub.pem')]);
  });

  it.each([
    [
      'an unset variable',
      '{ env: KEY_MISSING }',
      {},
      {},
      'accounts.prod.apiKey.env',
      'environment variable KEY_MISSING is not set',
    ],
    [
      'an empty variable',
      '{ env: KEY_PROD }',
      { KEY_PROD: '' },
      {},
      'accounts.prod.apiKey.env',
      'environment variable KEY_PROD is empty',
    ],
    ['a missing file', '{ file: /nope }', {}, {}, 'accounts.prod.apiKey.file', 'cannot read file /nope (ENOENT)'],
    ['an empty file', '{ file: /empty }', {}, { '/empty': '\n' }, 'accounts.prod.apiKey.file', 'file /empty is empty'],
    [
      'a key with a space',
      '{ env: KEY_PROD }',
      { KEY_PROD: 'sk prod' },
      {},
      'accounts.prod.apiKey.env',
      'contains spaces',
    ],
  ])('reports %s with its path', (_name, ref, env, files, expectedPath, message) => {
    const io = memoryIo(env, { ...files, [path.join('/etc/gw', 'keys/k1.pub.pem')]: rsaPublicPem });
    const result = parsePolicy(withAccount(ref), '/etc/gw/gateway.yaml', io);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors).toEqual([{ path: expectedPath, message: expect.stringContaining(message), line: 3 }]);
  });

  it('reports a private key given where a public key belongs, without quoting it', () => {
    const privatePem = generateKeyPairSync('rsa', { modulusLength: 2048 })
      .privateKey.export({ format: 'pem', type: 'pkcs8' })
      .toString();
    const text = MINIMAL.replace('publicKeyFile: keys/k1.pub.pem', 'publicKey: { env: K1_PEM }');
    const result = parsePolicy(text, '/etc/gw/gateway.yaml', memoryIo({ KEY_PROD: 'sk', K1_PEM: privatePem }));
    expect(result).toEqual({
      ok: false,
      errors: [
        { path: 'auth.keys[0].publicKey', message: 'holds a PRIVATE key; configure the public key only', line: 7 },
      ],
    });
  });
});

describe('parsePolicy: YAML', () => {
  it('refuses an alias bomb instead of expanding it', () => {
    const bomb = [
      'a: &a [x, x, x, x, x, x, x, x, x, x]',
      ...Array.from(
        { length: 8 },
        (_, i) =>
          `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10)
            .fill(`*${String.fromCharCode(97 + i)}`)
            .join(', ')}]`,
      ),
    ].join('\n');
    const result = parsePolicy(bomb, 'bomb.yaml', memoryIo({}));
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors[0]!.message).toMatch(/alias/i);
  });

  it('reports an empty document as a missing mapping', () => {
    expect(parsePolicy('', 'empty.yaml', memoryIo({}))).toEqual({
      ok: false,
      errors: [{ path: '(root)', message: 'expected a mapping, got nothing (null)' }],
    });
  });

  it('does not quote the source line in YAML errors (it may hold a pasted secret)', () => {
    const result = parsePolicy('accounts:\n  prod: { apiKey: sk_live_SECRET_LOOKING\n', 'x.yaml', memoryIo({}));
    expect(result.ok).toBe(false);
    expect(JSON.stringify(result)).not.toContain('sk_live_SECRET_LOOKING');
  });
});

describe('validatePolicyText', () => {
  it('checks shape and references without reading any secret', () => {
    const result = validatePolicyText(MINIMAL);
    expect(result.ok).toBe(true);
  });

  it('reports reference problems with lines', () => {
    const result = validatePolicyText(MINIMAL.replace('scopes: [computes:read]', 'scopes: [computes:reed]'));
    expect(result).toEqual({
      ok: false,
      errors: [{ path: 'callers.billing.scopes[0]', message: 'unknown scope "computes:reed"', line: 9 }],
    });
  });
});

describe('loadPolicyFile', () => {
  it('reports an unreadable policy file', () => {
    expect(loadPolicyFile('/etc/gw/absent.yaml', memoryIo({}))).toEqual({
      ok: false,
      errors: [{ path: '(file)', message: 'cannot read policy file /etc/gw/absent.yaml (ENOENT)' }],
    });
  });
});

describe('resolvePolicy', () => {
  function validated(text: string): PolicyDocument {
    const shape = validatePolicyText(text);
    if (!shape.ok) throw new Error(JSON.stringify(shape.errors));
    return shape.document;
  }

  it('resolves a document, reporting every problem (without lines: there is no YAML)', () => {
    const valid = validated(MINIMAL.replace('{ env: KEY_PROD }', '{ env: KEY_UNSET }'));
    // A document assembled in code can break references that validation would have caught.
    const document: PolicyDocument = { ...valid, callers: { billing: { ...valid.callers.billing!, account: 'prd' } } };
    expect(resolvePolicy(document, memoryIo({}), { baseDir: '/etc/gw' })).toEqual({
      ok: false,
      errors: [
        { path: 'callers.billing.account', message: 'unknown account "prd"' },
        { path: 'accounts.prod.apiKey.env', message: 'environment variable KEY_UNSET is not set' },
        {
          path: 'auth.keys[0].publicKeyFile',
          message: `cannot read file ${path.join('/etc/gw', 'keys/k1.pub.pem')} (ENOENT)`,
        },
      ],
    });
  });

  it('names the source it was given (the embedded default has no file)', () => {
    const result = resolvePolicy(validated(MINIMAL), minimalIo(), {
      baseDir: '/etc/gw',
      sourcePath: '(embedded default)',
    });
    expect(result.ok && result.policy.sourcePath).toBe('(embedded default)');
  });
});

describe('parsePolicy: adaptive safety (issue #15)', () => {
  const withLimits = (limits: string) => mustParse(`${MINIMAL}limits:\n${limits}\n`);

  it.each([
    ['auto', { safety: 0.95, adaptiveSafety: { min: 0.9, max: 0.995 } }],
    ['{ min: 0.97 }', { safety: 0.97, adaptiveSafety: { min: 0.97, max: 0.995 } }],
    ['{ min: 0.8, max: 0.9 }', { safety: 0.9, adaptiveSafety: { min: 0.8, max: 0.9 } }],
    ['0.97', { safety: 0.97 }],
  ])('safety: %s starts within its bounds', (safety, expected) => {
    expect(withLimits(`  prod: { read: 30, write: 5, safety: ${safety} }`).accounts.prod!.limits).toEqual({
      read: 30,
      write: 5,
      ...expected,
    });
  });

  it('is inherited from the default profile, and kept beside limits: auto', () => {
    const policy = withLimits('  default: { all: 2, safety: auto }\n  prod: auto');
    expect(policy.accounts.prod!.limits).toMatchObject({ adaptiveSafety: { min: 0.9, max: 0.995 }, safety: 0.95 });
  });
});

describe('parsePolicy: limits: auto (issue #15)', () => {
  const withLimits = (limits: string) => mustParse(`${MINIMAL}limits:\n${limits}\n`);

  it('`auto` alone: the launch limits to start, bounds 1–30/s, the default safety', () => {
    expect(withLimits('  prod: auto').accounts.prod!.limits).toEqual({
      read: 30,
      write: 5,
      safety: DEFAULT_ACCOUNT_LIMITS.safety,
      auto: { bounds: { minPerSecond: 1, maxPerSecond: 30 } },
    });
  });

  it('bounds, initial limits and safety as given', () => {
    expect(
      withLimits('  prod: { auto: { min: 2, max: 20, initial: { all: 2 } }, safety: 0.9 }').accounts.prod!.limits,
    ).toEqual({ all: 2, safety: 0.9, auto: { bounds: { minPerSecond: 2, maxPerSecond: 20 } } });
  });

  it('without initial limits: the default profile, clamped into the bounds', () => {
    const policy = withLimits('  default: { read: 40, write: 5, safety: 0.8 }\n  prod: { auto: { max: 25 } }');
    expect(policy.accounts.prod!.limits).toEqual({
      read: 25,
      write: 5,
      safety: 0.8,
      auto: { bounds: { minPerSecond: 1, maxPerSecond: 25 } },
    });
  });

  it('`default: auto` makes every account without limits of its own follow the provider', () => {
    expect(withLimits('  default: auto').accounts.prod!.limits.auto).toEqual({
      bounds: { minPerSecond: 1, maxPerSecond: 30 },
    });
  });

  it('fixed limits carry no auto', () => {
    expect(withLimits('  prod: { all: 2 }').accounts.prod!.limits).toEqual({
      all: 2,
      safety: DEFAULT_ACCOUNT_LIMITS.safety,
    });
  });
});
