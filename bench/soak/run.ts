/**
 * The run. Processes, each on a port of 127.0.0.1 it picks itself (read back from its log), all
 * through the bench's ChildGroup: a redis-server (unless --no-redis), the sandbox, and one gateway
 * (dist/cli/main.js with the soak policy, the probe preloaded). The load comes from this process.
 *
 * 1. Baseline: the same generator, rate and mix straight to the sandbox (its keys playing the
 *    callers' parts), no faults. Then a referee reset, and the faults switched on.
 * 2. The gateway starts; an idle scrape of its /metrics.
 * 3. The soak: open-loop load for --duration, /metrics scraped every second, a progress line every
 *    --progress seconds; SIGUSR2 to the gateway at the end of the warm-up and of the load (the
 *    probe's event-loop histogram covers exactly the measured span).
 * 4. Idle again: a last scrape, the referee's fault counts; then SIGTERM, timed until the process
 *    is gone (SIGKILL past 10 s), and the probe's records read back. Last, the sandbox's log (one
 *    line per response, with the request id) tells which requests were faulted.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { mintToken } from '../../src/gateway/auth/mint-token';
import type { SandboxStats } from '../../src/sandbox';
import { sleep, waitForLogLine, waitUntil, type Child, type ChildGroup } from '../fleet/children';
import { getJson, requestText } from '../fleet/http-json';
import type { BuiltTrees } from '../supervised-run';
import { startBenchRedis, type BenchRedis } from '../fleet/redis-server';
import type { InjectedFaults } from './classify';
import { readFaultEvidence } from './fault-evidence';
import type { SoakRunData } from './figures';
import { startOpenLoop, type OpenLoop, type OpenLoopRecord } from './load';
import { overLimitReadPerSec, type DirectCredentials, type GatewayCredentials } from './mix';
import type { SoakOptions } from './options';
import {
  BULK_KEY_ENV,
  CALLERS,
  JWT_SECRET_ENV,
  SLOW_FAULT_MS,
  SOAK_AUDIENCE,
  SOAK_ISSUER,
  SOAK_KID,
  soakPolicyYaml,
  TIGHT_KEY_ENV,
} from './policy';
import {
  parseProbeLines,
  PROBE_FILE_ENV,
  PROBE_RESOLUTION_MS,
  type ProbeEld,
  type ProbeExit,
  type ProbeSigterm,
} from './probe-protocol';
import { scrapeGateway, startSampler, type GatewaySample } from './sampler';

export interface SoakEnvironment extends BuiltTrees {
  workDir: string;
  group: ChildGroup;
  log(line: string): void;
}

/** The sandbox's demo keys (public): the bulk account's owner key, the tight account's admin key. */
const SANDBOX_KEYS = Object.freeze({
  owner: 'sandbox-owner-key',
  other: 'sandbox-admin-key',
  member: 'sandbox-member-key',
  unknown: 'not-a-sandbox-key-0000',
});
/** The sandbox admits everything the soak sends: the gateway's schedule is what limits. */
const SANDBOX_LIMIT_PER_SEC = 1_000_000;
export const SANDBOX_LATENCY_MS = 20;
export const SANDBOX_JITTER_MS = 10;
const START_TIMEOUT_MS = 20_000;
const REQUEST_TIMEOUT_MS = 10_000;
const SCRAPE_INTERVAL_MS = 1000;
/** After the load: let keep-alive connections and timers settle before the idle scrape. */
const IDLE_SETTLE_MS = 2000;
/** SIGTERM, then SIGKILL after this: long enough to see how late a slow exit is. */
export const EXIT_GRACE_MS = 10_000;
const TOKEN_SLACK_SEC = 3600;

export interface SoakRun {
  data: SoakRunData;
  setup: {
    schedule: 'shared (redis-server)' | 'memory';
    sandbox: {
      latencyMs: number;
      jitterMs: number;
      limitPerSecPerKey: number;
      faults: { errorRate: number; dropRate: number; slowRate: number; slowMs: number };
    };
    policy: { bulkReadPerSec: number; bulkWritePerSec: number; tightReadPerSec: number };
    gatewayLogLevel: string;
  };
  /** The load generator's own event-loop delay during the soak (this process). */
  generator: { eldP99Ms: number; eldMaxMs: number };
  samplerFailures: number;
  referee: { faultsInjected: InjectedFaults; duplicateCreates: number };
}

