/**
 * `strettch-gateway ledger rebuild --account <name> --config <policy.yaml> [--apply]`: restores the
 * compute ledger of one account (owners and live counts) from the provider's own state, after a Redis
 * lost without persistence or computes created or deleted outside the gateway. A dry run unless
 * `--apply`. The composition root of this command: it alone opens its Redis connection, schedule and
 * upstream reader, and closes them.
 *
 * Order matters: the ledger's live computes are read before the provider's list, and every change
 * applies only where the ledger still holds what was read, so a gateway creating or deleting
 * meanwhile is never undone (`ledger-rebuild.ts`).
 */
import { GATEWAY_USER_AGENT, scheduleLimitsFor } from '../gateway/compose';
import { RedisComputeLedger } from '../gateway/least-privilege/ledger';
import { planLedgerRebuild } from '../gateway/least-privilege/ledger-rebuild';
import { MAX_LIST_PAGE_BYTES } from '../gateway/least-privilege/own-computes-list';
import { readProviderComputes } from '../gateway/least-privilege/provider-computes';
import { createScheduledReader } from '../gateway/least-privilege/scheduled-read';
import { formatProblem, loadPolicyFile } from '../gateway/policy';
import type { Policy } from '../gateway/policy/types';
import { readSettings, type GatewaySettings } from '../gateway/settings';
import { createRedisConnection, type RedisConnection, type RedisTopology } from '../redis';
import { createRateSchedule, type RateSchedule } from '../schedule';
import type { CliIo } from './io';
import { parseLedgerArgs } from './ledger-args';
import { formatRebuild, type RebuildReport } from './ledger-format';

export const LEDGER_USAGE_LINE =
  'strettch-gateway ledger rebuild --account <name> --config <policy.yaml> [--apply] [--json]';

export const LEDGER_HELP = `Usage: ${LEDGER_USAGE_LINE}

Restores the compute ledger of one account (who created which compute, and the live counts the
quotas use) from the provider's own state: every compute of the account is read (GET /computes,
pages of 100, each on the account's shared read schedule in Redis, like any gateway read), and
each one tagged owner:<caller> for a caller of this account is that caller's, live unless it is
being destroyed. Computes the ledger counts that the provider no longer has stop counting. For a
Redis lost without persistence, or computes created or deleted outside the gateway.

A dry run by default: prints, per caller, the live computes now and after, the computes nobody
owns, and every change. --apply writes them; each change applies only where the ledger still holds
what was read (a create or delete meanwhile is kept), then the live counts are recounted.

  --account <name>   the account (from the policy's accounts)
  --config <file>    the policy the gateway runs: the account's key, limits and callers
  --apply            write the changes (default: a dry run)
  --json             the report as JSON

Environment: REDIS_URL (required: the ledger and the schedule), REDIS_COMMAND_TIMEOUT_MS,
REDIS_CONNECT_TIMEOUT_MS, GATEWAY_REPLICAS and the schedule's tuning, as start reads them.

Exit code: 0 done (a dry run, or the changes written), 1 failure (invalid policy, Redis or the
provider unreachable or refusing), 2 usage error (also: unknown account, no REDIS_URL).`;

/** A CLI can wait far longer for a slot than a caller: the gateways' own reads keep their share. */
const SLOT_MAX_WAIT_MS = 30_000;
const READ_ATTEMPTS = 5;

class Failure extends Error {
  constructor(
    message: string,
    readonly exitCode: 1 | 2,
  ) {
    super(message);
  }
}

function loadPolicy(configPath: string, accountId: string, io: CliIo): Policy {
  const loaded = loadPolicyFile(configPath, { readEnv: io.readEnv, readFile: io.readFile });
  if (!loaded.ok) {
    const listed = loaded.errors.map((problem) => formatProblem(problem, configPath)).join('\n');
    throw new Failure(`${listed}\n${loaded.errors.length} problem(s) in ${configPath}`, 1);
  }
  if (!Object.hasOwn(loaded.policy.accounts, accountId))
    throw new Failure(
      `--account: unknown account "${accountId}" (accounts: ${Object.keys(loaded.policy.accounts).join(', ')})`,
      2,
    );
  return loaded.policy;
}

function loadSettings(io: CliIo): GatewaySettings & { redis: RedisTopology } {
  const read = readSettings(io.settingsEnv ?? {});
  if (!read.ok) throw new Failure(read.problems.join('\n'), 2);
  const { settings } = read;
  if (settings.redis === undefined)
    throw new Failure(
      'REDIS_URL (or REDIS_SENTINELS, or REDIS_CLUSTER_NODES): required: the ledger to rebuild is the one the gateways share in Redis',
      2,
    );
  return { ...settings, redis: settings.redis };
}

