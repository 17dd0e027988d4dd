/**
 * A gateway serving TLS, for the listener and mTLS tests: a real policy file and real certificate
 * files in a temp directory, loaded through `policyFileSource` as the CLI does (so `reload()` reads
 * the files again), the real sandbox as the upstream, and requests sent with `node:https` with or
 * without a client certificate.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import type { IncomingHttpHeaders } from 'node:http';
import type { PeerCertificate, SecureVersion, TLSSocket } from 'node:tls';
import { mintToken } from '../../src/gateway/auth';
import { startGateway, type GatewayOptions, type RunningGateway } from '../../src/gateway/compose';
import { createLogger } from '../../src/gateway/observability/logger';
import { policyFileSource } from '../../src/gateway/policy-source';
import { DEMO_KEYS, startSandbox, type RunningSandbox } from '../../src/sandbox';
import type { CertificateFiles } from './certificates';
import { readAnswer } from './http-answer';

export const ISSUER = 'https://auth.tls.test';
export const AUDIENCE = 'strettch-gateway-tls-test';
const OWNER_KEY = DEMO_KEYS.find((k) => k.role === 'owner' && k.team === 'team-a')!;

export interface TlsReply {
  status: number;
  headers: IncomingHttpHeaders;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  requestId: string;
  /** The certificate the gateway presented in this handshake. */
  serverCertificate: PeerCertificate;
  protocol: string | null;
  /** Sent on a connection an earlier request had opened (keep-alive). */
  reusedSocket: boolean;
}

export interface TlsRequestOptions {
  /** The client certificate and key to present; absent: none. */
  client?: CertificateFiles;
  token?: string;
  /** The CA the client trusts the gateway by (default: the harness's server CA). */
  trust?: string;
  minVersion?: SecureVersion;
  maxVersion?: SecureVersion;
  headers?: Record<string, string>;
  /** A keep-alive agent, to send several requests on one connection; default none (a fresh connection). */
  agent?: https.Agent;
  /** OpenSSL cipher string; `DEFAULT@SECLEVEL=0` lets a client offer TLS 1.0 and 1.1 at all. */
  ciphers?: string;
}

