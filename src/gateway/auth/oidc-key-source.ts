import { fetchJson as httpFetchJson, type FetchJson, type FetchJsonFailure } from './fetch-json';
import { parseJwks, type JwkEntry } from './jwk-keys';
import type { JwksKeySource, JwksLookup } from './jwks-key-source';
import { checkDiscoveryDocument, discoveryUrl } from './oidc-discovery';

/** Why a refresh failed: a closed set, for the metric's label and the warn line. */
export type RefreshFailureReason =
  FetchJsonFailure | 'invalid-discovery' | 'issuer-mismatch' | 'jwks-uri-refused' | 'invalid-jwks' | 'too-many-keys';

export const REFRESH_FAILURE_REASONS: readonly RefreshFailureReason[] = [
  'unreachable',
  'timeout',
  'http-status',
  'too-large',
  'not-json',
  'invalid-discovery',
  'issuer-mismatch',
  'jwks-uri-refused',
  'invalid-jwks',
  'too-many-keys',
];

export type RefreshOutcome =
  | { ok: true; keys: number; jwksUri: string }
  | { ok: false; stage: 'discovery' | 'jwks'; reason: RefreshFailureReason; detail: string; cachedKeys: number };

export interface OidcKeySourceOptions {
  /** The configured `auth.issuer`; with `discovery`, where the discovery document is read from. */
  issuer: string;
  /** Read `jwks_uri` from `<issuer>/.well-known/openid-configuration`; otherwise `jwksUri` is used as is. */
  discovery: boolean;
  jwksUri?: string;
  /** Hosts besides the issuer's own that a discovered `jwks_uri` may name. */
  allowedJwksHosts: readonly string[];
  /** A key set older than this is fetched again (in the background: the cached keys keep answering). */
  cacheMaxAgeMs: number;
  /** At most one fetch per this interval, however many unknown kids arrive (no fetch amplifier). */
  minRefreshIntervalMs: number;
  maxKeys: number;
  /** Both the discovery document and the key set. */
  maxDocumentBytes: number;
  timeoutMs: number;
  now: () => number;
  fetchJson?: FetchJson;
}

export interface KeySourceStatus {
  /** `never` until the first key set arrives; `stale` while the last refresh failed (cached keys still used). */
  state: 'never' | 'fresh' | 'stale';
  keys: number;
  lastSuccessAtMs?: number;
}

export interface OidcKeySource extends JwksKeySource {
  /** Fetches now, unless a fetch is running or was made within the minimum interval; never throws. */
  refresh(): Promise<void>;
  status(): KeySourceStatus;
  /** Called after every fetch attempt (metrics and the log line are wired by the composition root). */
  onRefresh(listener: (outcome: RefreshOutcome) => void): void;
}

/**
 * Keys from an OIDC issuer, without jwks-rsa: discovery, then the JWK Set, both bounded in size
 * and time. Refreshes are single-flight and rate-limited; keys already cached keep verifying while
 * the issuer is down (a refresh replaces the set only when it succeeds), and a request whose key is
 * cached never waits for the issuer. Only a kid the cache does not know waits, for one fetch at most.
 */
export function createOidcKeySource(options: OidcKeySourceOptions): OidcKeySource {
  const fetchJson = options.fetchJson ?? httpFetchJson;
  const limits = { timeoutMs: options.timeoutMs, maxBytes: options.maxDocumentBytes };
  const listeners: Array<(outcome: RefreshOutcome) => void> = [];
  let keys = new Map<string, JwkEntry>();
  let jwksUri = options.discovery ? undefined : options.jwksUri;
  let lastSuccessAtMs: number | undefined;
  let lastAttemptAtMs: number | undefined;
  let lastFailed = false;
  let inFlight: Promise<void> | undefined;

  async function fetchKeys(): Promise<RefreshOutcome> {
    // Discovery is read again after a failure or once the set is due, never per unknown kid.
    if (options.discovery && (jwksUri === undefined || lastFailed || isDue())) {
      const fetched = await fetchJson(discoveryUrl(options.issuer), limits);
      if (!fetched.ok) return failure('discovery', fetched.reason, fetched.detail);
      const checked = checkDiscoveryDocument(fetched.value, options.issuer, options.allowedJwksHosts);
      if (!checked.ok) return failure('discovery', checked.reason, checked.detail);
      jwksUri = checked.jwksUri;
    }
    const fetched = await fetchJson(jwksUri!, limits);
    if (!fetched.ok) return failure('jwks', fetched.reason, fetched.detail);
    const parsed = parseJwks(fetched.value, options.maxKeys);
    if (!parsed.ok) return failure('jwks', parsed.reason, parsed.detail);
    keys = parsed.keys;
    return { ok: true, keys: keys.size, jwksUri: jwksUri! };
  }

  function failure(stage: 'discovery' | 'jwks', reason: RefreshFailureReason, detail: string): RefreshOutcome {
    return { ok: false, stage, reason, detail, cachedKeys: keys.size };
  }

  function isDue(): boolean {
    return lastSuccessAtMs === undefined || options.now() - lastSuccessAtMs >= options.cacheMaxAgeMs;
  }

  function mayFetch(): boolean {
    return lastAttemptAtMs === undefined || options.now() - lastAttemptAtMs >= options.minRefreshIntervalMs;
  }

  function refresh(): Promise<void> {
    if (inFlight) return inFlight;
    if (!mayFetch()) return Promise.resolve();
    lastAttemptAtMs = options.now();
    inFlight = fetchKeys()
      .catch((error: unknown): RefreshOutcome => failure('jwks', 'unreachable', String(error).slice(0, 200)))
      .then((outcome) => {
        lastFailed = !outcome.ok;
        if (outcome.ok) lastSuccessAtMs = options.now();
        for (const listener of listeners) listener(outcome);
      })
      .finally(() => {
        inFlight = undefined;
      });
    return inFlight;
  }

  function lookup(kid: string): JwksLookup | undefined {
    const entry = keys.get(kid);
    if (entry === undefined) return undefined;
    return entry === 'unusable' ? { kind: 'unusable-key' } : { kind: 'found', key: entry };
  }

  return {
    async getKey(kid) {
      const cached = lookup(kid);
      if (cached) {
        // Stale-while-revalidate: the request goes on with the cached key.
        if (isDue()) void refresh();
        return cached;
      }
      await refresh();
      return (
        lookup(kid) ?? (lastFailed || lastSuccessAtMs === undefined ? { kind: 'unavailable' } : { kind: 'unknown-kid' })
      );
    },
    refresh,
    status: () => ({
      state: lastSuccessAtMs === undefined ? 'never' : lastFailed ? 'stale' : 'fresh',
      keys: keys.size,
      ...(lastSuccessAtMs !== undefined ? { lastSuccessAtMs } : {}),
    }),
    onRefresh(listener) {
      listeners.push(listener);
    },
  };
}
