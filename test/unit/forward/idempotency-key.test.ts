import fc from 'fast-check';
import {
  namespacedIdempotencyKey,
  UUID_V4,
  validateIdempotencyKeyHeader,
} from '../../../src/gateway/forward/idempotency-key';

const RUNS = { numRuns: 500 };
const KEY = '3f2b8c1e-9a4d-4e6f-8b7a-1c2d3e4f5a6b';

describe('namespacedIdempotencyKey', () => {
  it('is a fixed, versioned derivation (changing it would break replays across a deploy)', () => {
    expect(namespacedIdempotencyKey('autoscaler', KEY)).toMatch(UUID_V4);
    expect(namespacedIdempotencyKey('autoscaler', KEY)).toBe(namespacedIdempotencyKey('autoscaler', KEY));
    expect(namespacedIdempotencyKey('autoscaler', KEY)).toBe('d841cacf-980e-4c0f-afb3-2abedd35f5e1');
  });

  it('treats the key case-insensitively, as UUIDs are', () => {
    expect(namespacedIdempotencyKey('billing', KEY.toUpperCase())).toBe(namespacedIdempotencyKey('billing', KEY));
  });

  it('always yields a UUID v4, deterministically', () => {
    fc.assert(
      fc.property(fc.string(), fc.uuid({ version: 4 }), (callerId, key) => {
        const upstreamKey = namespacedIdempotencyKey(callerId, key);
        expect(upstreamKey).toMatch(UUID_V4);
        expect(namespacedIdempotencyKey(callerId, key)).toBe(upstreamKey);
      }),
      RUNS,
    );
  });

  it('separates callers and keys: distinct (caller, key) pairs get distinct upstream keys', () => {
    fc.assert(
      fc.property(
        fc.string(),
        fc.string(),
        fc.uuid({ version: 4 }),
        fc.uuid({ version: 4 }),
        (callerA, callerB, keyA, keyB) => {
          fc.pre(callerA !== callerB || keyA !== keyB);
          expect(namespacedIdempotencyKey(callerA, keyA)).not.toBe(namespacedIdempotencyKey(callerB, keyB));
        },
      ),
      RUNS,
    );
  });

  it('never passes the caller’s key through', () => {
    fc.assert(
      fc.property(fc.string(), fc.uuid({ version: 4 }), (callerId, key) => {
        expect(namespacedIdempotencyKey(callerId, key)).not.toBe(key);
      }),
      RUNS,
    );
  });
});

describe('validateIdempotencyKeyHeader', () => {
  it.each([
    [KEY, { ok: true, key: KEY }],
    [KEY.toUpperCase(), { ok: true, key: KEY }],
    ['', { ok: false, reason: 'invalid-idempotency-key' }],
    ['not-a-uuid', { ok: false, reason: 'invalid-idempotency-key' }],
    ['3f2b8c1e9a4d4e6f8b7a1c2d3e4f5a6b', { ok: false, reason: 'invalid-idempotency-key' }],
    ['3f2b8c1e-9a4d-5e6f-8b7a-1c2d3e4f5a6b', { ok: false, reason: 'invalid-idempotency-key' }],
    ['3f2b8c1e-9a4d-4e6f-cb7a-1c2d3e4f5a6b', { ok: false, reason: 'invalid-idempotency-key' }],
    [`${KEY}\n`, { ok: false, reason: 'invalid-idempotency-key' }],
    [`${KEY}, ${KEY}`, { ok: false, reason: 'invalid-idempotency-key' }],
    [[KEY, KEY], { ok: false, reason: 'duplicate-header' }],
  ])('%j → %j', (value, expected) => {
    expect(validateIdempotencyKeyHeader(value)).toEqual(expected);
  });

  it('accepts exactly the UUIDs v4 in either case', () => {
    fc.assert(
      fc.property(fc.uuid({ version: 4 }), fc.boolean(), (uuid, upper) => {
        expect(validateIdempotencyKeyHeader(upper ? uuid.toUpperCase() : uuid)).toEqual({
          ok: true,
          key: uuid.toLowerCase(),
        });
      }),
      RUNS,
    );
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (value) => {
        expect(validateIdempotencyKeyHeader(value).ok).toBe(UUID_V4.test(value.toLowerCase()));
      }),
      RUNS,
    );
  });
});
