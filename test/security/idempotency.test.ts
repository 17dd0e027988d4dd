/**
 * Idempotency-Key across callers. The gateway forwards HMAC(caller, key) instead of the caller's
 * key, so a caller that reuses (or learns) another caller's key can never replay that caller's
 * create — even on the same account, where the upstream would otherwise see one API key and one
 * Idempotency-Key. Judged by the sandbox's referee: creates performed, duplicates, replays.
 * Then, on every route: a key is namespaced on writes, ignored on reads, and a malformed one is
 * refused before the upstream wherever it would be used.
 */
import { namespacedIdempotencyKey } from '../../src/gateway/forward/idempotency-key';
import { createBody, type CallerName, type Reply } from '../helpers/gateway-harness';
import { ATTACK_CALLER, describeAttacks, sanitized, stopped, useSecurityHarness, type Attack } from './attack-suite';

const harness = useSecurityHarness();

const create = (caller: CallerName, key: string, hostName: string): Promise<Reply> =>
  harness().h.as(caller, 'POST', '/api/v1/computes', {
    headers: { 'content-type': 'application/json', 'idempotency-key': key },
    body: createBody(hostName),
  });
const upstreamKey = () => harness().h.stats().lastRequest!.headers['idempotency-key'];
const computeId = (reply: Reply): string => reply.body.data.id;

describe('cross-caller Idempotency-Key replay', () => {
  const key = crypto.randomUUID();
  let a: Reply;
  let b: Reply;
  let keyA: string | undefined;

  beforeAll(() => harness().h.resetUpstream());

  it('caller A creates with key K', async () => {
    a = await create('operator', key, 'alpha');
    expect(a.status).toBe(202);
    expect(a.headers['idempotent-replayed']).toBeUndefined();
    keyA = upstreamKey();
    expect(keyA).toBe(namespacedIdempotencyKey('operator', key));
    expect(keyA).not.toBe(key);
  });

  it('caller B, same account, same K, another body → its own new compute, not a replay of A', async () => {
    b = await create('operator-b', key, 'bravo');
    expect(b.status).toBe(202);
    expect(b.headers['idempotent-replayed']).toBeUndefined();
    expect(computeId(b)).not.toBe(computeId(a));
    expect(b.body.data.hostName).toBe('bravo');
    expect(upstreamKey()).not.toBe(keyA);
    expect(harness().h.stats().lastRequest!.key).toBe(harness().h.labelOf('main'));
  });

  it("caller B, same K, A's exact body → B's own conflict (422), never A's compute", async () => {
    const reply = await create('operator-b', key, 'alpha');
    expect([reply.status, reply.body.code]).toEqual([422, 'UNPROCESSABLE_ENTITY']);
    expect(reply.text).not.toContain(`"id":"${computeId(a)}"`);
  });

  it('caller B sending the upstream key A was forwarded with → still its own compute', async () => {
    const reply = await create('operator-b', keyA!, 'alpha');
    expect(reply.status).toBe(202);
    expect(reply.headers['idempotent-replayed']).toBeUndefined();
    expect([computeId(a), computeId(b)]).not.toContain(computeId(reply));
    expect(upstreamKey()).toBe(namespacedIdempotencyKey('operator-b', keyA!));
  });

  it('each caller replaying K gets its own create back, marked as a replay', async () => {
    const replayA = await create('operator', key.toUpperCase(), 'alpha');
    expect([replayA.status, replayA.headers['idempotent-replayed'], replayA.text]).toEqual([202, 'true', a.text]);
    const replayB = await create('operator-b', key, 'bravo');
    expect([replayB.status, replayB.headers['idempotent-replayed'], replayB.text]).toEqual([202, 'true', b.text]);
  });

  it('a caller of another account with K → its own compute, on its own key', async () => {
    const reply = await create('sentinel-caller', key, 'alpha');
    expect(reply.status).toBe(202);
    expect(reply.headers['idempotent-replayed']).toBeUndefined();
    expect(harness().h.stats().lastRequest!.key).toBe(harness().h.labelOf('sentinel'));
  });

  it('a caller without the create scope with K → 403, the upstream untouched', async () => {
    const before = harness().footprint();
    const reply = await create('reader', key, 'alpha');
    expect([reply.status, reply.body.code]).toEqual([403, 'FORBIDDEN']);
    expect(harness().footprint()).toEqual(before);
    expect(harness().footprint().last).toBe(before.last);
  });

  it('the referee agrees: three creates on the shared key, one on the other, no duplicate', async () => {
    const { h } = harness();
    const stats = h.stats();
    expect(stats.keys[h.labelOf('main')]!.createsPerformed).toBe(3);
    expect(stats.keys[h.labelOf('sentinel')]!.createsPerformed).toBe(1);
    expect(stats.duplicateCreates.total).toBe(0);
    const listed = await h.as('operator', 'GET', '/api/v1/computes');
    expect(listed.body.data.map((c: { hostName: string }) => c.hostName).sort()).toEqual(['alpha', 'alpha', 'bravo']);
  });
});

/** A fixed key, so that what the upstream must receive can be computed. */
const KEY = '2b7e1a52-3f0c-4d1e-9a6b-5c4d3e2f1a0b';
const isWrite = (operationClass: string) => operationClass === 'write';

const KEY_ATTACKS: Attack[] = [
  {
    name: 'a valid Idempotency-Key: namespaced on writes, never sent on reads',
    build: (s, route) => s.clean(route, { headers: { 'idempotency-key': KEY } }),
    expect: sanitized((seen, route) =>
      expect(seen.headers['idempotency-key']).toBe(
        isWrite(route.operation.class) ? namespacedIdempotencyKey(ATTACK_CALLER, KEY) : undefined,
      ),
    ),
  },
  ...(
    [
      ['not a UUID', 'not-a-uuid'],
      ['a UUID v1', 'c232ab00-9414-11ec-b3c8-9f6bdeced846'],
      ['a UUID with a CRLF tail', `${KEY}%0d%0a`],
      ['two keys in one header', `${KEY}, ${KEY}`],
      ['two Idempotency-Key headers', [KEY, KEY.replace('2b7e', '3b7e')]],
    ] as const
  ).map(([name, value]): Attack => ({
    name: `Idempotency-Key ${name}: refused on writes, ignored on reads`,
    build: (s, route) =>
      s.clean(route, { headers: { 'idempotency-key': typeof value === 'string' ? value : [...value] } }),
    expect: (route) =>
      isWrite(route.operation.class)
        ? stopped(400, 'INVALID_IDEMPOTENCY_KEY', { reason: /^header-(invalid-idempotency-key|duplicate-header)$/ })
        : sanitized((seen) => expect(seen.headers).not.toHaveProperty('idempotency-key')),
  })),
];

describeAttacks('Idempotency-Key on every route', harness, KEY_ATTACKS);
