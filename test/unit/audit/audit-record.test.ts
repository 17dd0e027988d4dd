import { CATALOG, operationById } from '../../../src/catalog/catalog';
import {
  auditOutcome,
  buildAuditRecord,
  createdComputeId,
  isAudited,
  MAX_CAPTURED_BODY_BYTES,
  parseAuditSetting,
  type AuditFacts,
  type AuditRecord,
} from '../../../src/gateway/audit';

const RECEIVED_AT_MS = Date.UTC(2025, 0, 2, 3, 4, 5, 678);
const created = (id: unknown) =>
  Buffer.from(
    JSON.stringify({
      success: true,
      message: 'ok',
      data: { id, hostName: 'web-01', publicKeys: ['ssh-ed25519 AAAA'] },
    }),
  );

function facts(overrides: Partial<AuditFacts> = {}): AuditFacts {
  return {
    requestId: 'req-1',
    operation: operationById('computes.start'),
    receivedAtMs: RECEIVED_AT_MS,
    caller: 'ops',
    account: 'prod',
    forwarded: false,
    ...overrides,
  };
}

describe('isAudited', () => {
  it('audits exactly the write operations of the catalog', () => {
    expect(
      CATALOG.filter(isAudited)
        .map((op) => op.id)
        .sort(),
    ).toEqual(
      [
        'computes.create',
        'computes.delete',
        'computes.reboot',
        'computes.start',
        'computes.stop',
        'computes.upsize',
      ].sort(),
    );
  });
});

describe('auditOutcome', () => {
  it.each([
    ['the provider answered', { forwarded: true, upstreamStatus: 202 }, 'forwarded'],
    ['the provider answered with an error', { forwarded: true, upstreamStatus: 409 }, 'forwarded'],
    ['forwarded, then timed out', { forwarded: true, rejection: { code: 'UPSTREAM_TIMEOUT' as const } }, 'failed'],
    [
      'forwarded, answered with a redirect (refused)',
      { forwarded: true, upstreamStatus: 302, rejection: { code: 'UPSTREAM_UNAVAILABLE' as const } },
      'failed',
    ],
    ['forwarded, no status and no rejection', { forwarded: true }, 'failed'],
    ['refused by the gateway', { forwarded: false, rejection: { code: 'FORBIDDEN' as const } }, 'denied'],
    ['the caller left while queued', { forwarded: false }, 'abandoned'],
  ])('%s → %s', (_what, input, expected) => {
    expect(auditOutcome(input)).toBe(expected);
  });
});

describe('createdComputeId', () => {
  it.each([
    ['a string id', created('325'), '325'],
    ['a numeric id', created(325), '325'],
    ['no body', undefined, undefined],
    ['an empty body', Buffer.alloc(0), undefined],
    ['not JSON', Buffer.from('<html>'), undefined],
    ['JSON without data', Buffer.from('{"success":true}'), undefined],
    ['data is not an object', Buffer.from('{"data":"325"}'), undefined],
    ['an id of another shape (could carry anything)', created('325; rm -rf /'), undefined],
    ['an id with a leading zero', created('0325'), undefined],
    ['a non-integer id', created(3.5), undefined],
    ['a JSON null', Buffer.from('null'), undefined],
    [
      'a body over the capture bound',
      Buffer.concat([created('7'), Buffer.alloc(MAX_CAPTURED_BODY_BYTES, 0x20)]),
      undefined,
    ],
  ])('%s', (_what, body, expected) => {
    expect(createdComputeId(body)).toBe(expected);
  });
});

