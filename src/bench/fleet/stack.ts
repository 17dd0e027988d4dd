/**
 * One scenario's processes: the sandbox (its window model is configuration, so it is started per
 * scenario), three gateway processes (dist/cli/main.js with the bench policy, REDIS_URL and
 * GATEWAY_REPLICAS=3) and three baseline replicas, each on a port of 127.0.0.1 it picks itself (port 0,
 * read back from its log), all sharing the bench's redis-server. `stop()` ends them all.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { SandboxStats } from '../../sandbox';
import { waitForLogLine, waitUntil, type Child, type ChildGroup } from './children';
import type { CallerSpec } from './callers';
import { getJson, requestText } from './http-json';
import { API_KEY_ENV, benchPolicyYaml, JWT_SECRET_ENV } from './policy';
import type { BenchRedis } from './redis-server';

/** The sandbox's public demo owner key (team-a): owners may create computes. */
export const SANDBOX_OWNER_KEY = 'sandbox-owner-key';
export const PROVIDER_LIMITS = Object.freeze({ read: 30, write: 5 });
export const REPLICAS = 3;
const SANDBOX_LATENCY_MS = 20;
const SANDBOX_JITTER_MS = 10;
const START_TIMEOUT_MS = 20_000;

export interface StackSettings {
  /** The compiled tree (`dist/`), where the gateway and sandbox entries live. */
  distDir: string;
  /** This scenario's temporary directory (policy file, logs). */
  workDir: string;
  redis: BenchRedis;
  window: 'fixed' | 'sliding';
  windowPhaseMs: number;
  safety: number;
  maxWaitMs: number;
  callers: readonly CallerSpec[];
  jwtSecret: string;
}

export interface Replica {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** Gateways only: probes and metrics. */
  adminUrl?: string;
}

export interface FleetStack {
  sandboxOrigin: string;
  gateways: readonly Replica[];
  baselines: readonly Replica[];
  refereeStats(): Promise<SandboxStats>;
  refereeReset(): Promise<void>;
  stop(): Promise<void>;
}

export async function startStack(group: ChildGroup, settings: StackSettings): Promise<FleetStack> {
  const { distDir, workDir } = settings;
  fs.mkdirSync(workDir, { recursive: true });
  const node = process.execPath;
  const children: Child[] = [];
  const stop = async () => {
    await Promise.all(children.map((c) => c.stop()));
  };

  try {
    const sandbox = group.spawn('sandbox', node, [
      path.join(distDir, 'sandbox/cli.js'),
      '--port', '0', '--host', '127.0.0.1',
      '--profile', 'launch', '--window', settings.window, '--window-phase-ms', String(settings.windowPhaseMs),
      '--latency-ms', String(SANDBOX_LATENCY_MS), '--jitter-ms', String(SANDBOX_JITTER_MS),
      '--log-level', 'warn',
    ], { logFile: path.join(workDir, 'sandbox.log') });
    children.push(sandbox);
    const sandboxOrigin = (await waitForLogLine(sandbox, /listening on (http:\/\/127\.0\.0\.1:\d+)/, START_TIMEOUT_MS))[1]!;

    const policyFile = path.join(workDir, 'policy.yaml');
    fs.writeFileSync(policyFile, benchPolicyYaml({
      upstreamBaseUrl: `${sandboxOrigin}/api/v1`,
      readPerSecond: PROVIDER_LIMITS.read,
      writePerSecond: PROVIDER_LIMITS.write,
      safety: settings.safety,
      maxWaitMs: settings.maxWaitMs,
      callers: settings.callers,
    }));

    const startGateway = async (i: number): Promise<Replica> => {
      const child = group.spawn(`gateway-${i + 1}`, node, [path.join(distDir, 'cli/main.js'), '--config', policyFile], {
        logFile: path.join(workDir, `gateway-${i + 1}.log`),
        env: {
          REDIS_URL: settings.redis.url,
          GATEWAY_REPLICAS: String(REPLICAS),
          HOST: '127.0.0.1',
          PORT: '0',
          ADMIN_PORT: '0',
          LOG_LEVEL: 'warn',
          [API_KEY_ENV]: SANDBOX_OWNER_KEY,
          [JWT_SECRET_ENV]: settings.jwtSecret,
        },
      });
      children.push(child);
      const [, url, adminUrl] = await waitForLogLine(child, /listening on (http:\/\/127\.0\.0\.1:\d+) \(metrics and probes on (http:\/\/127\.0\.0\.1:\d+)\)/, START_TIMEOUT_MS);
      // Ready means on the shared schedule (connected to Redis), not just listening.
      await waitUntil(child.name, START_TIMEOUT_MS, async () => {
        const ready = await requestText('GET', `${adminUrl}/readyz`, 500);
        return ready.status === 200 && ready.text.includes('"shared"');
      }, child);
      return { url: url!, adminUrl: adminUrl! };
    };
    const startBaseline = async (i: number): Promise<Replica> => {
      const child = group.spawn(`baseline-${i + 1}`, node, [path.join(distDir, 'bench/fleet/baseline-replica.js')], {
        logFile: path.join(workDir, `baseline-${i + 1}.log`),
        env: {
          REDIS_URL: settings.redis.url,
          PORT: '0',
          BASELINE_UPSTREAM: sandboxOrigin,
          BASELINE_API_KEY: SANDBOX_OWNER_KEY,
          BASELINE_READ_PER_SECOND: String(PROVIDER_LIMITS.read),
          BASELINE_WRITE_PER_SECOND: String(PROVIDER_LIMITS.write),
          BASELINE_REPLICAS: String(REPLICAS),
        },
      });
      children.push(child);
      return { url: (await waitForLogLine(child, /listening on (http:\/\/127\.0\.0\.1:\d+)/, START_TIMEOUT_MS))[1]! };
    };
    const indexes = Array.from({ length: REPLICAS }, (_, i) => i);
    const [gateways, baselines] = await Promise.all([Promise.all(indexes.map(startGateway)), Promise.all(indexes.map(startBaseline))]);

    return {
      sandboxOrigin,
      gateways,
      baselines,
      refereeStats: () => getJson<SandboxStats>(`${sandboxOrigin}/_sandbox/stats`, 10_000),
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
