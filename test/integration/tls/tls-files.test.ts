/**
 * The listener's TLS files are checked like the rest of the policy (start, reload, check-config):
 * each problem with its path, the private key never in a message or a serialised policy. Real
 * certificates, made with openssl in the test.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { runCheckConfig } from '../../../src/cli/check-config';
import { explainRequest } from '../../../src/cli/explain';
import { formatExplanation } from '../../../src/cli/explain-format';
import type { CliIo } from '../../../src/cli/io';
import { loadPolicyFileWithoutSecrets } from '../../../src/cli/policy-without-secrets';
import { loadPolicyFile, type ConfigProblem, type Policy } from '../../../src/gateway/policy';
import { opensslDate, TestPki, type CertificateAuthority, type CertificateFiles } from '../../helpers/certificates';

const pki = new TestPki();
let ca: CertificateAuthority;
let server: CertificateFiles;
let other: CertificateFiles;
let expired: CertificateFiles;
let notYetValid: CertificateFiles;
let clientLeaf: CertificateFiles;
let dir: string;

beforeAll(() => {
  ca = pki.authority('ca');
  const serverOptions = { subject: '/CN=gateway', altNames: ['DNS:gateway.internal'], usage: 'server' as const };
  server = pki.issue(ca, 'server', serverOptions);
  other = pki.issue(ca, 'other', serverOptions);
  expired = pki.issue(ca, 'expired', { ...serverOptions, startDate: opensslDate(-30), endDate: opensslDate(-2) });
  notYetValid = pki.issue(ca, 'later', { ...serverOptions, startDate: opensslDate(2), endDate: opensslDate(30) });
  clientLeaf = pki.issue(ca, 'client', { subject: '/CN=client', usage: 'client' });
  dir = fs.mkdtempSync(path.join(pki.dir, 'policy-'));
});

afterAll(() => pki.close());

const POLICY = `listen:
  tls:
    certFile: tls/server.crt
    keyFile: tls/server.key
    clientCa: { caFile: tls/clients-ca.pem }
accounts:
  prod: { apiKey: { env: KEY_PROD } }
auth:
  issuer: https://auth.internal
  audience: strettch-gateway
  keys:
    - { kid: k1, algorithms: [HS256], secret: { env: HS_SECRET } }
callers:
  billing: { account: prod, scopes: [computes:read], authentication: certificate, certificate: { uri: "spiffe://cluster.local/ns/shop/sa/billing" } }
`;
const ENV: Record<string, string> = { KEY_PROD: 'sk-prod-0001', HS_SECRET: randomBytes(32).toString('base64') };

/** Writes the policy and its three TLS files (each `undefined`: not written), then loads it as start does. */
function load(files: { cert?: string; key?: string; ca?: string }): { ok: true; policy: Policy } | ConfigProblem[] {
  const tlsDir = fs.mkdtempSync(path.join(dir, 'case-'));
  fs.mkdirSync(path.join(tlsDir, 'tls'));
  const policyPath = path.join(tlsDir, 'gateway.yaml');
  fs.writeFileSync(policyPath, POLICY);
  const write = (name: string, text: string | undefined) =>
    text !== undefined && fs.writeFileSync(path.join(tlsDir, 'tls', name), text);
  write('server.crt', files.cert);
  write('server.key', files.key);
  write('clients-ca.pem', files.ca);
  const result = loadPolicyFile(policyPath, {
    readEnv: (name) => ENV[name],
    readFile: (file) => fs.readFileSync(file, 'utf8'),
  });
  return result.ok ? result : result.errors;
}

const problems = (result: ReturnType<typeof load>) =>
  Array.isArray(result) ? result.map((p) => [p.path, p.message]) : [];

