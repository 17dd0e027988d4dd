/**
 * One scenario's processes: the sandbox (its window model is configuration, so it is started per
 * scenario), three gateway processes (dist/cli/main.js with the bench policy, the Redis settings and
 * GATEWAY_REPLICAS=3) and three baseline replicas, each on a port of 127.0.0.1 it picks itself (port 0,
 * read back from its log; a restarted replica gets its old ports back), all sharing the bench's
 * redis-server. `stop()` ends them all.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ProfileSwitch, RateProfile, SandboxStats } from '../../src/sandbox';
import { waitForLogLine, waitUntil, type Child, type ChildGroup } from './children';
import type { CallerSpec } from './callers';
import { scheduleMode } from './gateway-probes';
import { getJson, requestText } from './http-json';
import { API_KEY_ENV, benchPolicyYaml, JWT_SECRET_ENV } from './policy';
import type { BuiltTrees } from '../supervised-run';
import type { BenchRedis } from './redis-server';

/** The sandbox's public demo owner key (team-a): owners may create computes. */
export const SANDBOX_OWNER_KEY = 'sandbox-owner-key';
export const PROVIDER_LIMITS = Object.freeze({ read: 30, write: 5 });
export const REPLICAS = 3;
const SANDBOX_LATENCY_MS = 20;
const SANDBOX_JITTER_MS = 10;
const START_TIMEOUT_MS = 20_000;

/** `distDir`: the gateway and sandbox entries; `benchDir`: the baseline replica's. */
export interface StackSettings extends BuiltTrees {
  /** This scenario's temporary directory (policy file, logs). */
  workDir: string;
  redis: BenchRedis;
  window: 'fixed' | 'sliding';
  windowPhaseMs: number;
  safety: number | 'auto';
  maxWaitMs: number;
  callers: readonly CallerSpec[];
  jwtSecret: string;
  /** The account's limits are `auto` within these bounds (limits-auto scenario). */
  autoBounds?: { minPerSecond: number; maxPerSecond: number };
  /** The gateways' LOG_LEVEL (default warn): `info` to see the adoption log line. */
  gatewayLogLevel?: string;
  /** SCHEDULE_LEARN_WINDOW_PHASE=1 for the gateways. */
  learnWindowPhase?: boolean;
}

export interface Replica {
  /** `http://127.0.0.1:<port>`; a restarted replica keeps it. */
  url: string;
  /** Gateways only: probes and metrics (kept across a restart as well). */
  adminUrl?: string;
}

/** The three gateways or the three baseline replicas, started together, restartable one by one. */
export interface ReplicaSet {
  readonly replicas: readonly Replica[];
  /** SIGTERM replica `index` (it drains), SIGKILL after `graceMs`; resolves once it is gone. */
  stopReplica(index: number, graceMs: number): Promise<void>;
  /** A new process for replica `index` on its old ports; resolves once it listens (a gateway may not be on the shared
   * schedule yet). */
  startReplica(index: number): Promise<void>;
  stop(): Promise<void>;
}

export interface FleetStack {
  sandboxOrigin: string;
  /** Three gateways, each ready on the shared schedule. */
  startGateways(): Promise<ReplicaSet>;
  startBaselines(): Promise<ReplicaSet>;
  /** `decisionsSinceMs`: also every rate decision from then on (the sandbox's clock, Unix ms). */
  refereeStats(decisionsSinceMs?: number): Promise<SandboxStats>;
  refereeReset(): Promise<void>;
  /** The provider changes its limits (`PUT /_sandbox/profile`); a referee reset restores `launch`. */
  switchProfile(profile: RateProfile): Promise<ProfileSwitch>;
  stop(): Promise<void>;
}

const GATEWAY_LISTENING =
  /listening on (http:\/\/127\.0\.0\.1:(\d+)) \(metrics and probes on (http:\/\/127\.0\.0\.1:(\d+))\)/;
const BASELINE_LISTENING = /listening on (http:\/\/127\.0\.0\.1:(\d+))/;