describe('buildAuditRecord', () => {
  const cases: Array<[string, Partial<AuditFacts>, AuditRecord]> = [
    [
      'a forwarded power action: the id from the path, the provider status',
      { pathComputeId: '42', forwarded: true, upstreamStatus: 202, status: 202 },
      {
        requestId: 'req-1',
        operation: 'computes.start',
        outcome: 'forwarded',
        caller: 'ops',
        account: 'prod',
        computeId: '42',
        status: 202,
        upstreamStatus: 202,
        receivedAt: '2025-01-02T03:04:05.678Z',
      },
    ],
    [
      'a create: the id from the 202 body, nothing else of it',
      {
        operation: operationById('computes.create'),
        forwarded: true,
        upstreamStatus: 202,
        status: 202,
        responseStart: created('77'),
      },
      {
        requestId: 'req-1',
        operation: 'computes.create',
        outcome: 'forwarded',
        caller: 'ops',
        account: 'prod',
        computeId: '77',
        status: 202,
        upstreamStatus: 202,
        receivedAt: '2025-01-02T03:04:05.678Z',
      },
    ],
    [
      'a create the provider refused: no id read from its error body',
      {
        operation: operationById('computes.create'),
        forwarded: true,
        upstreamStatus: 400,
        status: 400,
        responseStart: created('77'),
      },
      {
        requestId: 'req-1',
        operation: 'computes.create',
        outcome: 'forwarded',
        caller: 'ops',
        account: 'prod',
        status: 400,
        upstreamStatus: 400,
        receivedAt: '2025-01-02T03:04:05.678Z',
      },
    ],
    [
      'a denied delete: the gateway status, code and reason',
      {
        operation: operationById('computes.delete'),
        pathComputeId: '9',
        rejection: { code: 'FORBIDDEN', reason: 'missing-scope:computes:delete' },
        status: 403,
      },
      {
        requestId: 'req-1',
        operation: 'computes.delete',
        outcome: 'denied',
        caller: 'ops',
        account: 'prod',
        computeId: '9',
        status: 403,
        code: 'FORBIDDEN',
        reason: 'missing-scope:computes:delete',
        receivedAt: '2025-01-02T03:04:05.678Z',
      },
    ],
    [
      'an unauthenticated attempt: no caller, no account',
      {
        caller: undefined,
        account: undefined,
        pathComputeId: '9',
        rejection: { code: 'UNAUTHORIZED', reason: 'auth-expired' },
        status: 401,
      },
      {
        requestId: 'req-1',
        operation: 'computes.start',
        outcome: 'denied',
        computeId: '9',
        status: 401,
        code: 'UNAUTHORIZED',
        reason: 'auth-expired',
        receivedAt: '2025-01-02T03:04:05.678Z',
      },
    ],
    [
      'a timeout after forwarding: failed, the write may have happened',
      {
        pathComputeId: '5',
        forwarded: true,
        rejection: { code: 'UPSTREAM_TIMEOUT', reason: 'upstream-timeout' },
        status: 504,
      },
      {
        requestId: 'req-1',
        operation: 'computes.start',
        outcome: 'failed',
        caller: 'ops',
        account: 'prod',
        computeId: '5',
        status: 504,
        code: 'UPSTREAM_TIMEOUT',
        reason: 'upstream-timeout',
        receivedAt: '2025-01-02T03:04:05.678Z',
      },
    ],
    [
      'abandoned while queued: nothing was sent',
      { pathComputeId: '5' },
      {
        requestId: 'req-1',
        operation: 'computes.start',
        outcome: 'abandoned',
        caller: 'ops',
        account: 'prod',
        computeId: '5',
        receivedAt: '2025-01-02T03:04:05.678Z',
      },
    ],
  ];
  it.each(cases)('%s', (_what, input, expected) => {
    expect(buildAuditRecord(facts(input))).toEqual(expected);
  });

  it('holds only allow-listed fields, whatever the facts carry', () => {
    const record = buildAuditRecord(
      facts({
        operation: operationById('computes.create'),
        forwarded: true,
        upstreamStatus: 202,
        status: 202,
        responseStart: created('1'),
        ...({ apiKey: 'sk-SECRET', token: 'ey.SECRET' } as object),
      }),
    );
    const allowed = [
      'requestId',
      'operation',
      'outcome',
      'caller',
      'account',
      'computeId',
      'status',
      'upstreamStatus',
      'code',
      'reason',
      'receivedAt',
    ];
    expect(Object.keys(record).every((key) => allowed.includes(key))).toBe(true);
    expect(JSON.stringify(record)).not.toMatch(/SECRET|ssh-ed25519|publicKeys|hostName/);
  });
});

describe('parseAuditSetting (AUDIT_LOG)', () => {
  it.each([
    [undefined, { ok: true, setting: { kind: 'stdout' } }],
    ['', { ok: true, setting: { kind: 'stdout' } }],
    ['stdout', { ok: true, setting: { kind: 'stdout' } }],
    ['/var/log/strettch/audit.log', { ok: true, setting: { kind: 'file', path: '/var/log/strettch/audit.log' } }],
    ['audit.log', { ok: true, setting: { kind: 'file', path: 'audit.log' } }],
    ['/tmp/a\nb', { ok: false, problem: 'AUDIT_LOG: must be "stdout" or a file path' }],
  ])('%j', (value, expected) => {
    expect(parseAuditSetting(value)).toEqual(expected);
  });
});
