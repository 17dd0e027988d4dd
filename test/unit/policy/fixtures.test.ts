import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadPolicyFile, type ConfigProblem } from '../../../src/gateway/policy';
import { FIXTURE_ENV, FIXTURES, fixtureIo } from './fixture-io';

/**
 * One invalid fixture per configuration rule (in the manner of envoyproxy/ratelimit's test/config),
 * each with the exact path(s) reported and a fragment of the message.
 */
const INVALID: ReadonlyArray<[file: string, expected: ReadonlyArray<[path: string, message: string]>]> = [
  // YAML itself
  ['yaml-syntax', [['line 4, column 1', 'YAML: Flow map']]],
  ['yaml-duplicate-key', [['line 11, column 1', 'Map keys must be unique']]],
  ['not-a-mapping', [['(root)', 'expected a mapping, got a list']]],
  // shape: unknown keys
  ['unknown-top-level-key', [['listn', 'unknown key']]],
  [
    'caller-unknown-key',
    [
      ['callers.billing.scopes', 'is required'],
      ['callers.billing.scope', 'unknown key'],
    ],
  ],
  // listen / upstream
  ['listen-port-out-of-range', [['listen.port', 'must be at most 65535']]],
  ['listen-same-ports', [['listen.adminPort', 'must differ from listen.port']]],
  ['listen-tls-old-version', [['listen.tls.minVersion', 'TLSv1.2']]],
  ['listen-tls-no-key', [['listen.tls.keyFile', 'is required']]],
  [
    'listen-tls-files-missing',
    [
      ['listen.tls.certFile', `cannot read file ${path.join(FIXTURES, 'invalid', 'tls', 'missing.crt')} (ENOENT)`],
      ['listen.tls.keyFile', `cannot read file ${path.join(FIXTURES, 'invalid', 'tls', 'missing.key')} (ENOENT)`],
      [
        'listen.tls.clientCa.caFile',
        `cannot read file ${path.join(FIXTURES, 'invalid', 'tls', 'missing-ca.pem')} (ENOENT)`,
      ],
    ],
  ],
  ['upstream-baseurl-query', [['upstream.baseUrl', 'must not have a query or fragment']]],
  ['upstream-baseurl-credentials', [['upstream.baseUrl', 'must not carry credentials']]],
  ['upstream-baseurl-not-http', [['upstream.baseUrl', 'must use http or https']]],
  ['upstream-timeout-zero', [['upstream.timeoutMs', 'must be at least 1']]],
  // accounts and secret references
  ['account-literal-secret', [['accounts.prod.apiKey', 'literal secrets are not accepted']]],
  ['account-secret-env-and-file', [['accounts.prod.apiKey', 'give exactly one of "env" or "file"']]],
  ['account-secret-empty-ref', [['accounts.prod.apiKey', 'give exactly one of "env" or "file"']]],
  ['account-secret-bad-env-name', [['accounts.prod.apiKey.env', 'is not an environment variable name']]],
  ['account-reserved-default', [['accounts.default', '"default" is reserved']]],
  ['account-name-invalid', [['accounts["prod two"]', 'invalid name: account names']]],
  ['no-accounts', [['accounts', 'configure at least one account']]],
  // limits
  ['limits-unknown-account', [['limits.dev', 'unknown account "dev"']]],
  ['limits-all-and-read', [['limits.prod', 'give either "all" or "read" and "write", not both']]],
  ['limits-read-without-write', [['limits.default', 'give both "read" and "write", or "all"']]],
  ['limits-safety-above-one', [['limits.default.safety', 'must be at most 1']]],
  ['limits-safety-unknown-word', [['limits.default.safety', 'must be a number in (0, 1], "auto", or { min, max }']]],
  ['limits-safety-adaptive-max-above-cap', [['limits.default.safety.max', 'must be at most 0.995']]],
  ['limits-safety-adaptive-min-above-max', [['limits.default.safety.min', 'must not exceed "max" (0.95)']]],
  ['limits-safety-adaptive-unknown-key', [['limits.default.safety.mn', 'unknown key']]],
  ['limits-rate-zero', [['limits.prod.read', 'must be greater than 0']]],
  ['limits-auto-with-rates', [['limits.prod', 'with "auto", give the starting limits as "auto.initial"']]],
  ['limits-auto-min-above-max', [['limits.prod.auto.min', 'must not exceed "max"']]],
  ['limits-auto-initial-out-of-bounds', [['limits.prod.auto.initial.read', 'must lie within "min" and "max"']]],
  ['limits-auto-unknown-key', [['limits.prod.auto.maximum', 'unknown key']]],
  ['limits-auto-misspelt', [['limits.prod', 'expected a mapping, got a string']]],
  // auth
  ['auth-missing', [['auth', 'is required']]],
  ['auth-no-keys', [['auth.keys', 'configure at least one key, jwksUrl, or discovery']]],
  ['auth-issuer-empty', [['auth.issuer', 'must not be empty']]],
  ['auth-alg-none', [['auth.keys[0].algorithms[0]', 'algorithm "none" is not allowed; use HS256, RS256, ES256']]],
  ['auth-alg-unknown', [['auth.keys[0].algorithms[0]', 'algorithm "HS512" is not allowed']]],
  ['auth-alg-empty', [['auth.keys[0].algorithms', 'must not be empty']]],
  ['auth-alg-mixed-family', [['auth.keys[0].algorithms', 'a key serves one family']]],
  ['auth-hs-with-public-key', [['auth.keys[0].publicKeyFile', 'HS256 verifies with a shared "secret"']]],
  ['auth-rs-with-secret', [['auth.keys[0].secret', 'RS256 verifies with "publicKey" or "publicKeyFile"']]],
  ['auth-key-two-materials', [['auth.keys[0]', 'give exactly one of "secret", "publicKey" or "publicKeyFile"']]],
  ['auth-key-no-material', [['auth.keys[0]', 'give exactly one of "secret", "publicKey" or "publicKeyFile"']]],
  ['auth-duplicate-kid', [['auth.keys[1].kid', 'duplicate kid "k1" (first at auth.keys[0])']]],
  ['auth-kid-with-space', [['auth.keys[0].kid', 'printable ASCII characters without spaces']]],
  ['auth-secret-literal', [['auth.keys[0].secret', 'literal secrets are not accepted']]],
  ['auth-public-key-literal', [['auth.keys[0].publicKey', 'must be a reference']]],
  ['auth-jwks-plain-http', [['auth.jwksUrl', 'must use https (plain http only for localhost)']]],
  ['auth-lifetime-too-long', [['auth.maxTokenLifetimeSec', 'must be at most 86400']]],
  ['auth-lifetime-not-integer', [['auth.maxTokenLifetimeSec', 'expected an integer, got 60.5']]],
  ['auth-clock-tolerance-too-large', [['auth.clockToleranceSec', 'must be at most 300']]],
  [
    'auth-discovery-plain-http',
    [['auth.issuer', 'with discovery, the issuer must use https (plain http only for localhost)']],
  ],
  ['auth-discovery-and-jwks-url', [['auth.jwksUrl', 'give either jwksUrl or discovery']]],
  ['auth-jwks-hosts-without-discovery', [['auth.jwks.allowedHosts', 'only with discovery']]],
  ['auth-jwks-host-with-scheme', [['auth.jwks.allowedHosts[0]', 'must be a host name or IP address']]],
  ['auth-jwks-refresh-too-often', [['auth.jwks.requestsPerMinute', 'must be at most 600']]],
  // scopes
  ['scope-unknown-operation', [['scopes.ops:read[1]', 'unknown operation "computes.strt"']]],
  ['scope-pattern-matches-nothing', [['scopes.ops:read[0]', 'pattern "compute.*" matches no operation']]],
  ['scope-pattern-invalid', [['scopes.ops:read[0]', 'is not an operation id or pattern']]],
  ['scope-name-invalid', [['scopes["ops read"]', 'invalid name: scope names']]],
  ['scope-not-a-list', [['scopes.ops:read', 'expected a list, got a string']]],
  // callers
  ['no-callers', [['callers', 'configure at least one caller']]],
  ['caller-unknown-account', [['callers.billing.account', 'unknown account "prd"']]],
  ['caller-missing-account', [['callers.billing.account', 'is required']]],
  ['caller-unknown-scope', [['callers.billing.scopes[1]', 'unknown scope "computes:reed"']]],
  ['caller-scope-pattern-matches-nothing', [['callers.billing.scopes[0]', 'scope pattern "disks:*" matches no scope']]],
  ['caller-scope-invalid-syntax', [['callers.billing.scopes[0]', 'is not a scope name or pattern']]],
  ['caller-no-scopes', [['callers.billing.scopes', 'must not be empty']]],
  ['caller-weight-zero', [['callers.billing.weight', 'must be greater than 0']]],
  ['caller-maxwait-negative', [['callers.billing.maxWaitMs', 'must be at least 0']]],
  ['caller-name-invalid', [['callers["billing service"]', 'invalid name: caller names']]],
  ['caller-name-proto', [['callers.__proto__', '"__proto__" is not allowed as a name']]],
  // callers named by a client certificate
  [
    'caller-certificate-without-client-ca',
    [['callers.billing.authentication', '"certificate" needs client certificates: configure listen.tls.clientCa']],
  ],
  ['caller-certificate-unchecked', [['callers.billing.certificate', 'is never checked with authentication "token"']]],
  [
    'caller-certificate-missing',
    [
      ['callers.billing.authentication', 'needs client certificates'],
      ['callers.billing.certificate', 'is required with authentication "token+certificate"'],
    ],
  ],
  ['caller-certificate-uri-and-subject', [['callers.billing.certificate', 'give exactly one of "uri" or "subject"']]],
  [
    'caller-certificate-subject-invalid',
    [['callers.billing.certificate.subject', 'is not a subject like CN=billing,O=shop']],
  ],
  [
    'caller-certificate-claimed-twice',
    [
      ['callers.billing.authentication', 'needs client certificates'],
      ['callers.billing-2.authentication', 'needs client certificates'],
      [
        'callers.billing-2.certificate.uri',
        'uri "spiffe://cluster.local/ns/shop/sa/billing" already names caller "billing"',
      ],
    ],
  ],
  ['caller-match-empty', [['callers.shop.match', 'give a subject pattern, claims, or both']]],
  ['caller-match-claim-path-invalid', [['callers.shop.match.claims["kubernetes.io//namespace"]', 'is a claim name']]],
  [
    'caller-match-overlap',
    [['callers.shop-billing.match', 'can match the same token as callers.shop.match; make the rules exclusive']],
  ],
  ['caller-match-subject-overlap', [['callers.billing.match', 'can match the same token as callers.shop-a.match']]],
  // resolution: secrets and keys
  ['env-not-set', [['accounts.prod.apiKey.env', 'environment variable STRETTCH_KEY_UNSET is not set']]],
  ['env-empty', [['accounts.prod.apiKey.env', 'environment variable STRETTCH_KEY_EMPTY is empty']]],
  ['apikey-not-header-safe', [['accounts.prod.apiKey.env', 'contains spaces, control or non-ASCII characters']]],
  [
    'apikey-file-missing',
    [
      [
        'accounts.prod.apiKey.file',
        `cannot read file ${path.join(FIXTURES, 'invalid', 'secrets', 'does-not-exist')} (ENOENT)`,
      ],
    ],
  ],
  [
    'key-file-missing',
    [['auth.keys[0].publicKeyFile', `cannot read file ${path.join(FIXTURES, 'keys', 'missing.pub.pem')} (ENOENT)`]],
  ],
  ['key-file-not-pem', [['auth.keys[0].publicKeyFile', 'is not a PEM public key']]],
  ['key-rsa-too-small', [['auth.keys[0].publicKeyFile', 'RS256 key has 1024 bits; at least 2048 are required']]],
  ['key-type-mismatch', [['auth.keys[0].publicKeyFile', 'RS256 needs an RSA public key']]],
  ['key-curve-mismatch', [['auth.keys[0].publicKeyFile', 'ES256 needs curve P-256']]],
  ['key-hs-secret-too-short', [['auth.keys[0].secret', 'HS256 secret is 17 bytes; at least 32 are required']]],
  [
    'key-hs-secret-shipped',
    [['auth.keys[0].secret', "is a value shipped in the repository's examples (docker-compose.yml)"]],
  ],
  ['key-hs-secret-placeholder', [['auth.keys[0].secret', 'looks like a placeholder (contains "changeme")']]],
  ['key-hs-secret-repeated', [['auth.keys[0].secret', 'is one character repeated']]],
  ['key-hs-secret-low-entropy', [['auth.keys[0].secret', 'has too little entropy (about 96 bits estimated']]],
  ['key-private-in-public-slot', [['auth.keys[0].publicKey', 'holds a PRIVATE key']]],
  // everything at once, in document order
  [
    'many-problems',
    [
      ['limits.dev', 'unknown account "dev"'],
      ['accounts.prod.apiKey.env', 'STRETTCH_KEY_UNSET is not set'],
      ['callers.billing.account', 'unknown account "prd"'],
      ['callers.billing.scopes[0]', 'unknown scope "computes:reed"'],
    ],
  ],
];

