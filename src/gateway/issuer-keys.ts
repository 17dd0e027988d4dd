/**
 * The keys an issuer publishes (auth.jwksUrl, or OIDC discovery), as the composition root holds
 * them: one key source per key-set configuration, kept across reloads that leave it unchanged, so
 * a reload while the issuer is down does not throw the cached keys away. Refresh outcomes become
 * the `jwks_*` metrics and one log line each (never a token, never key material).
 */
import { createOidcKeySource, type OidcKeySource } from './auth/oidc-key-source';
import type { Logger } from './observability/logger';
import type { GatewayMetrics } from './observability/metrics';
import type { Policy } from './policy/types';

export interface IssuerKeys {
  source: OidcKeySource;
  settingsKey: string;
}

export function issuerKeysFor(
  policy: Policy,
  running: IssuerKeys | undefined,
  deps: { now: () => number; logger: Logger; metrics: GatewayMetrics },
): IssuerKeys | undefined {
  const { keySet, issuer } = policy.auth;
  if (!keySet) return undefined;
  const settingsKey = JSON.stringify({ issuer, keySet });
  if (running?.settingsKey === settingsKey) return running;
  const source = createOidcKeySource({ issuer, ...keySet, now: deps.now });
  const { logger, metrics } = deps;
  source.onRefresh((outcome) => {
    if (outcome.ok) {
      metrics.jwksLastSuccessTimestamp.set(deps.now() / 1000);
      metrics.jwksKeys.set(outcome.keys);
      logger.debug({ keys: outcome.keys, jwksUri: outcome.jwksUri }, 'issuer keys refreshed');
      return;
    }
    metrics.jwksRefreshFailures.inc({ reason: outcome.reason });
    logger.warn(
      { stage: outcome.stage, reason: outcome.reason, detail: outcome.detail, cachedKeys: outcome.cachedKeys, issuer },
      'issuer keys: refresh failed; the cached keys stay in use',
    );
  });
  // At start (and when the key set changes), without waiting: the gateway listens whether or not the issuer answers.
  void source.refresh();
  return { source, settingsKey };
}
