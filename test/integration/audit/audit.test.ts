/**
 * The audit trail through the real gateway and sandbox: every write (create, stop, upsize, start,
 * reboot, delete) leaves exactly one record with the right fields; denied and failed attempts too;
 * reads none. No secret reaches it. With a file destination, records go to the file (created 0600,
 * appended to) and not to the log.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AuditRecord } from '../../../src/gateway/audit';
import { startGateway, type RunningGateway } from '../../../src/gateway/compose';
import { createLogger } from '../../../src/gateway/observability/logger';
import { createBody, startGatewayHarness, type GatewayHarness, type Reply } from '../../helpers/gateway-harness';

type AuditLine = AuditRecord & { audit: true; msg: string; time: string };

let h: GatewayHarness;
let sentinelToken: string;
beforeAll(async () => {
  h = await startGatewayHarness({
    sandbox: { limits: { readPerSecond: 10_000, writePerSecond: 10_000 } },
    upstream: { timeoutMs: 500 },
  });
  sentinelToken = h.mint('sentinel-caller', { lifetimeSec: 3000 });
});
afterAll(() => h.close());

const JSON_HEADERS = { 'content-type': 'application/json' };
const asSentinel = (
  method: string,
  target: string,
  options: { headers?: Record<string, string>; body?: string } = {},
) =>
  h.request(method, target, { ...options, headers: { authorization: `Bearer ${sentinelToken}`, ...options.headers } });

function auditLines(lines: readonly string[] = h.logLines): AuditLine[] {
  return lines
    .map((line) => JSON.parse(line) as Partial<AuditLine>)
    .filter((line): line is AuditLine => line.audit === true);
}

/** The audit records of one request (written with its access line, once the response closed). */
async function auditOf(reply: Reply): Promise<AuditLine[]> {
  await h.accessLine(reply.requestId);
  return auditLines().filter((line) => line.requestId === reply.requestId);
}

async function onlyRecordOf(reply: Reply): Promise<AuditLine> {
  const records = await auditOf(reply);
  expect(records).toHaveLength(1);
  return records[0]!;
}

