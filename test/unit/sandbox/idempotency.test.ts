import { IdempotencyStore, bodyFingerprint, canonicalJson, isUuidV4 } from '../../../src/sandbox/idempotency';

describe('isUuidV4', () => {
  it.each([
    ['3b241101-e2bb-4255-8caf-4136c566a962', true],
    ['3B241101-E2BB-4255-8CAF-4136C566A962', true],
    ['3b241101-e2bb-1255-8caf-4136c566a962', false],
    ['3b241101-e2bb-4255-7caf-4136c566a962', false],
    ['3b241101e2bb42558caf4136c566a962', false],
    ['{3b241101-e2bb-4255-8caf-4136c566a962}', false],
    ['', false],
    [undefined, false],
  ])('%j → %s', (value, expected) => {
    expect(isUuidV4(value)).toBe(expected);
  });
});

describe('fingerprints', () => {
  it('ignore key order and whitespace but not values or array order', () => {
    expect(bodyFingerprint({ a: 1, b: [1, 2] })).toBe(bodyFingerprint(JSON.parse('{ "b": [1,2], "a": 1 }')));
    expect(bodyFingerprint({ a: 1 })).not.toBe(bodyFingerprint({ a: 2 }));
    expect(bodyFingerprint({ a: [1, 2] })).not.toBe(bodyFingerprint({ a: [2, 1] }));
  });

  it('canonical JSON sorts keys at every depth', () => {
    expect(canonicalJson({ z: { y: 1, x: 2 }, a: null })).toBe('{"a":null,"z":{"x":2,"y":1}}');
  });
});

describe('IdempotencyStore', () => {
  const KEY = '3b241101-e2bb-4255-8caf-4136c566a962';

  it('new → remember → replay; other body → mismatch; other API key → new', () => {
    const store = new IdempotencyStore();
    expect(store.lookup('k1', KEY, 'f1')).toEqual({ kind: 'new' });
    store.remember('k1', KEY, { fingerprint: 'f1', body: '{"x":1}' });
    expect(store.lookup('k1', KEY, 'f1')).toEqual({ kind: 'replay', body: '{"x":1}' });
    expect(store.lookup('k1', KEY.toUpperCase(), 'f1').kind).toBe('replay');
    expect(store.lookup('k1', KEY, 'f2')).toEqual({ kind: 'mismatch' });
    expect(store.lookup('k2', KEY, 'f1')).toEqual({ kind: 'new' });
    store.reset();
    expect(store.lookup('k1', KEY, 'f1')).toEqual({ kind: 'new' });
  });
});