export async function runSoak(options: Readonly<SoakOptions>, env: SoakEnvironment): Promise<SoakRun> {
  const redis: BenchRedis | undefined = options.redis ? await startBenchRedis(env.group, env.workDir) : undefined;
  try {
    const sandbox = await startSoakSandbox(env);
    env.log(`sandbox on ${sandbox.origin}${redis ? `; ${redis.description}` : ''}`);
    const requestIdPrefix = `soak-${randomBytes(3).toString('hex')}`;
    const baseline =
      options.baselineSec > 0 ? await runBaseline(options, sandbox.origin, requestIdPrefix, env) : undefined;
    await expectOk(requestText('POST', `${sandbox.origin}/_sandbox/reset`, 10_000), 'referee reset');
    const faults = {
      errorRate: options.errorRate,
      dropRate: options.dropRate,
      slowRate: options.slowRate,
      slowMs: SLOW_FAULT_MS,
    };
    await expectOk(
      requestText('PUT', `${sandbox.origin}/_sandbox/faults`, 5000, JSON.stringify(faults)),
      'setting faults',
    );
    const policy = {
      bulkReadPerSec: Math.max(1000, Math.ceil(options.ratePerSec * 4)),
      bulkWritePerSec: Math.max(200, Math.ceil(options.ratePerSec)),
      tightReadPerSec: overLimitReadPerSec(options.ratePerSec),
    };
    const jwtSecret = randomBytes(32).toString('hex');
    const gateway = await startSoakGateway(options, env, { sandboxOrigin: sandbox.origin, policy, jwtSecret, redis });
    const soak = await soakGateway(options, env, {
      gateway,
      sandboxPid: sandbox.child.pid,
      credentials: gatewayCredentials(jwtSecret, options.durationSec),
      requestIdPrefix,
    });
    const stats = await getJson<SandboxStats>(`${sandbox.origin}/_sandbox/stats`, 30_000);
    const { exit, probe } = await stopGateway(gateway, env);
    await sandbox.child.stop();
    const evidence = await readFaultEvidence(sandbox.logFile, requestIdPrefix, SLOW_FAULT_MS);

    return {
      data: {
        durationSec: options.durationSec,
        warmupSec: options.warmupSec,
        soak: soak.record,
        ...(baseline ? { baseline } : {}),
        samples: soak.samples,
        idleBefore: gateway.idleBefore,
        idleAfter: soak.idleAfter,
        probe,
        exit,
        injected: { ...stats.faultsInjected },
        evidence,
      },
      setup: {
        schedule: redis ? 'shared (redis-server)' : 'memory',
        sandbox: {
          latencyMs: SANDBOX_LATENCY_MS,
          jitterMs: SANDBOX_JITTER_MS,
          limitPerSecPerKey: SANDBOX_LIMIT_PER_SEC,
          faults,
        },
        policy,
        gatewayLogLevel: options.gatewayLogLevel,
      },
      generator: soak.generator,
      samplerFailures: soak.samplerFailures,
      referee: { faultsInjected: { ...stats.faultsInjected }, duplicateCreates: stats.duplicateCreates.total },
    };
  } finally {
    await redis?.stop();
  }
}

interface SoakSandbox {
  child: Child;
  origin: string;
  /** One line per response, naming the request it served: which requests were faulted. */
  logFile: string;
}