describe('listen.tls files', () => {
  test('a matching certificate and key and a CA bundle: paths resolved, contents kept, the key not enumerable', () => {
    const result = load({ cert: server.cert, key: server.key, ca: ca.cert });
    if (Array.isArray(result)) throw new Error(JSON.stringify(result));
    const { tls } = result.policy.listen;
    expect(tls).toMatchObject({
      certFile: expect.stringMatching(/\/tls\/server\.crt$/),
      keyFile: expect.stringMatching(/\/tls\/server\.key$/),
      clientCaFile: expect.stringMatching(/\/tls\/clients-ca\.pem$/),
      minVersion: 'TLSv1.2',
    });
    expect(tls!.material!.keyPem).toBe(server.key);
    expect(tls!.material!.clientCaPem).toBe(ca.cert);
    expect(tls!.material!.certificateNotAfterMs).toBeGreaterThan(Date.now() + 300 * 86_400_000);
    expect(JSON.stringify(result.policy)).not.toContain('PRIVATE KEY');
    expect(result.policy.callers.billing).toMatchObject({
      authentication: 'certificate',
      certificate: { uri: 'spiffe://cluster.local/ns/shop/sa/billing' },
    });
  });

  test('a certificate and a key of different pairs', () => {
    expect(problems(load({ cert: server.cert, key: other.key, ca: ca.cert }))).toEqual([
      ['listen.tls.keyFile', expect.stringContaining('does not match the certificate in')],
    ]);
  });

  test('an expired or not yet valid server certificate', () => {
    expect(problems(load({ cert: expired.cert, key: expired.key, ca: ca.cert }))).toEqual([
      ['listen.tls.certFile', expect.stringMatching(/^the server certificate expired on \d{4}-/)],
    ]);
    expect(problems(load({ cert: notYetValid.cert, key: notYetValid.key, ca: ca.cert }))).toEqual([
      ['listen.tls.certFile', expect.stringMatching(/^the server certificate is not valid before \d{4}-/)],
    ]);
  });

  test('files that are not what they should be; no message quotes the key', () => {
    const result = load({ cert: server.key, key: 'not a key', ca: 'nothing here' });
    expect(problems(result)).toEqual([
      ['listen.tls.certFile', 'holds a PRIVATE key; the key goes in keyFile, never beside the certificate'],
      ['listen.tls.keyFile', 'is not an unencrypted PEM private key'],
      ['listen.tls.clientCa.caFile', 'is not a PEM bundle of CA certificates'],
    ]);
    expect(JSON.stringify(result)).not.toContain(server.key.split('\n')[1]);
  });

  test('a trust bundle holding a certificate that is not a CA', () => {
    expect(problems(load({ cert: server.cert, key: server.key, ca: ca.cert + clientLeaf.cert }))).toEqual([
      ['listen.tls.clientCa.caFile', 'certificate 2 (CN=client) is not a CA certificate'],
    ]);
  });
});

describe('check-config', () => {
  function cli(args: string[]) {
    const out = { stdout: '', stderr: '' };
    const io: CliIo = {
      readFile: (file) => fs.readFileSync(file, 'utf8'),
      readEnv: (name) => ENV[name],
      stdout: (text) => void (out.stdout += text),
      stderr: (text) => void (out.stderr += text),
    };
    return { code: runCheckConfig(args, io), ...out };
  }

  function policyDir(files: { cert: string; key: string }): string {
    const at = fs.mkdtempSync(path.join(dir, 'cli-'));
    fs.mkdirSync(path.join(at, 'tls'));
    fs.writeFileSync(path.join(at, 'gateway.yaml'), POLICY);
    fs.writeFileSync(path.join(at, 'tls', 'server.crt'), files.cert);
    fs.writeFileSync(path.join(at, 'tls', 'server.key'), files.key);
    fs.writeFileSync(path.join(at, 'tls', 'clients-ca.pem'), ca.cert);
    return at;
  }

  test('summarises the listener TLS and the certificate callers, without the key', () => {
    const at = policyDir({ cert: server.cert, key: server.key });
    const run = cli([path.join(at, 'gateway.yaml')]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      / {2}tls {7}certificate \S+\/tls\/server\.crt \(valid until \d{4}-\S+\), key \S+\/tls\/server\.key, minimum TLSv1\.2; client certificates verified against \S+\/tls\/clients-ca\.pem\n/,
    );
    expect(run.stdout).toContain(
      'authentication: certificate, certificate uri spiffe://cluster.local/ns/shop/sa/billing',
    );
    expect(run.stdout).not.toContain('PRIVATE KEY');
  });

  test('reports a mismatched key with its line and path: exit 1', () => {
    const at = policyDir({ cert: server.cert, key: other.key });
    const run = cli([path.join(at, 'gateway.yaml')]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      `${path.join(at, 'gateway.yaml')}:4: listen.tls.keyFile: does not match the certificate`,
    );
  });

  test('--no-secrets does not read the TLS files (CI has none)', () => {
    const at = fs.mkdtempSync(path.join(dir, 'ci-'));
    fs.writeFileSync(path.join(at, 'gateway.yaml'), POLICY);
    const run = cli([path.join(at, 'gateway.yaml'), '--no-secrets']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/ {2}tls {7}certificate \S+\/tls\/server\.crt, key/);
  });
});

