import {
  decideAdoption,
  observationFrom,
  proposedRates,
  RAISE_CONFIRM_MS,
  type LimitBounds,
  type LimitObservation,
  type ProviderRates,
} from '../../../src/schedule/limit-adoption';

const BOUNDS: LimitBounds = { minPerSecond: 1, maxPerSecond: 30 };
const LAUNCH: ProviderRates = { read: 30, write: 5 };
const CURRENT: ProviderRates = { all: 2 };
const NOW = 1_000_000;

const shared = (limit: number, refused = false): LimitObservation => ({
  operationClass: 'read',
  family: 'shared',
  limitPerSecond: limit,
  refused,
});
const perClass = (operationClass: 'read' | 'write', limit: number, refused = false): LimitObservation => ({
  operationClass,
  family: 'per-class',
  limitPerSecond: limit,
  refused,
});

describe('observationFrom', () => {
  test.each([
    ['a shared limit', { limit: 2, family: 'shared' as const }, 200, shared(2)],
    ['a per-class limit on a 429', { limit: 5, family: 'per-class' as const }, 429, perClass('read', 5, true)],
    ['no family', { limit: 2 }, 200, undefined],
    ['no limit', { remaining: 1, family: 'shared' as const }, 200, undefined],
    ['a zero limit', { limit: 0, family: 'shared' as const }, 200, undefined],
  ])('%s', (_name, report, status, expected) => {
    expect(observationFrom('read', report, status)).toEqual(expected);
  });
});

describe('proposedRates', () => {
  test.each([
    ['shared header: one limit for all', LAUNCH, shared(2), { all: 2 }],
    ['per-class read: write keeps its limit', { read: 20, write: 4 }, perClass('read', 25), { read: 25, write: 4 }],
    [
      'per-class write from shared: read from the initial limits',
      CURRENT,
      perClass('write', 5),
      { read: 30, write: 5 },
    ],
    ['clamped to max', LAUNCH, shared(500), { all: 30 }],
    ['clamped to min', LAUNCH, perClass('write', 0.5), { read: 30, write: 1 }],
  ])('%s', (_name, current, observation, expected) => {
    expect(proposedRates(current, LAUNCH, observation, BOUNDS)).toEqual(expected);
  });

  test('a shared initial leaves the unnamed class at the minimum (nothing known of it)', () => {
    expect(proposedRates(CURRENT, CURRENT, perClass('read', 10), { minPerSecond: 3, maxPerSecond: 30 })).toEqual({
      read: 10,
      write: 3,
    });
  });
});

describe('decideAdoption', () => {
  const decide = (
    current: ProviderRates,
    observation: LimitObservation,
    pending?: { rates: ProviderRates; firstSeenAtMs: number },
    nowMs = NOW,
  ) => decideAdoption({ current, initial: LAUNCH, pending, observation, bounds: BOUNDS, nowMs });

  test('the same limits: keep', () => {
    expect(decide(LAUNCH, perClass('read', 30))).toEqual({ kind: 'keep' });
    expect(decide(CURRENT, shared(2))).toEqual({ kind: 'keep' });
  });

  test('launch → current (2/s for all) lowers every class: adopted at once', () => {
    expect(decide(LAUNCH, shared(2))).toEqual({ kind: 'adopt', rates: CURRENT, reason: 'lower' });
  });

  test('a lower per-class limit: adopted at once', () => {
    expect(decide(LAUNCH, perClass('write', 3))).toEqual({
      kind: 'adopt',
      rates: { read: 30, write: 3 },
      reason: 'lower',
    });
  });

  test('a 429 showing another structure: adopted at once, even when it raises a class', () => {
    // all 2 → per class: read rises to 30 (the initial limits), write to 5; the 429 says the old structure is wrong.
    expect(decide(CURRENT, perClass('read', 30, true))).toEqual({ kind: 'adopt', rates: LAUNCH, reason: 'refused' });
  });

  test('a raise waits for confirmation one provider window later', () => {
    const first = decide(CURRENT, perClass('read', 30));
    expect(first).toEqual({ kind: 'await-confirmation', pending: { rates: LAUNCH, firstSeenAtMs: NOW } });
    const pending = first.kind === 'await-confirmation' ? first.pending : undefined;
    // Too soon: an answer decided before the change could still be in flight.
    expect(decide(CURRENT, perClass('read', 30), pending, NOW + RAISE_CONFIRM_MS - 1)).toEqual({
      kind: 'await-confirmation',
      pending,
    });
    expect(decide(CURRENT, perClass('read', 30), pending, NOW + RAISE_CONFIRM_MS)).toEqual({
      kind: 'adopt',
      rates: LAUNCH,
      reason: 'confirmed',
    });
  });

  test('a different raise restarts the confirmation', () => {
    const pending = { rates: { all: 10 }, firstSeenAtMs: NOW - 5000 };
    expect(decide(CURRENT, shared(12), pending)).toEqual({
      kind: 'await-confirmation',
      pending: { rates: { all: 12 }, firstSeenAtMs: NOW },
    });
  });

  test('a raise beyond the bounds is the bound; already there: keep', () => {
    expect(decide({ all: 30 }, shared(100))).toEqual({ kind: 'keep' });
  });

  test('a lowering below the minimum adopts the minimum', () => {
    expect(
      decideAdoption({
        current: LAUNCH,
        initial: LAUNCH,
        pending: undefined,
        observation: shared(1),
        bounds: { minPerSecond: 2, maxPerSecond: 30 },
        nowMs: NOW,
      }),
    ).toEqual({
      kind: 'adopt',
      rates: { all: 2 },
      reason: 'lower',
    });
  });
});