async function startSoakSandbox(env: SoakEnvironment): Promise<SoakSandbox> {
  const logFile = path.join(env.workDir, 'sandbox.log');
  const child = env.group.spawn(
    'sandbox',
    process.execPath,
    [
      path.join(env.distDir, 'sandbox/cli.js'),
      '--port',
      '0',
      '--host',
      '127.0.0.1',
      '--profile',
      'launch',
      '--read-limit',
      String(SANDBOX_LIMIT_PER_SEC),
      '--write-limit',
      String(SANDBOX_LIMIT_PER_SEC),
      '--latency-ms',
      String(SANDBOX_LATENCY_MS),
      '--jitter-ms',
      String(SANDBOX_JITTER_MS),
      '--log-level',
      'info',
    ],
    { logFile },
  );
  const origin = (await waitForLogLine(child, /listening on (http:\/\/127\.0\.0\.1:\d+)/, START_TIMEOUT_MS))[1]!;
  return { child, origin, logFile };
}

/** The same load straight to the sandbox; its first fifth (5 s at most) warms the generator and the sandbox up. */
async function runBaseline(
  options: Readonly<SoakOptions>,
  sandboxOrigin: string,
  requestIdPrefix: string,
  env: SoakEnvironment,
): Promise<NonNullable<SoakRunData['baseline']>> {
  env.log(`baseline: ${options.ratePerSec} requests/s straight to the sandbox for ${options.baselineSec} s`);
  const direct: DirectCredentials = { mode: 'direct', ...SANDBOX_KEYS };
  const record = await startOpenLoop({
    origin: sandboxOrigin,
    ratePerSec: options.ratePerSec,
    durationMs: options.baselineSec * 1000,
    maxInFlight: options.maxInFlight,
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
    credentials: direct,
    requestIdPrefix: `${requestIdPrefix}-direct`,
  }).done;
  env.log(`baseline: ${Math.round(answered(record) / (record.elapsedMs / 1000))} responses/s`);
  return { record, warmupSec: Math.min(5, options.baselineSec * 0.2) };
}

interface SoakGateway {
  child: Child;
  url: string;
  adminUrl: string;
  /** Where the preloaded probe writes its records. */
  probeFile: string;
  idleBefore: GatewaySample;
}

/** The gateway with the soak policy and the probe preloaded, ready (its schedule's mode as expected) and idle. */
async function startSoakGateway(
  options: Readonly<SoakOptions>,
  env: SoakEnvironment,
  settings: { sandboxOrigin: string; policy: SoakRun['setup']['policy']; jwtSecret: string; redis?: BenchRedis },
): Promise<SoakGateway> {
  const { redis } = settings;
  const policyFile = path.join(env.workDir, 'policy.yaml');
  fs.writeFileSync(
    policyFile,
    soakPolicyYaml({ upstreamBaseUrl: `${settings.sandboxOrigin}/api/v1`, ...settings.policy }),
  );
  const probeFile = path.join(env.workDir, 'probe.jsonl');
  const child = env.group.spawn(
    'gateway',
    process.execPath,
    [
      '--require',
      path.join(env.benchDir, 'soak/probe.js'),
      path.join(env.distDir, 'cli/main.js'),
      '--config',
      policyFile,
    ],
    {
      logFile: path.join(env.workDir, 'gateway.log'),
      env: {
        ...(redis ? redis.env : {}),
        HOST: '127.0.0.1',
        PORT: '0',
        ADMIN_PORT: '0',
        LOG_LEVEL: options.gatewayLogLevel,
        AUDIT_LOG: path.join(env.workDir, 'audit.log'),
        [BULK_KEY_ENV]: SANDBOX_KEYS.owner,
        [TIGHT_KEY_ENV]: SANDBOX_KEYS.other,
        [JWT_SECRET_ENV]: settings.jwtSecret,
        [PROBE_FILE_ENV]: probeFile,
      },
    },
  );
  const [, url, adminUrl] = await waitForLogLine(
    child,
    /listening on (http:\/\/127\.0\.0\.1:\d+) \(metrics and probes on (http:\/\/127\.0\.0\.1:\d+)\)/,
    START_TIMEOUT_MS,
  );
  const mode = redis ? '"shared"' : '"memory"';
  await waitUntil(
    child.name,
    START_TIMEOUT_MS,
    async () => {
      const ready = await requestText('GET', `${adminUrl}/readyz`, 500);
      return ready.status === 200 && ready.text.includes(mode);
    },
    child,
  );
  const idleBefore = await scrapeGateway({
    adminUrl: adminUrl!,
    originMs: performance.now(),
    intervalMs: SCRAPE_INTERVAL_MS,
  });
  env.log(`gateway on ${url} (admin ${adminUrl}), pid ${child.pid}, RSS ${mib(idleBefore.rssBytes)} MiB idle`);
  return { child, url: url!, adminUrl: adminUrl!, probeFile, idleBefore };
}