describe('config/gateway.mtls.example.yaml', () => {
  const example = path.join(__dirname, '..', '..', '..', 'config', 'gateway.mtls.example.yaml');

  test('checks with --no-secrets (its TLS paths are placeholders) and names its callers as documented', () => {
    const result = loadPolicyFileWithoutSecrets(example, (file) => fs.readFileSync(file, 'utf8'));
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    expect(result.policy.listen.tls).toEqual({
      certFile: '/etc/strettch-gateway/tls/tls.crt',
      keyFile: '/etc/strettch-gateway/tls/tls.key',
      clientCaFile: '/etc/strettch-gateway/tls/clients-ca.pem',
      minVersion: 'TLSv1.2',
    });
    const callers = Object.values(result.policy.callers).map((c) => [c.id, c.authentication, c.certificate]);
    expect(callers).toEqual([
      ['billing', 'certificate', { uri: 'spiffe://cluster.local/ns/shop/sa/billing' }],
      ['reporter', 'certificate', { subject: 'CN=reporter,O=shop' }],
      ['provisioner', 'token+certificate', { uri: 'spiffe://cluster.local/ns/infra/sa/provisioner' }],
      ['dashboard', 'token', undefined],
    ]);
  });

  test('loads for serving once real files are at its paths', () => {
    const files: Record<string, string> = {
      '/etc/strettch-gateway/tls/tls.crt': server.cert,
      '/etc/strettch-gateway/tls/tls.key': server.key,
      '/etc/strettch-gateway/tls/clients-ca.pem': ca.cert,
    };
    const result = loadPolicyFile(example, {
      readEnv: (name) => (name === 'STRETTCH_KEY_PROD' ? 'sk-example-prod' : undefined),
      readFile: (file) => files[file] ?? fs.readFileSync(file, 'utf8'),
    });
    expect(result.ok ? [] : result.errors).toEqual([]);
  });
});

describe('explain', () => {
  test('says how a certificate caller is identified; a token caller reads as before', () => {
    const example = path.join(__dirname, '..', '..', '..', 'config', 'gateway.mtls.example.yaml');
    const result = loadPolicyFileWithoutSecrets(example, (file) => fs.readFileSync(file, 'utf8'));
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    const text = (caller: string) =>
      formatExplanation(
        { caller, method: 'GET', target: '/api/v1/computes', policy: example, upstream: 'https://api.example/api/v1' },
        explainRequest(result.policy, caller, 'GET', '/api/v1/computes'),
      );
    expect(text('billing')).toContain(
      'identified   by its client certificate uri spiffe://cluster.local/ns/shop/sa/billing (no token)',
    );
    expect(text('reporter')).toContain('identified   by its client certificate subject CN=reporter,O=shop (no token)');
    expect(text('provisioner')).toContain(
      'identified   by a token and its client certificate uri spiffe://cluster.local/ns/infra/sa/provisioner',
    );
    expect(text('dashboard')).not.toContain('identified');
  });
});
