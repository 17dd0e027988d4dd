/**
 * The pure rules of OpenID Connect discovery (OIDC Discovery 1.0 §4): where the document is, and
 * what the gateway accepts from it. No I/O here; `oidc-key-source.ts` fetches.
 */
export type DiscoveryCheck =
  | { ok: true; jwksUri: string }
  | { ok: false; reason: 'invalid-discovery' | 'issuer-mismatch' | 'jwks-uri-refused'; detail: string };

const LOOPBACK_HOSTS = ['localhost', '127.0.0.1', '[::1]'];

/** `<issuer>/.well-known/openid-configuration`, a trailing slash of the issuer removed first (§4). */
export function discoveryUrl(issuer: string): string {
  return `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
}

/**
 * Why a URL may not be fetched for keys, or undefined: https, or plain http on loopback only; no
 * credentials, query or fragment.
 */
export function fetchableUrlProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'is not an absolute URL';
  }
  if (url.protocol === 'http:' && !LOOPBACK_HOSTS.includes(url.hostname))
    return 'must use https (plain http only for localhost)';
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'must use https';
  if (url.username !== '' || url.password !== '') return 'must not carry credentials';
  if (url.hash !== '') return 'must not have a fragment';
  return undefined;
}

/**
 * Checks a fetched discovery document against the configured issuer: its `issuer` must be the
 * configured one exactly (§4.3: otherwise anyone who can answer at that URL could vouch for another
 * issuer), and its `jwks_uri` fetchable and on the issuer's own host unless that host is allowed.
 */
export function checkDiscoveryDocument(
  document: unknown,
  issuer: string,
  allowedJwksHosts: readonly string[],
): DiscoveryCheck {
  if (typeof document !== 'object' || document === null || Array.isArray(document))
    return { ok: false, reason: 'invalid-discovery', detail: 'not a JSON object' };
  const { issuer: declared, jwks_uri: jwksUri } = document as Record<string, unknown>;
  if (declared !== issuer)
    return {
      ok: false,
      reason: 'issuer-mismatch',
      detail:
        typeof declared === 'string'
          ? `the document names issuer ${JSON.stringify(declared.slice(0, 200))}`
          : 'no issuer',
    };
  if (typeof jwksUri !== 'string') return { ok: false, reason: 'invalid-discovery', detail: 'no jwks_uri' };
  const problem = fetchableUrlProblem(jwksUri);
  if (problem) return { ok: false, reason: 'jwks-uri-refused', detail: `jwks_uri ${problem}` };
  const jwksHost = new URL(jwksUri).hostname;
  const issuerHost = new URL(issuer).hostname;
  if (jwksHost !== issuerHost && !allowedJwksHosts.includes(jwksHost))
    return {
      ok: false,
      reason: 'jwks-uri-refused',
      detail: `jwks_uri is on ${jwksHost}, not the issuer's host (allow it in auth.jwks.allowedHosts)`,
    };
  return { ok: true, jwksUri };
}