async function until(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}

/** Redis answering, and the schedule on it (not in its fallback): both are needed. */
async function connect(settings: GatewaySettings & { redis: RedisTopology }, policy: Policy, io: CliIo) {
  const connection = createRedisConnection({
    topology: settings.redis,
    commandTimeoutMs: settings.redisCommandTimeoutMs,
    connectTimeoutMs: settings.redisConnectTimeoutMs,
    connectionName: 'strettch-gateway-ledger',
  });
  const say = (level: string) => (_fields: object, msg: string) => io.stderr(`ledger rebuild: ${level}: ${msg}\n`);
  const schedule = createRateSchedule({
    ...settings.schedule,
    redis: { connection },
    limits: (accountId) => scheduleLimitsFor(policy, accountId),
    expectedReplicas: settings.expectedReplicas,
    logger: { info: () => undefined, warn: say('warning'), error: say('error') },
  });
  const waitMs = settings.redisConnectTimeoutMs + 2000;
  const ready =
    (await until(() => connection.status() === 'ready', waitMs)) &&
    (await until(() => schedule.state().reason !== 'connecting', waitMs)) &&
    schedule.state().mode === 'shared';
  return { connection, schedule, ready };
}

async function rebuild(
  policy: Policy,
  accountId: string,
  apply: boolean,
  connection: RedisConnection,
  schedule: RateSchedule,
): Promise<RebuildReport> {
  const ledger = new RedisComputeLedger({ connection });
  const account = policy.accounts[accountId]!;
  const reader = createScheduledReader({
    schedule,
    accountId,
    apiKey: account.apiKey,
    upstreamBaseUrl: policy.upstream.baseUrl,
    timeoutMs: policy.upstream.timeoutMs,
    userAgent: GATEWAY_USER_AGENT,
    maxWaitMs: SLOT_MAX_WAIT_MS,
    maxAttempts: READ_ATTEMPTS,
    maxBodyBytes: MAX_LIST_PAGE_BYTES,
  });
  try {
    const live = await ledger.liveComputes(accountId);
    const listed = await readProviderComputes(reader.read);
    if (!listed.ok) throw new Failure(`the provider's computes: ${listed.problem}`, 1);
    const ids = listed.computes.map((compute) => compute.id);
    const owners = await ledger.ownersOf(accountId, ids);
    const plan = planLedgerRebuild({
      accountCallers: Object.values(policy.callers)
        .filter((caller) => caller.accountId === accountId)
        .map((caller) => caller.id),
      computes: listed.computes,
      live,
      owners: new Map(ids.flatMap((id, i) => (owners[i] === undefined ? [] : [[id, owners[i]!] as const]))),
    });
    const report: RebuildReport = { accountId, apply, pages: listed.pages, plan };
    if (apply) report.result = await ledger.applyRepairs(accountId, plan.repairs);
    return report;
  } finally {
    reader.close();
    await ledger.close();
  }
}

/** Runs the command; the exit code. */
export async function runLedger(argv: readonly string[], io: CliIo): Promise<number> {
  const parsed = parseLedgerArgs(argv);
  if (!parsed.ok) {
    io.stderr(`${parsed.problems.map((problem) => `ledger: ${problem}\n`).join('')}${LEDGER_HELP}\n`);
    return 2;
  }
  const { accountId = '', configPath = '', apply, json, help } = parsed.settings;
  if (help) {
    io.stdout(`${LEDGER_HELP}\n`);
    return 0;
  }
  let opened: Awaited<ReturnType<typeof connect>> | undefined;
  try {
    // Settings first: a missing REDIS_URL is named before any secret is read.
    const settings = loadSettings(io);
    const policy = loadPolicy(configPath, accountId, io);
    opened = await connect(settings, policy, io);
    if (!opened.ready) throw new Failure('Redis does not answer: the ledger and the schedule live there', 1);
    const report = await rebuild(policy, accountId, apply, opened.connection, opened.schedule);
    io.stdout(json ? `${JSON.stringify(report, null, 2)}\n` : formatRebuild(report));
    return 0;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    io.stderr(
      `${message
        .split('\n')
        .map((line) => `ledger rebuild: ${line}\n`)
        .join('')}`,
    );
    return error instanceof Failure ? error.exitCode : 1;
  } finally {
    await opened?.schedule.close();
    await opened?.connection.close();
  }
}