function load(dir: 'invalid' | 'valid', name: string) {
  return loadPolicyFile(path.join(FIXTURES, dir, `${name}.yaml`), fixtureIo);
}

function errorsOf(result: ReturnType<typeof load>): ConfigProblem[] {
  if (result.ok) throw new Error('expected the fixture to be rejected');
  return result.errors;
}

describe('invalid policy fixtures', () => {
  it.each(INVALID)('%s', (name, expected) => {
    const errors = errorsOf(load('invalid', name));
    expect(errors.map((e) => e.path)).toEqual(expected.map(([p]) => p));
    errors.forEach((error, i) => expect(error.message).toContain(expected[i]![1]));
  });

  it('has a table row for every fixture file, and a file for every row', () => {
    const files = fs
      .readdirSync(path.join(FIXTURES, 'invalid'))
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => f.replace(/\.yaml$/, ''));
    expect(INVALID.map(([name]) => name).sort()).toEqual(files.sort());
  });

  it('never echoes a secret value, in any message', () => {
    const literals = ['sk_live_PASTED_SECRET_VALUE', 'PASTED_HMAC_SECRET_VALUE_0123456789'];
    const secrets = [...Object.values(FIXTURE_ENV).filter((v) => v.length > 0), ...literals];
    for (const [name] of INVALID) {
      const text = JSON.stringify(errorsOf(load('invalid', name)));
      for (const secret of secrets) expect(text).not.toContain(secret.split('\n')[0]);
      expect(text).not.toContain('SENTINEL');
    }
  });

  it('gives a line number for every problem', () => {
    for (const [name] of INVALID)
      for (const error of errorsOf(load('invalid', name))) expect(error.line).toEqual(expect.any(Number));
    expect(errorsOf(load('invalid', 'caller-unknown-scope'))[0]!.line).toBe(10);
  });
});

