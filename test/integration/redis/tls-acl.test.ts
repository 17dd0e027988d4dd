/**
 * A single node over TLS with an ACL user, as managed Redis offerings run it: a real `redis-server`
 * with only a TLS port, client certificates required, the `default` user off and one ACL user for
 * the gateway; a CA, a server and a client certificate made with `openssl` for the test. Built
 * from the settings exactly as `start` reads them (REDIS_URL=rediss://user:password@…, the
 * REDIS_TLS_*_FILE paths): the connection works, and each missing piece (CA, client certificate,
 * password) is refused; a gateway on it shares its schedule through it.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readSettings } from '../../../src/gateway/settings';
import { createRedisConnection, defineLuaScript, type RedisConnection, type RedisTopology } from '../../../src/redis';
import { fleetsForFile, READ_TARGET } from '../../helpers/fleet-harness';
import { freePort, spawnPlain, type RedisProcess } from '../../helpers/redis-server';

jest.setTimeout(60_000);

const PASSWORD = 'gw-acl-secret-7f3a';
// Made when the file loads: the refusal table below names files in it.
const dir = mkdtempSync(path.join(os.tmpdir(), 'sg-redis-tls-'));
let port: number;
let server: RedisProcess;
const files = (name: string) => path.join(dir, name);

function openssl(args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
}

/** A CA, and a server (for 127.0.0.1) and a client certificate signed by it. */
function makeCertificates(): void {
  openssl([
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=test-ca',
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
  ]);
  writeFileSync(files('server.ext'), 'subjectAltName=IP:127.0.0.1\n');
  for (const who of ['server', 'client']) {
    openssl([
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      `/CN=${who}`,
      '-keyout',
      `${who}.key`,
      '-out',
      `${who}.csr`,
    ]);
    openssl([
      'x509',
      '-req',
      '-in',
      `${who}.csr`,
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '1',
      ...(who === 'server' ? ['-extfile', 'server.ext'] : []),
      '-out',
      `${who}.pem`,
    ]);
  }
  // Another CA, which did not sign the server's certificate.
  openssl([
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=other-ca',
    '-keyout',
    'other.key',
    '-out',
    'other-ca.pem',
  ]);
}

const settingsEnv = (overrides: Record<string, string | undefined> = {}) => ({
  REDIS_URL: `rediss://gateway:${PASSWORD}@127.0.0.1:${port}`,
  REDIS_TLS_CA_FILE: files('ca.pem'),
  REDIS_TLS_CERT_FILE: files('client.pem'),
  REDIS_TLS_KEY_FILE: files('client.key'),
  ...overrides,
});

function topologyFrom(env: Record<string, string | undefined>): RedisTopology {
  const read = readSettings(env);
  if (!read.ok) throw new Error(read.problems.join('; '));
  return read.settings.redis!;
}