/**
 * The soak itself: the open loop on the gateway, sampled every second, the probe told (SIGUSR2) when the
 * warm-up and the load end; then an idle scrape once connections and timers have settled.
 */
async function soakGateway(
  options: Readonly<SoakOptions>,
  env: SoakEnvironment,
  settings: { gateway: SoakGateway; sandboxPid: number; credentials: GatewayCredentials; requestIdPrefix: string },
) {
  const { gateway } = settings;
  env.log(`soak: ${options.ratePerSec} requests/s for ${options.durationSec} s (warm-up ${options.warmupSec} s)`);
  const generatorEld = monitorEventLoopDelay({ resolution: 10 });
  generatorEld.enable();
  const load = startOpenLoop({
    origin: gateway.url,
    ratePerSec: options.ratePerSec,
    durationMs: options.durationSec * 1000,
    maxInFlight: options.maxInFlight,
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
    credentials: settings.credentials,
    requestIdPrefix: settings.requestIdPrefix,
  });
  const sampler = startSampler({
    adminUrl: gateway.adminUrl,
    originMs: load.startMs,
    intervalMs: SCRAPE_INTERVAL_MS,
    sandboxPid: settings.sandboxPid,
  });
  const timers = [
    atOffset(load.startMs, options.warmupSec * 1000, () => signal(gateway.child.pid, 'SIGUSR2')),
    atOffset(load.startMs, options.durationSec * 1000, () => signal(gateway.child.pid, 'SIGUSR2')),
  ];
  const progress = reportProgress(load, () => sampler.latest(), options.progressSec * 1000, env.log);
  const record = await load.done;
  // The last request is due just before the end; the end-of-load signal may still be pending.
  await timers[1]!.fired;
  clearInterval(progress);
  generatorEld.disable();
  const samples = await sampler.stop();
  await sleep(IDLE_SETTLE_MS);
  const idleAfter = await scrapeGateway({
    adminUrl: gateway.adminUrl,
    originMs: load.startMs,
    intervalMs: SCRAPE_INTERVAL_MS,
  });
  return {
    record,
    samples,
    idleAfter,
    generator: {
      eldP99Ms: Math.max(0, round1(generatorEld.percentile(99) / 1e6 - 10)),
      eldMaxMs: Math.max(0, round1(generatorEld.max / 1e6 - 10)),
    },
    samplerFailures: sampler.failures(),
  };
}

/** SIGTERM, timed; then what the probe recorded (event-loop delay per span, the SIGTERM, the exit). */
async function stopGateway(gateway: SoakGateway, env: SoakEnvironment): Promise<Pick<SoakRunData, 'exit' | 'probe'>> {
  env.log('stopping the gateway (SIGTERM)');
  const sigtermAt = performance.now();
  await gateway.child.stop(EXIT_GRACE_MS);
  const afterSigtermMs = performance.now() - sigtermAt;
  const records = fs.existsSync(gateway.probeFile) ? parseProbeLines(fs.readFileSync(gateway.probeFile, 'utf8')) : [];
  const elds = records.filter((r): r is ProbeEld => r.event === 'eld');
  const exit = records.find((r): r is ProbeExit => r.event === 'exit');
  const sigterm = records.find((r): r is ProbeSigterm => r.event === 'sigterm');
  return {
    probe: {
      resolutionMs: PROBE_RESOLUTION_MS,
      ...(elds[0] ? { warmupEld: elds[0] } : {}),
      ...(elds[1] ? { measuredEld: elds[1] } : {}),
      ...(sigterm ? { sigterm } : {}),
      ...(exit ? { exit } : {}),
    },
    // No exit record: the process never ran its exit handlers (SIGKILL).
    exit: { afterSigtermMs, killed: exit === undefined || afterSigtermMs >= EXIT_GRACE_MS },
  };
}

