/**
 * `npm run token -- <caller>`: prints only a freshly minted caller token on stdout, so
 * `TOKEN=$(npm run token -- demo-reader)` works. Signed with the embedded default's dev key, or,
 * with `--config`, with one of that policy's shared-secret (HS256) keys: the only secret it reads.
 */
import fs from 'node:fs';
import { mintToken } from '../gateway/auth';
import { parseTokenArgs } from './args';
import { EMBEDDED_CALLERS, loadDevSigningKey, mintEmbeddedToken } from './embedded-token';

export const NPM_TOKEN_USAGE =
  'npm run token -- <caller> [--lifetime <seconds, default 900>] [--scope "<scope> ..."]\n                                [--config <policy.yaml> [--kid <kid>]]';

export const tokenHelp = (usage: string) => `Usage: ${usage}

Without --config, mints for a caller of the embedded default (${Object.keys(EMBEDDED_CALLERS).join(', ')}).
With --config, mints for a caller of that policy with its HS256 key (--kid picks one); public-key
policies need tokens from your identity provider. --scope narrows the grant, never widens it.`;

function fail(message: string, code = 2): never {
  process.stderr.write(`token: ${message}\n`);
  process.exit(code);
}

async function mintWithPolicy(
  configPath: string,
  caller: string,
  lifetimeSec: number,
  scope: string | undefined,
  kid: string | undefined,
): Promise<string> {
  // Loaded only here: the policy parser (and zod) would double the time of the usual, embedded mint.
  const { formatProblem, loadSigningPolicyFile } = await import('../gateway/policy');
  // Only the signing key is read: the provider's API keys need not be present where tokens are minted.
  const loaded = loadSigningPolicyFile(
    configPath,
    { readEnv: (name) => process.env[name], readFile: (file) => fs.readFileSync(file, 'utf8') },
    kid,
  );
  if (!loaded.ok) fail(loaded.errors.map((problem) => formatProblem(problem, configPath)).join('\n'), 1);
  const { signing } = loaded;
  if (!signing.callers.includes(caller))
    fail(`unknown caller "${caller}"; ${configPath} has ${signing.callers.join(', ')}`);
  const key = signing.key;
  if (!key) fail(`${configPath} has no HS256 key${kid ? ` with kid "${kid}"` : ''} to mint with`);
  return mintToken({
    sub: caller,
    scope,
    lifetimeSec: Math.min(lifetimeSec, signing.maxTokenLifetimeSec),
    signingKey: key.key,
    alg: 'HS256',
    kid: key.kid,
    issuer: signing.issuer,
    audience: signing.audience,
    now: Date.now,
  });
}

/** Prints only the token on stdout; shared by `npm run token` and `strettch-gateway token`. */
export async function runToken(argv: readonly string[], usage: string): Promise<void> {
  const help = tokenHelp(usage);
  const parsed = parseTokenArgs(argv);
  if (!parsed.ok) fail(`${parsed.problems.join('\n')}\n${help}`);
  if (parsed.settings.help) {
    process.stdout.write(`${help}\n`);
    process.exit(0);
  }
  const { caller = '', lifetimeSec, scope, configPath, kid } = parsed.settings;
  let token: string;
  if (configPath) token = await mintWithPolicy(configPath, caller, lifetimeSec, scope, kid);
  else {
    if (!Object.hasOwn(EMBEDDED_CALLERS, caller))
      fail(`unknown caller "${caller}"; the embedded default has ${Object.keys(EMBEDDED_CALLERS).join(', ')}`);
    token = mintEmbeddedToken(loadDevSigningKey(process.cwd()), caller, lifetimeSec, Date.now, scope);
  }
  process.stdout.write(`${token}\n`);
}

if (require.main === module) void runToken(process.argv.slice(2), NPM_TOKEN_USAGE);
