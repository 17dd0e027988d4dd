/**
 * TLS and client certificates on the public listener, end to end: certificates made with openssl
 * in the test, a real gateway serving https, the real sandbox upstream. Callers named by a SPIFFE
 * URI SAN or a subject, refused certificates (expired, wrong CA) answered 401 in the envelope and
 * never trusted, `token+certificate` callers, and reloads that swap the CA bundle or the server
 * certificate — or refuse bad files and keep the running ones.
 */
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { opensslDate, TestPki, type CertificateAuthority, type CertificateFiles } from '../../helpers/certificates';
import { startTlsGateway, type TlsGateway } from '../../helpers/tls-gateway';

const BILLING_ID = 'spiffe://cluster.local/ns/shop/sa/billing';
const LEDGER_ID = 'spiffe://cluster.local/ns/shop/sa/ledger';
const PARTNER_ID = 'spiffe://partner.example/sa/partner';
const LIST = '/api/v1/computes';

const CALLERS = `  billing: { account: main, scopes: ["*"], authentication: certificate, certificate: { uri: "${BILLING_ID}" } }
  reports: { account: main, scopes: [computes:read], authentication: certificate, certificate: { subject: "CN=reports,O=shop" } }
  ledger: { account: main, scopes: ["*"], authentication: token+certificate, certificate: { uri: "${LEDGER_ID}" } }
  partner: { account: main, scopes: ["*"], authentication: certificate, certificate: { uri: "${PARTNER_ID}" } }
  tokens: { account: main, scopes: ["*"] }`;

const pki = new TestPki();
let serverCa: CertificateAuthority;
let clientCa: CertificateAuthority;
let partnerCa: CertificateAuthority;
let rogueCa: CertificateAuthority;
const certs = {} as Record<
  'server' | 'server2' | 'billing' | 'reports' | 'ledger' | 'partner' | 'expired' | 'rogue' | 'stranger',
  CertificateFiles
>;
let gw: TlsGateway;
let dir: string;

const write = (name: string, text: string) => fs.writeFileSync(path.join(dir, name), text);

beforeAll(async () => {
  serverCa = pki.authority('server-ca');
  clientCa = pki.authority('client-ca');
  partnerCa = pki.authority('partner-ca');
  rogueCa = pki.authority('rogue-ca');
  const server = (cn: string) => ({ subject: `/CN=${cn}`, altNames: ['IP:127.0.0.1'], usage: 'server' as const });
  certs.server = pki.issue(serverCa, 'server', server('gateway-1'));
  // A shorter life than the first, so the expiry metric shows which one is in force.
  certs.server2 = pki.issue(serverCa, 'server2', { ...server('gateway-2'), endDate: opensslDate(200) });
  const client = (subject: string, uri?: string) => ({
    subject,
    usage: 'client' as const,
    ...(uri ? { altNames: [`URI:${uri}`] } : {}),
  });
  certs.billing = pki.issue(clientCa, 'billing', client('/O=shop/CN=billing', BILLING_ID));
  certs.reports = pki.issue(clientCa, 'reports', client('/O=shop/CN=reports'));
  certs.ledger = pki.issue(clientCa, 'ledger', client('/O=shop/CN=ledger', LEDGER_ID));
  certs.stranger = pki.issue(clientCa, 'stranger', client('/O=shop/CN=stranger', 'spiffe://cluster.local/ns/x/sa/y'));
  certs.partner = pki.issue(partnerCa, 'partner', client('/O=partner/CN=partner', PARTNER_ID));
  certs.expired = pki.issue(clientCa, 'expired', {
    ...client('/O=shop/CN=billing', BILLING_ID),
    startDate: opensslDate(-30),
    endDate: opensslDate(-1),
  });
  // The right name from the wrong CA.
  certs.rogue = pki.issue(rogueCa, 'rogue', client('/O=shop/CN=billing', BILLING_ID));

  dir = fs.mkdtempSync(path.join(pki.dir, 'gateway-'));
  write('server.crt', certs.server.cert);
  write('server.key', certs.server.key);
  write('clients-ca.pem', clientCa.cert + partnerCa.cert);
  gw = await startTlsGateway({
    dir,
    tls: '{ certFile: server.crt, keyFile: server.key, clientCa: { caFile: clients-ca.pem } }',
    callers: CALLERS,
    serverCa: serverCa.cert,
    warmUpConnections: 2,
  });
});

afterAll(async () => {
  await gw?.close();
  pki.close();
});

/** A 401 in the Strettch envelope, its reason in the access log, and nothing sent upstream. */
async function expectRefused(reply: Awaited<ReturnType<TlsGateway['request']>>, status: number, reason: string) {
  expect(reply.status).toBe(status);
  expect(reply.body).toMatchObject({
    success: false,
    code: status === 401 ? 'UNAUTHORIZED' : 'FORBIDDEN',
    requestId: reply.requestId,
  });
  expect(await gw.accessLine(reply.requestId)).toMatchObject({ status, reason });
}

