/**
 * `npm run -s token -- <caller>`: prints only a freshly minted caller token on stdout, signed with
 * the embedded default's dev key, so `TOKEN=$(npm run -s token -- demo-reader)` works.
 */
import { parseTokenArgs } from './args';
import { EMBEDDED_CALLERS, loadDevSigningKey, mintEmbeddedToken } from './embedded';

const HELP = `Usage: npm run -s token -- <caller> [--lifetime <seconds, default 900>] [--scope "<scope> ..."]

Mints a token for a caller of the embedded default (${Object.keys(EMBEDDED_CALLERS).join(', ')}).
--scope narrows the caller's grant (it can never widen it).`;

const parsed = parseTokenArgs(process.argv.slice(2));
if (!parsed.ok) {
  for (const problem of parsed.problems) process.stderr.write(`token: ${problem}\n`);
  process.stderr.write(`${HELP}\n`);
  process.exit(2);
}
if (parsed.settings.help) {
  process.stdout.write(`${HELP}\n`);
  process.exit(0);
}
const { caller, lifetimeSec, scope } = parsed.settings;
if (!caller || !Object.hasOwn(EMBEDDED_CALLERS, caller)) {
  process.stderr.write(`token: unknown caller "${caller}"; the embedded default has ${Object.keys(EMBEDDED_CALLERS).join(', ')}\n`);
  process.exit(2);
}
process.stdout.write(`${mintEmbeddedToken(loadDevSigningKey(process.cwd()), caller, lifetimeSec, Date.now, scope)}\n`);
