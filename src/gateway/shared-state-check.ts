/**
 * What only Redis makes shared: the rate schedule, and the ledger behind ownership and quotas.
 * Without Redis (REDIS_URL, REDIS_SENTINELS or REDIS_CLUSTER_NODES) both live in one process, which
 * is right for one replica and silently wrong for several (each replica would send the account's
 * full rate and allow the full quota) or across restarts (the ledger is forgotten). So `start` and
 * `check-config` refuse such a deployment unless it says one replica on purpose (GATEWAY_SINGLE_REPLICA).
 */
import { formatPath, type ConfigProblem } from './policy/problems';
import type { Policy } from './policy/types';
import type { RedisTopology } from '../redis';

export interface SharedStateSettings {
  /** Any Redis topology counts as shared state: single node, Sentinel or Cluster. */
  readonly redis?: RedisTopology;
  readonly redisUrl?: string;
  readonly expectedReplicas: number;
  readonly singleReplica: boolean;
}

const ANY_REDIS = 'REDIS_URL, REDIS_SENTINELS or REDIS_CLUSTER_NODES';
const OR_SINGLE = `set ${ANY_REDIS}, or GATEWAY_SINGLE_REPLICA=1 to run one replica without Redis on purpose`;

/** Every reason this policy cannot run with these settings; empty when it can. Paths name the setting or policy key. */
export function sharedStateProblems(settings: SharedStateSettings, policy: Policy): ConfigProblem[] {
  if (settings.redis !== undefined || settings.redisUrl !== undefined) return [];
  const problems: ConfigProblem[] = [];
  if (settings.expectedReplicas > 1)
    problems.push({
      path: 'GATEWAY_REPLICAS',
      message:
        `is ${settings.expectedReplicas} but REDIS_URL is not set: each replica would keep its own rate schedule ` +
        `and send the account's full rate, and its own ownership and quota ledger; set ${ANY_REDIS}`,
    });
  if (settings.singleReplica) return problems;
  for (const caller of Object.values(policy.callers)) {
    const { ownership, quotas } = caller.leastPrivilege;
    if (ownership)
      problems.push({
        path: formatPath(['callers', caller.id, 'ownership']),
        message: `needs REDIS_URL: without it who created which compute is kept by this process alone; ${OR_SINGLE}`,
      });
    if (quotas)
      problems.push({
        path: formatPath(['callers', caller.id, 'quotas']),
        message: `needs REDIS_URL: without it the counts are kept by this process alone; ${OR_SINGLE}`,
      });
  }
  for (const account of Object.values(policy.accounts))
    if (account.quotas)
      problems.push({
        path: formatPath(['accounts', account.id, 'quotas']),
        message: `needs REDIS_URL: without it the counts are kept by this process alone; ${OR_SINGLE}`,
      });
  return problems;
}
