/**
 * Every secret value the repository's examples ship is known to anyone who read them: its SHA-256
 * must be in SHIPPED_SECRET_DIGESTS, so that `start` and `check-config` refuse it as an HS256
 * secret. This scans the example files (config/, deploy/, docker-compose.yml, the docs) for
 * values assigned to secret-like names and fails on any value missing from the list.
 */
import fs from 'node:fs';
import path from 'node:path';
import { sha256Hex, weakHs256SecretProblem } from '../../../src/gateway/policy/hs256-secret-strength';
import { SHIPPED_SECRET_DIGESTS } from '../../../src/gateway/policy/shipped-secrets';

const root = path.resolve(__dirname, '../../..');

/** Where examples live: files a reader copies from. Binary files (images) are skipped by extension. */
const EXAMPLE_ROOTS = ['config', 'deploy', 'docs', 'docker-compose.yml', 'README.md', 'SECURITY.md'];
const TEXT_FILE = /\.(ya?ml|md|json|conf|mjs|js|sh|env|pem|txt)$|Dockerfile$/;

/**
 * A name that holds a secret: it says secret, password or API key, has a `key` part, or ends in
 * token (`JWT_HS_SECRET`, `apiKey`, `jwt-hs-secret`, `STRETTCH_KEY_SANDBOX`, `ACCESS_TOKEN`) — and
 * does not end in what names a secret's place or its metadata (`secretName`, `JWT_HS_SECRET_FILE`,
 * `TOKEN_KID`, `maxTokenLifetimeSec`).
 */
const SECRET_NAME = /secret|passw(or)?d|api[-_]?key|[-_]key([-_]|$)|^key[-_]|token$/i;
const NOT_A_SECRET_NAME = /(name|file|path|ref|kid|issuer|audience|url|generator|sec|bytes|mode)$/i;
/**
 * `name: value`, `name=value`, `--from-literal=name=value`: the value up to a space, quote, brace
 * or comma. References (`{ env: … }`, `${…}`, `$(…)`), paths, elisions (`…`, `<…>`) are not values.
 */
const ASSIGNMENT = /([A-Za-z_][\w.-]*)["']?\s*[:=]\s*["']?([^\s"'{}(),`]+)/g;
const MIN_SECRET_LENGTH = 8;

interface FoundSecret {
  file: string;
  line: number;
  name: string;
  value: string;
}

function secretAssignments(text: string, file: string): FoundSecret[] {
  const found: FoundSecret[] = [];
  text.split('\n').forEach((line, index) => {
    // `--from-literal=name=value`: the flag is not the name.
    const lineText = line.replace(/--from-literal=/g, ' ');
    for (const match of lineText.matchAll(ASSIGNMENT)) {
      const [whole, name, value] = match;
      // A call (`'idempotency-key': randomUUID()`) computes its value: nothing is shipped.
      const isCall = lineText[match.index + whole.length] === '(';
      if (!SECRET_NAME.test(name!) || NOT_A_SECRET_NAME.test(name!)) continue;
      if (value!.length < MIN_SECRET_LENGTH || isCall) continue;
      // References, elisions and placeholders in angle brackets, paths, URLs, `process.env.X`.
      if (/^(\$|\.{0,2}\/|<|…|\*|&)|…$|>$|:\/\//.test(value!)) continue;
      if (/^[\w.-]+(\/[\w.-]+)+$/.test(value!) || /^[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)+$/.test(value!)) continue;
      found.push({ file, line: index + 1, name: name!, value: value! });
    }
  });
  return found;
}

function exampleFiles(): string[] {
  const walk = (relative: string): string[] => {
    const full = path.join(root, relative);
    if (!fs.existsSync(full)) return [];
    if (fs.statSync(full).isFile()) return [relative];
    return fs
      .readdirSync(full)
      .filter((name) => name !== 'secrets' && !name.startsWith('.'))
      .flatMap((name) => walk(path.join(relative, name)));
  };
  return EXAMPLE_ROOTS.flatMap(walk).filter((file) => TEXT_FILE.test(file));
}

describe('secretAssignments (the scanner)', () => {
  it.each([
    ['JWT_HS_SECRET: compose-demo-secret-0123', 'compose-demo-secret-0123'],
    ['  jwt-hs-secret: REPLACE-ME-at-least-32', 'REPLACE-ME-at-least-32'],
    ['export JWT_HS_SECRET="s3cr3t-value-xyz"', 's3cr3t-value-xyz'],
    ['kubectl create secret generic x --from-literal=jwt-hs-secret=abcdefgh123', 'abcdefgh123'],
    ['STRETTCH_KEY_SANDBOX: sandbox-owner-key', 'sandbox-owner-key'],
    ['"apiKey": "sk-live-12345678"', 'sk-live-12345678'],
  ])('finds the value in %j', (line, value) => {
    expect(secretAssignments(line, 'x').map((f) => f.value)).toEqual([value]);
  });

  it.each([
    ['secret: { env: JWT_HS_SECRET }'],
    ['apiKey: { file: /run/secrets/strettch-staging }'],
    ['TOKEN=$(npm run token -- demo-operator)'],
    ['JWT_HS_SECRET=… strettch-gateway token billing'],
    ['--from-file=jwt-hs-secret=./jwt-hs-secret'],
    ['maxTokenLifetimeSec: 3600'],
    ['secretName: strettch-gateway-keys'],
    ['JWT_HS_SECRET_FILE: /run/secrets/strettch-gateway/jwt-hs-secret'],
    ['      - jwt-hs-secret=secrets/jwt-hs-secret'],
    ['const secret = process.env.JWT_HS_SECRET_FILE'],
    ['TOKEN_KID: compose-hs'],
    ['x-demo-secrets: &demo-secrets'],
    ['| `--keys <list>` | – | extra keys, `key:team:role[,key:team:role…]`; overrides the env var |'],
    ['TOKEN_AUDIENCE: strettch-gateway'],
    ["headers: { 'idempotency-key': randomUUID() }"],
    ['# It holds no secret: the API key and the token secret are files'],
  ])('finds no value in %j', (line) => {
    expect(secretAssignments(line, 'x')).toEqual([]);
  });
});

describe("the repository's examples", () => {
  const found = exampleFiles().flatMap((file) =>
    secretAssignments(fs.readFileSync(path.join(root, file), 'utf8'), file),
  );

  it('are scanned (the scan sees the files it is meant to)', () => {
    const scanned = exampleFiles();
    expect(scanned).toEqual(expect.arrayContaining(['docker-compose.yml', 'config/gateway.example.yaml']));
    // The sandbox's demo key in docker-compose.yml is a shipped value the scan must find.
    expect(found.map((f) => f.file)).toContain('docker-compose.yml');
  });

  it('ship no secret value whose digest is missing from SHIPPED_SECRET_DIGESTS', () => {
    const missing = found
      .filter((f) => !SHIPPED_SECRET_DIGESTS.has(sha256Hex(f.value)))
      .map((f) => `${f.file}:${f.line}: ${f.name} (sha256 ${sha256Hex(f.value)})`);
    expect(missing).toEqual([]);
  });

  it('every shipped value is refused as an HS256 secret, naming where it was shipped, never the value', () => {
    for (const { value } of found) {
      const problem = weakHs256SecretProblem(value);
      expect(problem).toMatch(/shipped in the repository's examples/);
      expect(problem).not.toContain(value);
    }
  });
});
