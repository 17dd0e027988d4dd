/**
 * A local OIDC issuer for tests: a real HTTP server on a free loopback port serving the discovery
 * document and a JWK Set built from key pairs the test holds. Keys can be rotated, the documents
 * replaced by hostile ones, and the whole issuer taken down (its port closed) and brought back.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { forgeToken } from './gateway-harness';

export interface IssuerKey {
  kid: string;
  alg: 'RS256' | 'ES256';
  privateKey: KeyObject;
  publicKey: KeyObject;
}

export function issuerKey(kid: string, alg: 'RS256' | 'ES256'): IssuerKey {
  const pair =
    alg === 'RS256'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return { kid, alg, ...pair };
}

export interface LocalIssuer {
  /** `http://127.0.0.1:<port>`: what the policy's `auth.issuer` names. */
  url: string;
  /** The keys published, in order; replace to rotate. */
  keys: IssuerKey[];
  /** Replaces the discovery document (default: `{ issuer: url, jwks_uri: url + '/jwks' }`). */
  discovery?: () => unknown;
  /** Replaces the JWKS body with raw text (an oversized or broken set). */
  jwksBody?: () => string;
  /** Requests seen, by path. */
  hits: Record<string, number>;
  /** Signs `claims` with one of the published (or any) keys. */
  sign(key: IssuerKey, claims: Record<string, unknown>, header?: Record<string, unknown>): string;
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

export async function startLocalIssuer(initialKeys: IssuerKey[]): Promise<LocalIssuer> {
  let server: http.Server | undefined;
  let port = 0;
  const issuer: LocalIssuer = {
    url: '',
    keys: initialKeys,
    hits: {},
    sign: (key, claims, header = {}) =>
      forgeToken({ alg: key.alg, typ: 'JWT', kid: key.kid, ...header }, claims, key.privateKey),
    down: async () => {
      const closing = server;
      server = undefined;
      if (!closing) return;
      closing.closeAllConnections();
      await new Promise<void>((resolve) => closing.close(() => resolve()));
    },
    up: async () => {
      if (server) return;
      server = http.createServer((req, res) => answer(req, res));
      await new Promise<void>((resolve) => server!.listen(port, '127.0.0.1', resolve));
      port = (server.address() as AddressInfo).port;
      issuer.url = `http://127.0.0.1:${port}`;
    },
    close: () => issuer.down(),
  };

  function answer(req: http.IncomingMessage, res: http.ServerResponse): void {
    const path = req.url ?? '';
    issuer.hits[path] = (issuer.hits[path] ?? 0) + 1;
    const send = (status: number, body: string): void => {
      res.writeHead(status, { 'content-type': 'application/json', connection: 'close' }).end(body);
    };
    if (path === '/.well-known/openid-configuration')
      return send(200, JSON.stringify(issuer.discovery?.() ?? { issuer: issuer.url, jwks_uri: `${issuer.url}/jwks` }));
    if (path === '/jwks') {
      if (issuer.jwksBody) return send(200, issuer.jwksBody());
      const keys = issuer.keys.map((key) => ({
        ...key.publicKey.export({ format: 'jwk' }),
        kid: key.kid,
        alg: key.alg,
        use: 'sig',
      }));
      return send(200, JSON.stringify({ keys }));
    }
    send(404, '{}');
  }

  await issuer.up();
  return issuer;
}
