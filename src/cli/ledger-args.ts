/** The arguments of `strettch-gateway ledger rebuild`, pure: problems come back as values. */
import { readFlags, type Parsed } from './args';

export const LEDGER_SUBCOMMANDS = ['rebuild'] as const;

export interface LedgerRebuildSettings {
  accountId?: string;
  configPath?: string;
  /** Without it, a dry run: the plan is printed and nothing is written. */
  apply: boolean;
  json: boolean;
  help: boolean;
}

export function parseLedgerArgs(argv: readonly string[]): Parsed<LedgerRebuildSettings> {
  const problems: string[] = [];
  const { flags, positionals } = readFlags(argv, ['account', 'config'], ['apply', 'json', 'help'], problems);
  const help = flags.help === true;
  const [subcommand, extra] = positionals;
  const text = (name: string) => (typeof flags[name] === 'string' ? flags[name] : undefined);
  if (!help) {
    if (subcommand === undefined) problems.push('name the subcommand: rebuild');
    else if (!(LEDGER_SUBCOMMANDS as readonly string[]).includes(subcommand))
      problems.push(`unknown subcommand "${subcommand}" (known: ${LEDGER_SUBCOMMANDS.join(', ')})`);
    if (extra !== undefined) problems.push(`unexpected argument "${extra}"`);
    if (!text('account')) problems.push('--account: name the account whose ledger to rebuild');
    if (!text('config')) problems.push('--config: name the policy the gateway runs (the account key and limits)');
  }
  const settings: LedgerRebuildSettings = {
    accountId: text('account'),
    configPath: text('config'),
    apply: flags.apply === true,
    json: flags.json === true,
    help,
  };
  return problems.length > 0 ? { ok: false, problems } : { ok: true, settings };
}
