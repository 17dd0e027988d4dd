/** The `strettch-gateway` bin's own texts: the command list, and how it names the shared entries. */
import { CHECK_CONFIG_USAGE_LINE } from './check-config';
import { EXPLAIN_USAGE_LINE } from './explain';
import type { StartNames } from './main';

export const BIN_NAME = 'strettch-gateway';

export const BIN_START_NAMES: StartNames = {
  usage: `${BIN_NAME} start [--config <policy.yaml>] [--watch]`,
  mintExample: `${BIN_NAME} token demo-operator`,
};

export const BIN_TOKEN_USAGE = `${BIN_NAME} token <caller> [--lifetime <seconds, default 900>] [--scope "<scope> ..."]
                               [--config <policy.yaml> [--kid <kid>]]`;

export const BIN_USAGE = `Usage: ${BIN_NAME} <command> [options]

Commands:
  start          run the gateway (without --config: the embedded default, in front of the sandbox)
  check-config   check a policy file: every problem with its path, or a summary
  token          mint a caller token; prints only the token
  explain        would the gateway allow a caller's request, and why
  ledger         ledger rebuild: restore owners and live counts from the provider (dry run unless --apply)
  help           this text, or a command's: ${BIN_NAME} help <command>
  --version      the version of ${BIN_NAME}

  ${BIN_START_NAMES.usage}
  ${CHECK_CONFIG_USAGE_LINE}
  ${BIN_NAME} token <caller> [--lifetime <s>] [--scope "<scope> ..."] [--config <policy.yaml> [--kid <kid>]]
  ${EXPLAIN_USAGE_LINE}
  ${BIN_NAME} ledger rebuild --account <name> --config <policy.yaml> [--apply] [--json]

Exit codes: 0 success (explain: allowed); 1 failure (check-config: problems found; explain: denied);
2 usage error (explain: also a policy it cannot use). Details: docs/cli.md.`;
