/**
 * The dashboard run: the sandbox and one gateway (memory schedule) in this process on 127.0.0.1, the
 * load for the given time, and the gateway's admin `/metrics` scraped every second.
 */
import { generateKeyPairSync } from 'node:crypto';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { mintToken } from '../../src/gateway/auth';
import { startGateway } from '../../src/gateway/compose';
import { createLogger } from '../../src/gateway/observability/logger';
import { createMetrics } from '../../src/gateway/observability/metrics';
import { parsePolicy } from '../../src/gateway/policy';
import {
  EMBEDDED_AUDIENCE,
  EMBEDDED_ISSUER,
  EMBEDDED_SANDBOX_KEY_ENV,
  embeddedPolicyText,
} from '../../src/cli/embedded';
import { DEMO_KEYS, startSandbox } from '../../src/sandbox';
import { driveLoad, loadKinds, type LoadCounts } from './load';
import type { Scrape } from './promql';
import { parseExposition, type Sample } from '../prometheus-text';

const SCRAPE_INTERVAL_MS = 1000;
export const SANDBOX_LATENCY_MS = 20;
export const SANDBOX_JITTER_MS = 10;

export interface SnapshotRun {
  scrapes: Scrape[];
  counts: LoadCounts;
  startedAt: Date;
  durationSec: number;
  /** The machine's 1-minute load average at the end, and its CPU count: context for the latencies. */
  machine: { loadAverage: number; cpuCount: number };
  /** What the sandbox (the provider) saw, from its referee: the check that the schedule held. */
  upstream: { maxReadsInAnySecond: number; maxWritesInAnySecond: number; rejected: number };
}

async function scrapeOnce(adminUrl: string, instance: string): Promise<Sample[]> {
  const response = await fetch(`${adminUrl}/metrics`, { signal: AbortSignal.timeout(2000) });
  if (!response.ok) throw new Error(`GET ${adminUrl}/metrics answered ${response.status}`);
  // The labels Prometheus adds to every scraped series.
  return parseExposition(await response.text()).map((s) => ({
    ...s,
    labels: { ...s.labels, instance, job: 'strettch-gateway' },
  }));
}

export async function runSnapshotLoad(durationSec: number): Promise<SnapshotRun> {
  // Discards everything, audit records included (they go to the logger's stream, whatever its level).
  const quiet = createLogger({ level: 'silent', destination: { write: () => undefined } });
  const sandbox = await startSandbox({
    port: 0,
    host: '127.0.0.1',
    latencyMs: SANDBOX_LATENCY_MS,
    jitterMs: SANDBOX_JITTER_MS,
    logger: quiet,
  });
  try {
    // The embedded default's policy, with an in-memory ES256 key instead of the dev key on disk.
    const keys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const publicKeyFile = '(in memory)/snapshot-es256.pub.pem';
    const publicPem = keys.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const parsed = parsePolicy(embeddedPolicyText(sandbox.apiBaseUrl, publicKeyFile), '(dashboard snapshot)', {
      readEnv: (name) => (name === EMBEDDED_SANDBOX_KEY_ENV ? DEMO_KEYS[0]!.key : undefined),
      readFile: (file) => {
        if (file === publicKeyFile) return publicPem;
        throw Object.assign(new Error('not found'), { code: 'ENOENT' });
      },
    });
    if (!parsed.ok) throw new Error(`snapshot policy is invalid: ${JSON.stringify(parsed.errors)}`);
    const gateway = await startGateway({
      policy: parsed.policy,
      logger: quiet,
      metrics: createMetrics(),
      host: '127.0.0.1',
      port: 0,
      adminPort: 0,
    });
    try {
      const mint = (sub: string) =>
        mintToken({
          sub,
          lifetimeSec: 600,
          signingKey: keys.privateKey,
          alg: 'ES256',
          kid: 'dev',
          issuer: EMBEDDED_ISSUER,
          audience: EMBEDDED_AUDIENCE,
          now: Date.now,
        });
      const kinds = loadKinds({ reader: mint('demo-reader'), operator: mint('demo-operator') });
      const instance = new URL(gateway.adminUrl).host;
      const scrapes: Scrape[] = [];
      const startedAt = new Date();
      const startedMs = performance.now();
      const scrape = async () =>
        scrapes.push({
          atSec: (performance.now() - startedMs) / 1000,
          samples: await scrapeOnce(gateway.adminUrl, instance),
        });
      await scrape();
      const timer = setInterval(() => void scrape().catch(() => undefined), SCRAPE_INTERVAL_MS);
      let counts: LoadCounts;
      try {
        counts = await driveLoad(Number(new URL(gateway.url).port), kinds, durationSec * 1000);
      } finally {
        clearInterval(timer);
      }
      await scrape();
      scrapes.sort((a, b) => a.atSec - b.atSec);
      const keyStats = Object.values(sandbox.referee.stats().keys);
      const upstream = {
        maxReadsInAnySecond: Math.max(0, ...keyStats.map((k) => k.classes.read.maxAdmittedInSlidingWindow)),
        maxWritesInAnySecond: Math.max(0, ...keyStats.map((k) => k.classes.write.maxAdmittedInSlidingWindow)),
        rejected: keyStats.reduce(
          (sum, k) => sum + k.classes.read.rejected + k.classes.write.rejected + k.classes.all.rejected,
          0,
        ),
      };
      const machine = { loadAverage: os.loadavg()[0]!, cpuCount: os.cpus().length };
      return { scrapes, counts, startedAt, durationSec, machine, upstream };
    } finally {
      await gateway.close();
    }
  } finally {
    await sandbox.close();
  }
}
