import type { RecordedRequest } from '../../../src/sandbox/describe-request';
import type { AuthenticatedKey } from '../../../src/sandbox/keys';
import { Referee } from '../../../src/sandbox/referee';

const KEY: AuthenticatedKey = { id: 'x'.repeat(64), label: 'team-a:owner:12345678', team: 'team-a', role: 'owner' };
const OTHER: AuthenticatedKey = { id: 'y'.repeat(64), label: 'team-b:owner:87654321', team: 'team-b', role: 'owner' };
const SETTINGS = {
  profile: 'launch' as const,
  window: 'fixed' as const,
  windowPhaseMs: 0,
  limitsPerSecond: { read: 30, write: 5 },
};
const REQUEST: RecordedRequest = {
  receivedAt: '2026-04-20T10:00:00Z',
  method: 'GET',
  target: '/api/v1/regions',
  headers: {},
  rawHeaders: [],
  key: null,
};

describe('Referee', () => {
  let referee: Referee;
  beforeEach(() => {
    referee = new Referee(SETTINGS, () => 0);
  });

  it('computes per class and all: admitted, rejected, fixed and sliding maxima', () => {
    for (const t of [900, 950, 1000, 1050]) referee.rateDecision(KEY, 'read', true, t);
    referee.rateDecision(KEY, 'write', true, 1100);
    referee.rateDecision(KEY, 'write', false, 1100);
    expect(referee.stats().keys[KEY.label]!.classes).toEqual({
      read: { admitted: 4, rejected: 0, maxAdmittedInFixedWindow: 2, maxAdmittedInSlidingWindow: 4 },
      write: { admitted: 1, rejected: 1, maxAdmittedInFixedWindow: 1, maxAdmittedInSlidingWindow: 1 },
      all: { admitted: 5, rejected: 1, maxAdmittedInFixedWindow: 3, maxAdmittedInSlidingWindow: 5 },
    });
    expect(referee.stats(950).keys[KEY.label]!.classes.read.maxAdmittedInFixedWindow).toBe(3);
  });

  it('lists every rate decision since an instant, admitted and 429, in time order, only when asked', () => {
    referee.rateDecision(KEY, 'read', true, 990);
    referee.rateDecision(KEY, 'read', true, 1200);
    referee.rateDecision(OTHER, 'write', false, 1100);
    referee.rateDecision(KEY, 'write', true, 1000);
    referee.rateDecision(KEY, 'read', false, 1200);
    expect(referee.stats().decisions).toBeUndefined();
    expect(referee.stats(undefined, 1000).decisions).toEqual([
      { atMs: 1000, key: KEY.label, class: 'write', admitted: true },
      { atMs: 1100, key: OTHER.label, class: 'write', admitted: false },
      { atMs: 1200, key: KEY.label, class: 'read', admitted: true },
      { atMs: 1200, key: KEY.label, class: 'read', admitted: false },
    ]);
    expect(referee.stats().keys[KEY.label]!.classes.read.rejected).toBe(1);
  });

  it('handles instants recorded out of order', () => {
    for (const t of [2000, 100, 1050, 0]) referee.rateDecision(KEY, 'read', true, t);
    expect(referee.stats().keys[KEY.label]!.classes.read.maxAdmittedInSlidingWindow).toBe(2);
  });

  it('counts duplicate creates per API key and idempotency key; the first create is not a duplicate', () => {
    referee.createPerformed(KEY, 'AAAA');
    referee.createPerformed(KEY, 'aaaa');
    referee.createPerformed(KEY, 'aaaa');
    referee.createPerformed(KEY, 'bbbb');
    referee.createPerformed(OTHER, 'aaaa');
    const stats = referee.stats();
    expect(stats.duplicateCreates).toEqual({ total: 2, byKey: { [KEY.label]: { aaaa: 2 } } });
    expect(stats.keys[KEY.label]!.createsPerformed).toBe(4);
  });

  it('keeps the last request overall and per key', () => {
    referee.received(REQUEST);
    expect(referee.stats().lastRequest).toEqual(REQUEST);
    referee.receivedFor(KEY, { ...REQUEST, target: '/api/v1/images' });
    referee.received({ ...REQUEST, target: '/api/v1/x' });
    const stats = referee.stats();
    expect(stats.lastRequest!.target).toBe('/api/v1/x');
    expect(stats.keys[KEY.label]!.lastRequest).toMatchObject({ target: '/api/v1/images', key: KEY.label });
  });

  it('builds a sorted per-second timeline', () => {
    referee.rateDecision(OTHER, 'read', true, 2500);
    referee.rateDecision(KEY, 'read', true, 1999);
    referee.rateDecision(KEY, 'read', false, 1000);
    expect(referee.stats().timeline).toEqual([
      { second: 1, key: KEY.label, class: 'read', admitted: 1, rejected: 1 },
      { second: 2, key: OTHER.label, class: 'read', admitted: 1, rejected: 0 },
    ]);
  });

  it('counts faults and unauthenticated requests; reset zeroes everything', () => {
    referee.faultInjected('drop');
    referee.unauthenticatedRequest();
    referee.rateDecision(KEY, 'read', true, 0);
    expect(referee.stats()).toMatchObject({ faultsInjected: { error: 0, drop: 1, slow: 0 }, unauthenticated: 1 });
    referee.reset();
    expect(referee.stats()).toMatchObject({
      keys: {},
      timeline: [],
      lastRequest: null,
      unauthenticated: 0,
      faultsInjected: { drop: 0 },
    });
  });
});
