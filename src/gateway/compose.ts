/**
 * The composition root: the one place that builds loggers, metrics, verifiers, forwarders and
 * servers from a resolved policy. Everything else receives what it needs.
 */
import type { AccessControl } from './access';
import { createAdminApp, createGatewayApp, type Readiness } from './app';
import { createTokenVerifier, type TokenVerifier } from './auth';
import { responseHeadersToReturn } from './forward/headers';
import { createForwarder } from './forward/proxy';
import type { Logger } from './observability/logger';
import { createMetrics, type GatewayMetrics } from './observability/metrics';
import { createPipeline, type PipelineOptions } from './pipeline';
import { accountForCaller, authorize, callerForSubject } from './policy';
import type { Policy } from './policy/types';
import { listen, type RunningServer } from '../shared/http-server';

export const GATEWAY_USER_AGENT = 'strettch-gateway/0.1.0';

export const DEFAULT_PIPELINE_OPTIONS: PipelineOptions = {
  // Strettch bodies are a few hundred bytes; 64 KiB leaves room for many public keys.
  maxBodyBytes: 64 * 1024,
  bodyTimeoutMs: 10_000,
  userAgent: GATEWAY_USER_AGENT,
};

export function accessControlFor(policy: Policy): AccessControl {
  return {
    callerFor(subject) {
      const caller = callerForSubject(policy, subject);
      if (!caller) return undefined;
      const account = accountForCaller(policy, caller);
      return { callerId: caller.id, accountId: account.id, apiKey: account.apiKey };
    },
    authorize(callerId, tokenScopes, operationId) {
      const caller = callerForSubject(policy, callerId);
      return caller ? authorize(caller, tokenScopes, operationId) : { allowed: false, missingScope: operationId };
    },
  };
}

export function verifierFor(policy: Policy, now: () => number): TokenVerifier {
  return createTokenVerifier({ ...policy.auth, now });
}

export interface GatewayOptions {
  policy: Policy;
  logger: Logger;
  now?: () => number;
  metrics?: GatewayMetrics;
  pipeline?: Partial<PipelineOptions>;
  /** Overrides of the policy's `listen` (the CLI's PORT, tests' port 0). */
  host?: string;
  port?: number;
  adminPort?: number;
  /** How long SIGTERM waits for in-flight requests before cutting them. */
  drainMs?: number;
}

export interface RunningGateway {
  url: string;
  adminUrl: string;
  metrics: GatewayMetrics;
  close(): Promise<void>;
}

export async function startGateway(options: GatewayOptions): Promise<RunningGateway> {
  const { policy, logger } = options;
  const now = options.now ?? Date.now;
  const metrics = options.metrics ?? createMetrics();
  const verifier = verifierFor(policy, now);
  const access = accessControlFor(policy);
  const forwarder = createForwarder({
    upstreamBaseUrl: policy.upstream.baseUrl,
    timeoutMs: policy.upstream.timeoutMs,
    maxSockets: policy.upstream.maxSockets,
    filterResponseHeaders: responseHeadersToReturn,
  });
  const readiness: Readiness = { check: () => ({ ready: true, checks: { policy: 'loaded' } }) };
  const handler = createPipeline({
    logger,
    metrics,
    now,
    forwarder,
    verifier: () => verifier,
    access: () => access,
    options: { ...DEFAULT_PIPELINE_OPTIONS, ...options.pipeline },
  });

  const host = options.host ?? policy.listen.host;
  let publicServer: RunningServer | undefined;
  try {
    publicServer = await listen(createGatewayApp(handler, readiness), { host, port: options.port ?? policy.listen.port });
    const adminServer = await listen(createAdminApp(metrics.registry, readiness), { host, port: options.adminPort ?? policy.listen.adminPort });
    const running = publicServer;
    return {
      url: running.url,
      adminUrl: adminServer.url,
      metrics,
      async close() {
        // Fixed order: stop taking requests and drain them, then the admin port, then upstream sockets.
        await running.close(options.drainMs);
        await adminServer.close(1000);
        forwarder.close();
      },
    };
  } catch (error) {
    await publicServer?.close(0);
    forwarder.close();
    throw error;
  }
}