describe('the listener', () => {
  test('serves https with the configured certificate; TLS 1.2 is accepted', async () => {
    const reply = await gw.request('GET', LIST, { token: gw.mint('tokens'), maxVersion: 'TLSv1.2' });
    expect(reply.status).toBe(200);
    expect(reply.protocol).toBe('TLSv1.2');
    expect(reply.serverCertificate.subject.CN).toBe('gateway-1');
    expect(gw.gateway.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const notAfter = Date.parse(new X509Certificate(certs.server.cert).validTo) / 1000;
    expect(
      await metricValue('strettch_gateway_tls_certificate_not_after_timestamp_seconds{certificate="server"}'),
    ).toBe(notAfter);
  });

  test('the start warmed the upstream path through the TLS port, as the CLI does', () => {
    const warmed = gw.logLines.map((line) => JSON.parse(line) as { msg: string; answered?: number });
    expect(warmed.find((line) => line.msg.startsWith('upstream path warmed up'))).toMatchObject({
      msg: 'upstream path warmed up',
      answered: 2,
    });
  });

  test('TLS 1.1 is refused at the handshake, and the refusal counted', async () => {
    const before = await metricValue('strettch_gateway_connection_refusals_total{reason="tls-handshake"}');
    // SECLEVEL=0 lets this client offer TLS 1.1 at all; the gateway's minimum is what refuses it.
    await expect(
      gw.request('GET', LIST, {
        token: gw.mint('tokens'),
        minVersion: 'TLSv1',
        maxVersion: 'TLSv1.1',
        ciphers: 'DEFAULT@SECLEVEL=0',
      }),
    ).rejects.toThrow(/protocol|version|handshake|alert/i);
    expect(await metricValue('strettch_gateway_connection_refusals_total{reason="tls-handshake"}')).toBe(before + 1);
    const refused = gw.logLines
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((l) => l.reason === 'tls-handshake');
    expect(refused.at(-1)).toMatchObject({
      msg: 'request',
      refusedBy: 'server',
      parserCode: 'ERR_SSL_UNSUPPORTED_PROTOCOL',
    });
  });

  test('plain HTTP on the TLS port: no HTTP answer, a tls-handshake refusal', async () => {
    const before = await metricValue('strettch_gateway_connection_refusals_total{reason="tls-handshake"}');
    const net = await import('node:net');
    const answer = await new Promise<string>((resolve) => {
      const socket = net.connect(gw.port, '127.0.0.1', () =>
        socket.write('GET /api/v1/computes HTTP/1.1\r\nHost: x\r\n\r\n'),
      );
      let received = '';
      socket.on('data', (chunk) => (received += chunk.toString('latin1')));
      socket.on('close', () => resolve(received));
      socket.on('error', () => resolve(received));
    });
    expect(answer).not.toMatch(/^HTTP\//);
    expect(await metricValue('strettch_gateway_connection_refusals_total{reason="tls-handshake"}')).toBe(before + 1);
  });
});

describe('the server bounds hold on TLS', () => {
  test('more than 100 header lines: 431 in the envelope, over TLS as over plain HTTP', async () => {
    const headers = Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`x-filler-${i}`, '1']));
    const reply = await gw.request('GET', LIST, { token: gw.mint('tokens'), headers });
    expect(reply.status).toBe(431);
    expect(reply.body).toMatchObject({ success: false, requestId: reply.requestId });
  });

  test('headers over 16 KiB: 431 in the envelope (answered by the parser-error path, through TLS)', async () => {
    const reply = await gw.request('GET', LIST, { token: gw.mint('tokens'), headers: { 'x-big': 'a'.repeat(20_000) } });
    expect(reply.status).toBe(431);
    expect(reply.body).toMatchObject({ success: false });
  });

  test('a connection over the per-client cap is cut before its handshake, and counted', async () => {
    const capped = await startTlsGateway({
      dir: fs.mkdtempSync(path.join(pki.dir, 'capped-')),
      tls: `{ certFile: ${path.join(dir, 'server.crt')}, keyFile: ${path.join(dir, 'server.key')} }`,
      callers: '  tokens: { account: main, scopes: ["*"] }',
      serverCa: serverCa.cert,
      server: { connectionLimits: { maxConnections: 100, maxConnectionsPerClient: 1 } },
    });
    const tls = await import('node:tls');
    try {
      const held = tls.connect({ host: '127.0.0.1', port: capped.port, ca: serverCa.cert });
      await new Promise<void>((resolve, reject) => held.once('secureConnect', resolve).once('error', reject));
      await expect(capped.request('GET', LIST, { token: capped.mint('tokens') })).rejects.toThrow();
      held.destroy();
      const admin = new URL(capped.gateway.adminUrl);
      const metrics = await fetch(`${admin.origin}/metrics`).then((r) => r.text());
      expect(metrics).toMatch(/strettch_gateway_connection_refusals_total\{reason="client-connection-limit"\} 1\n/);
    } finally {
      await capped.close();
    }
  });
});