export interface TlsGateway {
  dir: string;
  policyPath: string;
  sandbox: RunningSandbox;
  gateway: RunningGateway;
  port: number;
  logLines: string[];
  mint(sub: string): string;
  request(method: string, target: string, options?: TlsRequestOptions): Promise<TlsReply>;
  /** The access-log line of a request (written when its response closes). */
  accessLine(requestId: string): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

/**
 * `listen` is the YAML of the policy's `listen.tls` (a flow map, paths relative to `dir`); `callers`
 * the lines of its `callers:` map. `serverCa` is what clients trust the gateway by.
 */
export async function startTlsGateway(options: {
  dir: string;
  tls: string;
  callers: string;
  serverCa: string;
  /** The public server's timeouts and connection caps, passed to `startGateway`. */
  server?: GatewayOptions['server'];
  /** Passed to `startGateway` (the CLI warms the upstream path through the public port). */
  warmUpConnections?: number;
}): Promise<TlsGateway> {
  const jwt = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  fs.writeFileSync(path.join(options.dir, 'jwt.pub.pem'), jwt.publicKey.export({ format: 'pem', type: 'spki' }));
  fs.writeFileSync(path.join(options.dir, 'strettch-key'), `${OWNER_KEY.key}\n`);
  const sandbox = await startSandbox({ port: 0, createDelayMs: 0, transitionDelayMs: 0, keys: [...DEMO_KEYS] });
  const policyPath = path.join(options.dir, 'gateway.yaml');
  fs.writeFileSync(policyPath, policyText(sandbox.apiBaseUrl, options.tls, options.callers));
  const source = policyFileSource(policyPath, {
    readEnv: () => undefined,
    readFile: (file) => fs.readFileSync(file, 'utf8'),
  });
  const loaded = source.load();
  if (!loaded.ok) {
    await sandbox.close();
    throw new Error(`test policy is invalid: ${loaded.errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`);
  }
  const logLines: string[] = [];
  const logger = createLogger({ level: 'debug', destination: { write: (line: string) => void logLines.push(line) } });
  let gateway: RunningGateway;
  try {
    gateway = await startGateway({
      policy: loaded.policy,
      logger,
      host: '127.0.0.1',
      port: 0,
      adminPort: 0,
      loadPolicy: () => source.load(),
      ...(options.server ? { server: options.server } : {}),
      ...(options.warmUpConnections !== undefined ? { warmUpConnections: options.warmUpConnections } : {}),
    });
  } catch (error) {
    await sandbox.close();
    throw error;
  }
  const port = Number(new URL(gateway.url).port);
  const request = (method: string, target: string, o: TlsRequestOptions = {}) =>
    tlsRequest(port, method, target, { trust: options.serverCa, ...o });
  return {
    dir: options.dir,
    policyPath,
    sandbox,
    gateway,
    port,
    logLines,
    mint: (sub) => mint(jwt.privateKey, sub),
    request,
    accessLine: async (requestId) => {
      for (let attempt = 0; attempt < 200; attempt++) {
        const line = logLines
          .map((l) => JSON.parse(l) as Record<string, unknown>)
          .find((l) => l.requestId === requestId);
        if (line?.msg === 'request') return line;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      throw new Error(`no access-log line for request ${requestId}`);
    },
    async close() {
      await gateway.close();
      await sandbox.close();
    },
  };
}

function mint(privateKey: KeyObject, sub: string): string {
  return mintToken({
    sub,
    lifetimeSec: 300,
    signingKey: privateKey,
    alg: 'ES256',
    kid: 'k1',
    issuer: ISSUER,
    audience: AUDIENCE,
    now: Date.now,
  });
}

function policyText(upstreamBaseUrl: string, tls: string, callers: string): string {
  return `listen: { host: 127.0.0.1, port: 0, adminPort: 0, tls: ${tls} }
upstream: { baseUrl: ${upstreamBaseUrl}, timeoutMs: 5000 }
accounts:
  main: { apiKey: { file: strettch-key } }
limits:
  default: { read: 1000, write: 1000 }
auth:
  issuer: ${ISSUER}
  audience: ${AUDIENCE}
  keys:
    - { kid: k1, algorithms: [ES256], publicKeyFile: jwt.pub.pem }
callers:
${callers}
`;
}

/** One request on a fresh TLS connection (no agent, no session reuse): every request is its own handshake. */
export function tlsRequest(
  port: number,
  method: string,
  target: string,
  options: TlsRequestOptions & { trust: string },
): Promise<TlsReply> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port,
        method,
        path: target,
        agent: options.agent ?? false,
        // With an agent, the agent's own TLS options are the connection's.
        ...(options.agent ? {} : { ca: options.trust }),
        ...(options.client && !options.agent ? { cert: options.client.cert, key: options.client.key } : {}),
        ...(options.minVersion ? { minVersion: options.minVersion } : {}),
        ...(options.maxVersion ? { maxVersion: options.maxVersion } : {}),
        ...(options.ciphers ? { ciphers: options.ciphers } : {}),
        headers: { ...options.headers, ...(options.token ? { authorization: `Bearer ${options.token}` } : {}) },
      },
      (res) => {
        const socket = res.socket as TLSSocket;
        const serverCertificate = socket.getPeerCertificate();
        const protocol = socket.getProtocol();
        readAnswer(res).then((answer) => {
          const requestId = res.headers['x-request-id'];
          resolve({
            ...answer,
            requestId: typeof requestId === 'string' ? requestId : '',
            serverCertificate,
            protocol,
            reusedSocket: req.reusedSocket,
          });
        }, reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}