describe('valid policy fixtures', () => {
  it.each(['minimal', 'full'])('%s loads', (name) => {
    const result = load('valid', name);
    expect(result.ok ? [] : result.errors).toEqual([]);
  });

  it('the shipped example config validates with its references set', () => {
    const env: Record<string, string> = {
      STRETTCH_KEY_PROD: 'sk-example-prod',
      JWT_K2_PUB: fs.readFileSync(path.join(FIXTURES, 'keys', 'es256.pub.pem'), 'utf8'),
      JWT_HS_SECRET: randomBytes(32).toString('base64'),
    };
    const examplePath = path.join(__dirname, '..', '..', '..', 'config', 'gateway.example.yaml');
    const result = loadPolicyFile(examplePath, {
      readEnv: (name) => env[name],
      readFile: (file) =>
        file === '/run/secrets/strettch-staging' ? 'sk-example-staging\n' : fs.readFileSync(file, 'utf8'),
    });
    expect(result.ok ? [] : result.errors).toEqual([]);
    if (!result.ok) return;
    expect(Object.keys(result.policy.accounts)).toEqual(['prod', 'staging']);
    expect(Object.keys(result.policy.callers)).toHaveLength(4);
    // Least privilege (issue #7): every key on provisioner, one constraint on autoscaler.
    expect(result.policy.callers.provisioner!.leastPrivilege).toEqual({
      constraints: {
        create: {
          regions: ['KGL-1'],
          images: ['UBUNTU-24.04', 'UBUNTU-22.04'],
          specifications: ['S-1C', 'S-1C-1G'],
          requiredTags: ['provisioner'],
          allowedTags: ['provisioner', 'pool-*'],
          hostNamePattern: '^(?:^pv-[a-z0-9-]{1,20}$)$',
          withPublicIp: false,
        },
        upsize: { specifications: ['S-1C-2G'] },
      },
      ownership: { foreign: 'not-found', ownerTag: true },
      quotas: { liveComputes: 20, createsPerHour: 10 },
      shadow: false,
    });
    expect(result.policy.callers.autoscaler!.leastPrivilege).toEqual({
      constraints: { upsize: { specifications: ['S-1C-2G', 'S-2C-4G'] } },
      shadow: false,
    });
    expect(result.policy.callers.billing!.leastPrivilege).toEqual({ shadow: false });
  });
});