describe('each write through the gateway leaves exactly one record', () => {
  let computeId: string;
  const replies: Reply[] = [];

  it('create: the new compute id from the 202 body', async () => {
    const reply = await asSentinel('POST', '/api/v1/computes', {
      headers: { ...JSON_HEADERS, 'idempotency-key': crypto.randomUUID() },
      body: createBody('audited-01'),
    });
    expect(reply.status).toBe(202);
    replies.push(reply);
    computeId = String(reply.body.data.id);
    const record = await onlyRecordOf(reply);
    expect(record).toEqual({
      level: 30,
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      name: 'strettch-gateway',
      audit: true,
      msg: 'audit',
      requestId: reply.requestId,
      operation: 'computes.create',
      outcome: 'forwarded',
      caller: 'sentinel-caller',
      account: 'sentinel',
      computeId,
      status: 202,
      upstreamStatus: 202,
      receivedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
    });
    expect(Math.abs(Date.parse(record.receivedAt) - Date.now())).toBeLessThan(10_000);
  });

  it.each([
    ['computes.stop', 'POST', (id: string) => `/api/v1/computes/${id}/stop`, undefined],
    [
      'computes.upsize',
      'PATCH',
      (id: string) => `/api/v1/computes/${id}/upsize`,
      JSON.stringify({ newSpecification: 'S-2C-4G' }),
    ],
    ['computes.start', 'POST', (id: string) => `/api/v1/computes/${id}/start`, undefined],
    ['computes.reboot', 'POST', (id: string) => `/api/v1/computes/${id}/reboot`, undefined],
    ['computes.delete', 'DELETE', (id: string) => `/api/v1/computes/${id}`, undefined],
  ])('%s: the compute id from the path, the provider status', async (operation, method, target, body) => {
    const reply = await asSentinel(
      method,
      target(computeId),
      body === undefined ? {} : { headers: JSON_HEADERS, body },
    );
    expect(reply.status).toBeLessThan(300);
    replies.push(reply);
    expect(await onlyRecordOf(reply)).toMatchObject({
      requestId: reply.requestId,
      operation,
      outcome: 'forwarded',
      caller: 'sentinel-caller',
      account: 'sentinel',
      computeId,
      status: reply.status,
      upstreamStatus: reply.status,
    });
  });

  it('a write the provider refuses is recorded with its status', async () => {
    const reply = await asSentinel('POST', '/api/v1/computes/999999/start');
    expect(reply.status).toBe(404);
    expect(await onlyRecordOf(reply)).toMatchObject({
      operation: 'computes.start',
      outcome: 'forwarded',
      computeId: '999999',
      status: 404,
      upstreamStatus: 404,
    });
  });

  it('reads leave none', async () => {
    for (const target of [`/api/v1/computes/${computeId}`, '/api/v1/computes', '/api/v1/regions']) {
      expect(await auditOf(await asSentinel('GET', target))).toEqual([]);
    }
    expect(await auditOf(await h.request('GET', '/api/v1/health'))).toEqual([]);
  });

  it('the sandbox performed every write exactly once (one record per write)', () => {
    expect(h.stats().keys[h.labelOf('sentinel')]!.classes.write.admitted).toBe(replies.length + 1);
    const ids = auditLines().map((line) => line.requestId);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe('denied and failed attempts are recorded too', () => {
  it('a caller without the scope: denied, 403, the missing scope', async () => {
    const reply = await h.as('reader', 'POST', '/api/v1/computes/12/stop');
    expect(reply.status).toBe(403);
    expect(await onlyRecordOf(reply)).toMatchObject({
      operation: 'computes.stop',
      outcome: 'denied',
      caller: 'reader',
      account: 'members',
      computeId: '12',
      status: 403,
      code: 'FORBIDDEN',
      reason: 'missing-scope:computes:power',
    });
  });

  it('no token, and an expired one: denied, 401, no caller named', async () => {
    for (const headers of [
      {},
      { authorization: `Bearer ${h.mint('operator', { now: () => Date.now() - 3_600_000 })}` },
    ]) {
      const reply = await h.request('DELETE', '/api/v1/computes/13', { headers });
      expect(reply.status).toBe(401);
      const record = await onlyRecordOf(reply);
      expect(record).toMatchObject({
        operation: 'computes.delete',
        outcome: 'denied',
        computeId: '13',
        status: 401,
        code: 'UNAUTHORIZED',
      });
      expect(record).not.toHaveProperty('caller');
      expect(record.upstreamStatus).toBeUndefined();
    }
  });

  it('a create with a bad idempotency key: denied, 400, never forwarded', async () => {
    const reply = await h.withoutUpstream(() =>
      asSentinel('POST', '/api/v1/computes', {
        headers: { ...JSON_HEADERS, 'idempotency-key': 'nope' },
        body: createBody(),
      }),
    );
    expect(reply.status).toBe(400);
    const record = await onlyRecordOf(reply);
    expect(record).toMatchObject({
      operation: 'computes.create',
      outcome: 'denied',
      caller: 'sentinel-caller',
      status: 400,
      code: 'INVALID_IDEMPOTENCY_KEY',
    });
    expect(record).not.toHaveProperty('computeId');
  });

  it('the upstream connection dropped after forwarding: failed (the write may have happened)', async () => {
    h.sandbox.referee.setFaults({ dropRate: 1 });
    try {
      const reply = await h.as('operator', 'POST', '/api/v1/computes/14/reboot');
      expect(reply.status).toBe(502);
      expect(await onlyRecordOf(reply)).toMatchObject({
        operation: 'computes.reboot',
        outcome: 'failed',
        caller: 'operator',
        computeId: '14',
        status: 502,
        code: 'UPSTREAM_UNAVAILABLE',
      });
    } finally {
      h.sandbox.referee.setFaults({ dropRate: 0 });
    }
  });

  it('metrics count records by outcome', async () => {
    const text = await h.metricsText();
    for (const outcome of ['forwarded', 'denied', 'failed'])
      expect(text).toMatch(new RegExp(`strettch_gateway_audit_records_total\\{outcome="${outcome}"\\} [1-9]`));
  });
});

describe('no secret in the audit trail', () => {
  it('neither the account key, the caller token, nor the create body', () => {
    const [, payload, signature] = sentinelToken.split('.');
    const text = auditLines()
      .map((line) => JSON.stringify(line))
      .join('\n');
    expect(text.length).toBeGreaterThan(0);
    for (const secret of [
      h.keys.sentinelApiKey,
      sentinelToken,
      payload!,
      signature!,
      'ssh-ed25519',
      'audited-01',
      'UBUNTU-24.04',
    ])
      expect(text).not.toContain(secret);
  });
});

describe('AUDIT_LOG=<file>', () => {
  let dir: string;
  let gateway: RunningGateway | undefined;
  const logLines: string[] = [];
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sg-audit-'));
  });
  afterAll(async () => {
    await gateway?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function startWithFile(file: string): Promise<RunningGateway> {
    const logger = createLogger({ destination: { write: (line: string) => void logLines.push(line) } });
    return startGateway({
      policy: h.policy,
      logger,
      host: '127.0.0.1',
      port: 0,
      adminPort: 0,
      audit: { kind: 'file', path: file },
    });
  }

  it('creates the file 0600, appends records to it, and keeps them out of the log', async () => {
    const file = path.join(dir, 'audit.log');
    gateway = await startWithFile(file);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const port = Number(new URL(gateway.url).port);
    const reply = await h.request('POST', '/api/v1/computes/15/stop', {
      port,
      headers: { authorization: `Bearer ${h.mint('operator')}` },
    });
    expect(reply.status).toBe(404);
    await gateway.close();
    gateway = undefined;

    const records = auditLines(fs.readFileSync(file, 'utf8').trim().split('\n'));
    expect(records).toEqual([
      expect.objectContaining({
        requestId: reply.requestId,
        operation: 'computes.stop',
        outcome: 'forwarded',
        caller: 'operator',
        computeId: '15',
        upstreamStatus: 404,
      }),
    ]);
    expect(logLines.some((line) => line.includes(reply.requestId))).toBe(true);
    expect(auditLines(logLines)).toEqual([]);
  });

  it('appends to an existing file (a restart keeps the trail)', async () => {
    const file = path.join(dir, 'audit.log');
    gateway = await startWithFile(file);
    const port = Number(new URL(gateway.url).port);
    const reply = await h.request('DELETE', '/api/v1/computes/16', {
      port,
      headers: { authorization: `Bearer ${h.mint('operator')}` },
    });
    await gateway.close();
    gateway = undefined;
    const records = auditLines(fs.readFileSync(file, 'utf8').trim().split('\n'));
    expect(records.map((r) => r.computeId)).toEqual(['15', '16']);
    expect(records[1]!.requestId).toBe(reply.requestId);
  });

  it('a path that cannot be opened stops the start', async () => {
    await expect(startWithFile(path.join(dir, 'missing-dir', 'audit.log'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