describe('callers by client certificate', () => {
  test('a verified certificate with a SPIFFE URI SAN names its caller, no token needed', async () => {
    gw.sandbox.referee.reset();
    const reply = await gw.request('GET', LIST, { client: certs.billing });
    expect(reply.status).toBe(200);
    expect(await gw.accessLine(reply.requestId)).toMatchObject({ caller: 'billing', status: 200 });
    // The upstream sees the gateway's allow-listed headers only: nothing of the certificate or of TLS.
    const upstream = gw.sandbox.referee.stats().lastRequest!;
    expect(Object.keys(upstream.headers).sort()).toEqual(
      expect.arrayContaining(['authorization', 'user-agent', 'x-request-id']),
    );
    const seen = JSON.stringify(upstream).toLowerCase();
    for (const leak of [
      'spiffe',
      'billing',
      'client-cert',
      'ssl',
      'tls',
      'x-forwarded',
      certs.billing.cert.slice(30, 60),
    ])
      expect(seen).not.toContain(leak.toLowerCase());
  });

  test('a verified certificate names its caller by subject, in any attribute order', async () => {
    const reply = await gw.request('GET', LIST, { client: certs.reports });
    expect(reply.status).toBe(200);
    expect(await gw.accessLine(reply.requestId)).toMatchObject({ caller: 'reports' });
  });

  test('an expired certificate is refused with 401, even with the right name', async () => {
    gw.sandbox.referee.reset();
    await expectRefused(await gw.request('GET', LIST, { client: certs.expired }), 401, 'auth-certificate-expired');
    expect(gw.sandbox.referee.stats().lastRequest).toBeNull();
  });

  test('a certificate from another CA is refused with 401, and a valid token beside it does not help', async () => {
    gw.sandbox.referee.reset();
    await expectRefused(await gw.request('GET', LIST, { client: certs.rogue }), 401, 'auth-certificate-untrusted');
    const withToken = await gw.request('GET', LIST, { client: certs.rogue, token: gw.mint('tokens') });
    await expectRefused(withToken, 401, 'auth-certificate-untrusted');
    expect(gw.sandbox.referee.stats().lastRequest).toBeNull();
  });

  test('a verified certificate no caller claims is not a caller: the token path answers', async () => {
    await expectRefused(await gw.request('GET', LIST, { client: certs.stranger }), 401, 'auth-missing');
  });

  test('token callers work as before, with or without a certificate', async () => {
    expect((await gw.request('GET', LIST, { token: gw.mint('tokens') })).status).toBe(200);
    const both = await gw.request('GET', LIST, { token: gw.mint('tokens'), client: certs.stranger });
    expect(both.status).toBe(200);
    expect(await gw.accessLine(both.requestId)).toMatchObject({ caller: 'tokens' });
  });

  test('a certificate-only caller cannot be reached with a token alone', async () => {
    await expectRefused(await gw.request('GET', LIST, { token: gw.mint('billing') }), 401, 'auth-certificate-missing');
  });

  test('scopes still apply to a certificate caller', async () => {
    const reply = await gw.request('POST', '/api/v1/computes/42/start', { client: certs.reports });
    await expectRefused(reply, 403, 'missing-scope:computes:power');
  });
});

describe('token+certificate callers', () => {
  test('the token alone is refused with 401', async () => {
    await expectRefused(await gw.request('GET', LIST, { token: gw.mint('ledger') }), 401, 'auth-certificate-missing');
  });

  test("another caller's certificate is refused with 403", async () => {
    const reply = await gw.request('GET', LIST, { token: gw.mint('ledger'), client: certs.billing });
    await expectRefused(reply, 403, 'certificate-mismatch');
  });

  test('the certificate alone is refused with 401 (the token is missing)', async () => {
    await expectRefused(await gw.request('GET', LIST, { client: certs.ledger }), 401, 'auth-missing');
  });

  test('the token with its own certificate passes', async () => {
    const reply = await gw.request('GET', LIST, { token: gw.mint('ledger'), client: certs.ledger });
    expect(reply.status).toBe(200);
    expect(await gw.accessLine(reply.requestId)).toMatchObject({ caller: 'ledger' });
  });
});