interface ReplicaKind {
  name: 'gateway' | 'baseline';
  args: string[];
  env: Record<string, string>;
  /** Port and admin port as environment: '0' at first (the process picks), then its old ones. */
  portEnv(port: string, adminPort: string): Record<string, string>;
  listening: RegExp;
  /** The first start waits for this beyond listening (gateways: the shared schedule). */
  ready?(replica: Replica, child: Child): Promise<void>;
}

/**
 * The sandbox starts now; the replicas only when a phase asks for them, so that the gateways' cold
 * start falls inside their judged phase and the baseline replicas take no CPU from it.
 */
export async function startStack(group: ChildGroup, settings: StackSettings): Promise<FleetStack> {
  fs.mkdirSync(settings.workDir, { recursive: true });
  const children: Child[] = [];
  const stop = async () => {
    await Promise.all(children.map((c) => c.stop()));
  };
  try {
    const { child: sandbox, origin: sandboxOrigin } = await startSandbox(group, settings.distDir, settings.workDir, [
      '--profile',
      'launch',
      '--window',
      settings.window,
      '--window-phase-ms',
      String(settings.windowPhaseMs),
      '--latency-ms',
      String(SANDBOX_LATENCY_MS),
      '--jitter-ms',
      String(SANDBOX_JITTER_MS),
    ]);
    children.push(sandbox);
    const policyFile = path.join(settings.workDir, 'policy.yaml');
    fs.writeFileSync(
      policyFile,
      benchPolicyYaml({
        upstreamBaseUrl: `${sandboxOrigin}/api/v1`,
        readPerSecond: PROVIDER_LIMITS.read,
        writePerSecond: PROVIDER_LIMITS.write,
        safety: settings.safety,
        maxWaitMs: settings.maxWaitMs,
        callers: settings.callers,
        ...(settings.autoBounds ? { autoBounds: settings.autoBounds } : {}),
      }),
    );
    const replicasOf = (kind: ReplicaKind) => startReplicas(kind, { group, workDir: settings.workDir, children });
    return {
      sandboxOrigin,
      startGateways: () =>
        replicasOf(
          gatewayKind(settings.distDir, policyFile, {
            ...settings.redis.env,
            [API_KEY_ENV]: SANDBOX_OWNER_KEY,
            [JWT_SECRET_ENV]: settings.jwtSecret,
            ...(settings.gatewayLogLevel ? { LOG_LEVEL: settings.gatewayLogLevel } : {}),
            ...(settings.learnWindowPhase ? { SCHEDULE_LEARN_WINDOW_PHASE: '1' } : {}),
          }),
        ),
      startBaselines: () => replicasOf(baselineKind(settings, sandboxOrigin)),
      refereeStats: (decisionsSinceMs) =>
        getJson<SandboxStats>(
          `${sandboxOrigin}/_sandbox/stats${decisionsSinceMs === undefined ? '' : `?decisionsSinceMs=${Math.floor(decisionsSinceMs)}`}`,
          10_000,
        ),
      async switchProfile(profile) {
        const reply = await requestText('PUT', `${sandboxOrigin}/_sandbox/profile`, 5000, JSON.stringify({ profile }));
        if (reply.status !== 200) throw new Error(`profile switch: status ${reply.status}`);
        return JSON.parse(reply.text) as ProfileSwitch;
      },
      async refereeReset() {
        const reply = await requestText('POST', `${sandboxOrigin}/_sandbox/reset`, 5000);
        if (reply.status !== 200) throw new Error(`referee reset: status ${reply.status}`);
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * The sandbox on a port of 127.0.0.1 it picks itself, quiet (warnings only); `args` and `env` say the
 * rest (profile, limits, latency, extra keys). Resolves once it listens.
 */
export async function startSandbox(
  group: ChildGroup,
  distDir: string,
  workDir: string,
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<{ child: Child; origin: string }> {
  const child = group.spawn(
    'sandbox',
    process.execPath,
    [path.join(distDir, 'sandbox/cli.js'), '--port', '0', '--host', '127.0.0.1', '--log-level', 'warn', ...args],
    { logFile: path.join(workDir, 'sandbox.log'), env },
  );
  try {
    const origin = (await waitForLogLine(child, /listening on (http:\/\/127\.0\.0\.1:\d+)/, START_TIMEOUT_MS))[1]!;
    return { child, origin };
  } catch (error) {
    await child.stop();
    throw error;
  }
}

/** Gateway processes on `policyFile`; `env`: Redis settings, the secrets the policy references, tuning. */
function gatewayKind(distDir: string, policyFile: string, env: Record<string, string>): ReplicaKind {
  return {
    name: 'gateway',
    args: [path.join(distDir, 'cli/main.js'), '--config', policyFile],
    env: { GATEWAY_REPLICAS: String(REPLICAS), HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...env },
    portEnv: (port, adminPort) => ({ PORT: port, ADMIN_PORT: adminPort }),
    listening: GATEWAY_LISTENING,
    // Ready means on the shared schedule (connected to Redis), not just listening.
    ready: (replica, child) =>
      waitUntil(
        child.name,
        START_TIMEOUT_MS,
        async () => (await scheduleMode(replica.adminUrl!, 500)) === 'shared',
        child,
      ),
  };
}

function baselineKind(settings: StackSettings, sandboxOrigin: string): ReplicaKind {
  return {
    name: 'baseline',
    args: [path.join(settings.benchDir, 'fleet/baseline-replica.js')],
    env: {
      ...settings.redis.env,
      BASELINE_UPSTREAM: sandboxOrigin,
      BASELINE_API_KEY: SANDBOX_OWNER_KEY,
      BASELINE_READ_PER_SECOND: String(PROVIDER_LIMITS.read),
      BASELINE_WRITE_PER_SECOND: String(PROVIDER_LIMITS.write),
      BASELINE_REPLICAS: String(REPLICAS),
    },
    portEnv: (port) => ({ PORT: port }),
    listening: BASELINE_LISTENING,
  };
}

/** Three gateways on `policyFile`, each ready on the shared schedule; every child is added to `children`. */
export function startGatewayReplicas(
  where: { group: ChildGroup; workDir: string; children: Child[] },
  distDir: string,
  policyFile: string,
  env: Record<string, string>,
): Promise<ReplicaSet> {
  return startReplicas(gatewayKind(distDir, policyFile, env), where);
}

/** REPLICAS processes of one kind; a restarted replica keeps its ports. Every child is added to `children`. */
async function startReplicas(
  kind: ReplicaKind,
  where: { group: ChildGroup; workDir: string; children: Child[] },
): Promise<ReplicaSet> {
  const current: Child[] = [];
  const incarnations: number[] = [];
  const ports: Array<{ port: string; adminPort: string }> = [];
  const spawnReplica = async (i: number): Promise<[Replica, Child]> => {
    incarnations[i] = (incarnations[i] ?? 0) + 1;
    const name = `${kind.name}-${i + 1}`;
    const { port, adminPort } = ports[i] ?? { port: '0', adminPort: '0' };
    // A fresh log per incarnation: its "listening" line is the new process's, not the old one's.
    const child = where.group.spawn(name, process.execPath, kind.args, {
      logFile: path.join(where.workDir, incarnations[i] === 1 ? `${name}.log` : `${name}.${incarnations[i]}.log`),
      env: { ...kind.env, ...kind.portEnv(port, adminPort) },
    });
    where.children.push(child);
    current[i] = child;
    const match = await waitForLogLine(child, kind.listening, START_TIMEOUT_MS);
    ports[i] = { port: match[2]!, adminPort: match[4] ?? '0' };
    return [{ url: match[1]!, ...(match[3] !== undefined ? { adminUrl: match[3] } : {}) }, child];
  };
  const indexes = Array.from({ length: REPLICAS }, (_, i) => i);
  const replicas = await Promise.all(
    indexes.map(async (i) => {
      const [replica, child] = await spawnReplica(i);
      await kind.ready?.(replica, child);
      return replica;
    }),
  );
  return {
    replicas,
    stopReplica: (i, graceMs) => current[i]!.stop(graceMs),
    startReplica: async (i) => {
      await spawnReplica(i);
    },
    stop: async () => {
      await Promise.all(current.map((c) => c.stop()));
    },
  };
}