function gatewayCredentials(jwtSecret: string, durationSec: number): GatewayCredentials {
  const lifetimeSec = Math.min(86_400, Math.ceil(durationSec) + TOKEN_SLACK_SEC);
  const mint = (sub: string, secret = jwtSecret, now: () => number = Date.now, lifetime = lifetimeSec) =>
    mintToken({
      sub,
      lifetimeSec: lifetime,
      signingKey: secret,
      alg: 'HS256',
      kid: SOAK_KID,
      issuer: SOAK_ISSUER,
      audience: SOAK_AUDIENCE,
      now,
    });
  return {
    mode: 'gateway',
    app: mint(CALLERS.app),
    batch: mint(CALLERS.batch),
    viewer: mint(CALLERS.viewer),
    bad: {
      'wrong-signature': mint(CALLERS.app, randomBytes(32).toString('hex')),
      // Expired an hour ago, far beyond the clock tolerance.
      expired: mint(CALLERS.app, jwtSecret, () => Date.now() - 2 * 3600_000, 3600),
      malformed: 'not-a-jwt',
    },
  };
}

function answered(record: OpenLoopRecord): number {
  let n = 0;
  for (let i = 0; i < record.count; i++) if (record.status[i]! > 0) n++;
  return n;
}

async function expectOk(reply: Promise<{ status: number; text: string }>, what: string): Promise<void> {
  const { status, text } = await reply;
  if (status !== 200) throw new Error(`${what}: status ${status}: ${text.slice(0, 300)}`);
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // gone already: its absence shows in the probe's records
  }
}

/** Runs `action` at `originMs + offsetMs` (performance.now() time); `fired` resolves after it ran. */
function atOffset(originMs: number, offsetMs: number, action: () => void): { fired: Promise<void> } {
  return {
    fired: new Promise((resolve) => {
      setTimeout(
        () => {
          action();
          resolve();
        },
        Math.max(0, originMs + offsetMs - performance.now()),
      );
    }),
  };
}

function reportProgress(
  load: OpenLoop,
  latest: () => GatewaySample | undefined,
  everyMs: number,
  log: (line: string) => void,
): NodeJS.Timeout {
  let previous = load.progress();
  let previousCpu: { atMs: number; cpuSeconds: number } | undefined;
  return setInterval(() => {
    const now = load.progress();
    const seconds = (now.elapsedMs - previous.elapsedMs) / 1000;
    const sample = latest();
    let cpu = '';
    if (sample && previousCpu && sample.atMs > previousCpu.atMs) {
      cpu = `  cpu ${Math.round(((sample.cpuSeconds - previousCpu.cpuSeconds) * 1e5) / (sample.atMs - previousCpu.atMs))} %`;
    }
    if (sample) previousCpu = { atMs: sample.atMs, cpuSeconds: sample.cpuSeconds };
    const gatewayPart = sample
      ? ` | gateway RSS ${mib(sample.rssBytes)} MiB, heap ${mib(sample.heapUsedBytes)} MiB, ELD p99 ${Number.isFinite(sample.eldP99Ms) ? sample.eldP99Ms.toFixed(1) : '–'} ms${cpu}`
      : '';
    log(
      `[${String(Math.round(now.elapsedMs / 1000)).padStart(4)} s] sent ${Math.round((now.sent - previous.sent) / seconds)}/s, ` +
        `answered ${Math.round((now.answered - previous.answered) / seconds)}/s, in flight ${now.inFlight}, 5xx ${now.fiveXx}, unexpected ${now.unexpected}${gatewayPart}; load ${os.loadavg()[0]!.toFixed(2)}`,
    );
    previous = now;
  }, everyMs);
}

const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
const round1 = (x: number) => Math.round(x * 10) / 10;