describe('reload', () => {
  test('a CA removed from the trust bundle: its certificates are refused on the next handshake', async () => {
    expect((await gw.request('GET', LIST, { client: certs.partner })).status).toBe(200);
    write('clients-ca.pem', clientCa.cert);
    expect(await gw.gateway.reload()).toEqual({ ok: true });
    await expectRefused(await gw.request('GET', LIST, { client: certs.partner }), 401, 'auth-certificate-untrusted');
    expect((await gw.request('GET', LIST, { client: certs.billing })).status).toBe(200);
  });

  test('a new server certificate is presented by new handshakes', async () => {
    write('server.crt', certs.server2.cert);
    write('server.key', certs.server2.key);
    expect(await gw.gateway.reload()).toEqual({ ok: true });
    const reply = await gw.request('GET', LIST, { client: certs.billing });
    expect(reply.status).toBe(200);
    expect(reply.serverCertificate.subject.CN).toBe('gateway-2');
    const notAfter = Date.parse(new X509Certificate(certs.server2.cert).validTo) / 1000;
    expect(
      await metricValue('strettch_gateway_tls_certificate_not_after_timestamp_seconds{certificate="server"}'),
    ).toBe(notAfter);
  });

  test('a certificate that does not match its key is refused; the running certificate stays', async () => {
    const before = await metricValue('strettch_gateway_config_reloads_total{result="error"}');
    write('server.crt', certs.server.cert); // gateway-1's certificate, gateway-2's key still in server.key
    const result = await gw.gateway.reload();
    expect(result.ok).toBe(false);
    expect(!result.ok && result.errors).toEqual([
      expect.objectContaining({ path: 'listen.tls.keyFile', message: expect.stringMatching(/does not match/) }),
    ]);
    const reply = await gw.request('GET', LIST, { client: certs.billing });
    expect(reply.status).toBe(200);
    expect(reply.serverCertificate.subject.CN).toBe('gateway-2');
    expect(await metricValue('strettch_gateway_config_reloads_total{result="error"}')).toBe(before + 1);
    const logged = gw.logLines.filter((line) => line.includes('listen.tls.keyFile'));
    expect(logged.length).toBeGreaterThan(0);
    for (const line of gw.logLines) expect(line).not.toContain('PRIVATE KEY');
  });

  test('an unreadable CA bundle is refused; the running bundle stays', async () => {
    write('server.crt', certs.server2.cert);
    fs.rmSync(path.join(dir, 'clients-ca.pem'));
    try {
      const result = await gw.gateway.reload();
      expect(!result.ok && result.errors.map((e) => e.path)).toEqual(['listen.tls.clientCa.caFile']);
      expect((await gw.request('GET', LIST, { client: certs.billing })).status).toBe(200);
      const partner = await gw.request('GET', LIST, { client: certs.partner });
      await expectRefused(partner, 401, 'auth-certificate-untrusted');
    } finally {
      write('clients-ca.pem', clientCa.cert);
    }
  });

  test('a connection opened before a reload keeps the identity it was verified with; new ones are judged anew', async () => {
    const agent = new https.Agent({
      keepAlive: true,
      maxSockets: 1,
      ca: serverCa.cert,
      cert: certs.billing.cert,
      key: certs.billing.key,
    });
    try {
      expect((await gw.request('GET', LIST, { agent })).status).toBe(200);
      write('clients-ca.pem', partnerCa.cert); // billing's CA removed
      expect(await gw.gateway.reload()).toEqual({ ok: true });
      const sameConnection = await gw.request('GET', LIST, { agent });
      expect(sameConnection).toMatchObject({ status: 200, reusedSocket: true });
      const fresh = await gw.request('GET', LIST, { client: certs.billing });
      await expectRefused(fresh, 401, 'auth-certificate-untrusted');
    } finally {
      agent.destroy();
      write('clients-ca.pem', clientCa.cert);
      await gw.gateway.reload();
    }
  });

  test('minVersion TLSv1.3 after a reload: a TLS 1.2 handshake is refused', async () => {
    const text = fs.readFileSync(gw.policyPath, 'utf8');
    fs.writeFileSync(gw.policyPath, text.replace('keyFile: server.key,', 'keyFile: server.key, minVersion: TLSv1.3,'));
    expect(await gw.gateway.reload()).toEqual({ ok: true });
    await expect(gw.request('GET', LIST, { client: certs.billing, maxVersion: 'TLSv1.2' })).rejects.toThrow();
    const reply = await gw.request('GET', LIST, { client: certs.billing });
    expect(reply.protocol).toBe('TLSv1.3');
    expect(reply.status).toBe(200);
  });
});

async function metricValue(series: string): Promise<number> {
  const admin = new URL(gw.gateway.adminUrl);
  const text = await fetch(`${admin.origin}/metrics`).then((r) => r.text());
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.split(' ')[1]) : 0;
}
