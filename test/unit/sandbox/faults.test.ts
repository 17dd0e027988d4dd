import { FaultControl, NO_FAULTS, faultPatchSchema, planResponse } from '../../../src/sandbox/faults';
import { seededRandom } from '../../../src/sandbox/random';

/** A scripted source: returns the given numbers in order. */
const script = (...values: number[]) => {
  const queue = [...values];
  return () => {
    const next = queue.shift();
    if (next === undefined) throw new Error('script exhausted');
    return next;
  };
};

describe('planResponse', () => {
  const settings = { errorRate: 0.1, dropRate: 0.2, slowRate: 0.3, slowMs: 100, latencyMs: 10, jitterMs: 50 };

  it('draws error, drop, slow, then jitter, in that order', () => {
    expect(planResponse(settings, script(0.05, 0.9, 0.9, 0.5), true)).toEqual({
      error: true,
      drop: false,
      slow: false,
      delayMs: 35,
    });
    expect(planResponse(settings, script(0.5, 0.1, 0.2, 0), true)).toEqual({
      error: false,
      drop: true,
      slow: true,
      delayMs: 110,
    });
  });

  it('an error is never also a drop', () => {
    expect(planResponse(settings, script(0, 0, 0.9, 0), true)).toMatchObject({ error: true, drop: false });
  });

  it('responses before admission only get latency and jitter (one draw)', () => {
    expect(planResponse(settings, script(0.99), false)).toEqual({
      error: false,
      drop: false,
      slow: false,
      delayMs: 59,
    });
  });

  it('no jitter draw when jitterMs is 0', () => {
    expect(planResponse(NO_FAULTS, script(0.5, 0.5, 0.5), true)).toEqual({
      error: false,
      drop: false,
      slow: false,
      delayMs: 0,
    });
  });
});

describe('seededRandom', () => {
  it('is repeatable, seed-dependent and in [0, 1)', () => {
    const a = seededRandom(1);
    const b = seededRandom(1);
    const c = seededRandom(2);
    const xs = Array.from({ length: 1000 }, () => a());
    expect(Array.from({ length: 1000 }, () => b())).toEqual(xs);
    expect(c()).not.toBe(xs[0]);
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.05);
  });
});

describe('FaultControl', () => {
  it('applies partial patches and resets to the startup values', () => {
    const control = new FaultControl({ ...NO_FAULTS, latencyMs: 7 });
    expect(control.apply({ errorRate: 0.5 })).toMatchObject({ errorRate: 0.5, latencyMs: 7 });
    control.reset();
    expect(control.get()).toEqual({ ...NO_FAULTS, latencyMs: 7 });
  });

  it.each([{ errorRate: 1.1 }, { slowMs: -1 }, { jitterMs: 0.5 }, { nope: 1 }, { dropRate: '0.5' }])(
    'the patch schema refuses %j',
    (patch) => {
      expect(faultPatchSchema.safeParse(patch).success).toBe(false);
    },
  );
});