/** The first reply of a fresh connection, or its failure. */
async function firstReply(topology: RedisTopology): Promise<unknown> {
  const connection: RedisConnection = createRedisConnection({
    topology,
    commandTimeoutMs: 1000,
    connectTimeoutMs: 2000,
  });
  try {
    const deadline = Date.now() + 3000;
    while (connection.status() !== 'ready' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    return await connection.command('ping');
  } catch (error) {
    return error;
  } finally {
    await connection.close();
  }
}

beforeAll(async () => {
  makeCertificates();
  port = await freePort();
  writeFileSync(
    files('redis.conf'),
    [
      'port 0',
      `tls-port ${port}`,
      'bind 127.0.0.1',
      `dir ${dir}`,
      'save ""',
      'appendonly no',
      `tls-cert-file ${files('server.pem')}`,
      `tls-key-file ${files('server.key')}`,
      `tls-ca-cert-file ${files('ca.pem')}`,
      'tls-auth-clients yes',
      'user default off',
      `user gateway on >${PASSWORD} ~* &* +@all`,
      '',
    ].join('\n'),
  );
  server = spawnPlain([files('redis.conf')]);
  const deadline = Date.now() + 10_000;
  while ((await firstReply(topologyFrom(settingsEnv()))) !== 'PONG') {
    if (server.exited()) throw new Error('redis-server with TLS exited at start');
    if (Date.now() > deadline) throw new Error('redis-server with TLS did not answer');
    await new Promise((r) => setTimeout(r, 100));
  }
});
afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

it('connects over TLS with the CA, a client certificate and the ACL user of the settings, and runs scripts', async () => {
  const connection = createRedisConnection({ topology: topologyFrom(settingsEnv()), commandTimeoutMs: 1000 });
  try {
    while (connection.status() !== 'ready') await new Promise((r) => setTimeout(r, 20));
    expect(await connection.command('acl', 'whoami')).toBe('gateway');
    expect(await connection.runScript(defineLuaScript('echo', 'return ARGV[1]'), [], ['over tls'])).toBe('over tls');
  } finally {
    await connection.close();
  }
});

it.each([
  ['a CA that did not sign the server certificate', { REDIS_TLS_CA_FILE: files('other-ca.pem') }],
  ['no client certificate', { REDIS_TLS_CERT_FILE: undefined, REDIS_TLS_KEY_FILE: undefined }],
  ['a wrong password', { REDIS_URL: `rediss://gateway:wrong@127.0.0.1:${'PORT'}` }],
  ['no user (the default user is off)', { REDIS_URL: `rediss://127.0.0.1:${'PORT'}` }],
])('is refused with %s, as one error type, without the password in it', async (_what, overrides) => {
  const env = Object.fromEntries(
    Object.entries(settingsEnv(overrides)).map(([k, v]) => [k, v?.replace('PORT', String(port))]),
  );
  const reply = await firstReply(topologyFrom(env));
  expect(reply).toBeInstanceOf(Error);
  expect((reply as Error).name).toBe('StoreUnavailableError');
  expect(String((reply as Error).message)).not.toContain(PASSWORD);
});

it('a refused connection closed in the middle of its handshake leaves no TLS error uncaught', async () => {
  // Closing while the handshake with the wrong CA is under way makes Redis answer with an alert
  // (50, decode error) after the certificate failure: a second 'error' on the same socket, which
  // ioredis does not listen for. Retrying every millisecond, the client is almost always mid-handshake
  // when it is closed; uncaught, that error fails this test (and would end the gateway's process).
  const topology = topologyFrom(settingsEnv({ REDIS_TLS_CA_FILE: files('other-ca.pem') }));
  for (let round = 0; round < 30; round += 1) {
    const connection = createRedisConnection({ topology, reconnectDelayMs: 1, connectTimeoutMs: 2000 });
    await new Promise((r) => setTimeout(r, 20 + (round % 5) * 7));
    expect(connection.status()).toBe('down');
    await connection.close();
  }
  // The alert comes within milliseconds of the hang-up; let the last ones arrive inside this test.
  await new Promise((r) => setTimeout(r, 200));
});

it('a TLS file that cannot be read stops the connection from being built, naming its setting', () => {
  expect(() =>
    createRedisConnection({ topology: topologyFrom(settingsEnv({ REDIS_TLS_CA_FILE: files('missing.pem') })) }),
  ).toThrow(`REDIS_TLS_CA_FILE: cannot read ${files('missing.pem')} (ENOENT)`);
});

describe('a gateway on it', () => {
  const fleets = fleetsForFile();

  it('shares its schedule through the TLS connection', async () => {
    const fleet = await fleets.fleet({
      gateways: 2,
      redis: topologyFrom(settingsEnv()),
      limits: { read: 10, write: 3 },
    });
    expect((await fleet.readyz(0)).body.checks.schedule).toBe('shared');
    const replies = await Promise.all(
      [0, 1, 0, 1].map((g) => fleet.request(g, 'GET', READ_TARGET, { caller: 'worker' })),
    );
    expect(replies.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect(fleet.gateways.map((g) => g.gateway.schedule.stats().granted.shared)).toEqual([2, 2]);
    expect(fleet.upstream('read').admitted).toBe(4);
  });
});
