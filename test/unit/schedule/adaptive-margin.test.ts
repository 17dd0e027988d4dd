import {
  ADAPTIVE_MARGIN_DEFAULTS,
  AdaptiveMargin,
  DEFAULT_SAFETY_BOUNDS,
  quantiseDown,
  safetyBoundsProblem,
  safetyForDelay,
  type AdaptiveMarginTuning,
} from '../../../src/schedule/adaptive-margin';
import { sendBudgetMs } from '../../../src/schedule/intervals';
import { SampleWindow } from '../../../src/schedule/sample-window';

const tuning = (overrides: Partial<AdaptiveMarginTuning> = {}): AdaptiveMarginTuning => ({
  ...ADAPTIVE_MARGIN_DEFAULTS,
  ...overrides,
});

/** `count` releases `lateMs` late, one every `everyMs`, from `fromMs`; answers the instant after the last. */
function feed(margin: AdaptiveMargin, fromMs: number, count: number, lateMs: (i: number) => number, everyMs = 10) {
  for (let i = 0; i < count; i++) margin.recordReleaseLate(fromMs + i * everyMs, lateMs(i));
  return fromMs + count * everyMs;
}

describe('SampleWindow', () => {
  it('answers nearest-rank quantiles', () => {
    const w = new SampleWindow(1000);
    for (let v = 1; v <= 100; v++) w.add(v, v);
    expect(w.quantile(0.99)).toBe(99);
    expect(w.quantile(0.5)).toBe(50);
    expect(w.quantile(1)).toBe(100);
    expect(new SampleWindow(4).quantile(0.99)).toBeNaN();
  });

  it('keeps only the most recent samples of a full ring', () => {
    const w = new SampleWindow(3);
    for (const v of [50, 1, 2, 3]) w.add(v, v);
    expect(w.size).toBe(3);
    expect(w.quantile(1)).toBe(3);
  });

  it('forgets samples older than the window, and keeps filling afterwards', () => {
    const w = new SampleWindow(4);
    for (const at of [10, 20, 30, 40]) w.add(at, at);
    w.dropBefore(25);
    expect(w.size).toBe(2);
    expect(w.quantile(0.5)).toBe(30);
    w.add(50, 50);
    w.add(60, 60);
    w.add(70, 70);
    expect(w.size).toBe(4);
    expect(w.quantile(0.01)).toBe(40);
  });
});

describe('safety arithmetic', () => {
  it.each([
    [0, 1],
    [10, 1000 / 1010],
    [52.63, 1000 / 1052.63],
  ])('a delay of %p ms needs safety W / (W + D) = %p', (delayMs, safety) => {
    expect(safetyForDelay(delayMs)).toBeCloseTo(safety, 10);
    // The send budget of that safety is the delay itself.
    expect(sendBudgetMs(safetyForDelay(delayMs))).toBeCloseTo(delayMs, 6);
  });

  it.each([
    [0.99, 0.99],
    [0.9925, 0.9925],
    [0.99499, 0.9925],
    [0.9524, 0.95],
  ])('quantises %p down to %p', (safety, quantised) => {
    expect(quantiseDown(safety, 0.0025)).toBe(quantised);
  });

  it.each([
    [{ min: 0.9, max: 0.995 }, undefined],
    [{ min: 0.99, max: 0.95 }, 'min (0.99) must not exceed max (0.95)'],
    [{ min: 0.9, max: 1 }, 'max must be in (0, 0.995], got 1'],
    [{ min: 0, max: 0.99 }, 'min must be in (0, 1], got 0'],
  ])('bounds %p: %p', (bounds, problem) => {
    expect(safetyBoundsProblem(bounds)).toBe(problem);
  });
});

describe('AdaptiveMargin', () => {
  it('starts at the safe default and holds it until enough samples', () => {
    const margin = new AdaptiveMargin(DEFAULT_SAFETY_BOUNDS, tuning({ minSamples: 100 }));
    expect(margin.safety).toBe(0.95);
    expect(margin.sendToleranceMs).toBeCloseTo(sendBudgetMs(0.95) - 2, 6);
    const t = feed(margin, 0, 99, () => 0.5);
    expect(margin.evaluate(t)).toBeUndefined();
    expect(margin.safety).toBe(0.95);
  });

  it('starts within the bounds when the default lies outside them', () => {
    expect(new AdaptiveMargin({ min: 0.97, max: 0.99 }).safety).toBe(0.97);
    expect(new AdaptiveMargin({ min: 0.8, max: 0.9 }).safety).toBe(0.9);
  });

  it('sizes the safety from the high percentile of both delays, with headroom', () => {
    const margin = new AdaptiveMargin(DEFAULT_SAFETY_BOUNDS, tuning({ raiseHoldMs: 0 }));
    // 99 % of releases 2 ms late, the rest 40 ms: p99 is 2 ms. Release-to-wire: 1 ms.
    let t = feed(margin, 0, 200, (i) => (i % 100 === 99 ? 40 : 2));
    for (let i = 0; i < 200; i++) margin.recordWireDelay(i * 10, 1);
    margin.evaluate(t);
    t += 1000;
    const change = margin.evaluate(t);
    // (2 + 1) × 1.25 + 1 + 2 (network) = 6.75 ms → 1000 / 1006.75 = 0.99329… → 0.9925.
    expect(margin.target).toMatchObject({ releaseLateMs: 2, wireDelayMs: 1, neededMs: 6.75, safety: 0.9925 });
    expect(change).toMatchObject({ from: 0.95, to: 0.9925 });
    expect(margin.safety).toBe(0.9925);
    // The tolerance is what the budget leaves after the network's part: consistent with the safety.
    expect(margin.sendToleranceMs).toBeCloseTo(sendBudgetMs(0.9925) - 2, 6);
  });

  it('never goes above max or below min', () => {
    const high = new AdaptiveMargin({ min: 0.9, max: 0.99 }, tuning({ raiseHoldMs: 0 }));
    let t = feed(high, 0, 200, () => 0);
    high.evaluate(t);
    high.evaluate(t + 1000);
    expect(high.safety).toBe(0.99);

    const low = new AdaptiveMargin({ min: 0.93, max: 0.995 }, tuning());
    t = feed(low, 0, 200, () => 300);
    low.evaluate(t);
    expect(low.safety).toBe(0.93);
  });

  it('lowers at once when the measured delay grows (an injected dispatch jitter)', () => {
    const margin = new AdaptiveMargin(DEFAULT_SAFETY_BOUNDS, tuning({ raiseHoldMs: 0 }));
    let t = feed(margin, 0, 300, () => 1);
    margin.evaluate(t);
    margin.evaluate((t += 1000));
    expect(margin.safety).toBeGreaterThanOrEqual(0.99);
    // A busy CPU: releases 30–40 ms late from now on.
    t = feed(margin, t, 300, (i) => 30 + (i % 11));
    const change = margin.evaluate(t);
    expect(change?.to).toBeLessThan(0.96);
    expect(margin.safety).toBe(change?.to);
    // The new budget covers the measured delay with its headroom.
    expect(sendBudgetMs(margin.safety)).toBeGreaterThanOrEqual(margin.target!.neededMs);
  });

  it('raises only after the higher target held for raiseHoldMs, to the lowest target seen meanwhile', () => {
    const margin = new AdaptiveMargin(DEFAULT_SAFETY_BOUNDS, tuning({ raiseHoldMs: 5000, windowMs: 2000 }));
    let t = feed(margin, 0, 200, () => 1);
    margin.evaluate(t);
    expect(margin.safety).toBe(0.95); // asked for more: the hold starts
    t = feed(margin, t, 200, () => 3, 10); // a little slower meanwhile: a lower target
    margin.evaluate(t);
    const lowerTarget = margin.target!.safety;
    t = feed(margin, t, 200, () => 1, 10);
    margin.evaluate(t);
    expect(margin.safety).toBe(0.95);
    t += 3000;
    feed(margin, t - 2000, 200, () => 1, 10);
    const change = margin.evaluate(t);
    expect(change?.to).toBe(lowerTarget);
    expect(lowerTarget).toBeGreaterThan(0.95);
  });

  it('stays put while the target gains less than raiseMinGain (each change costs a re-grid)', () => {
    const margin = new AdaptiveMargin(DEFAULT_SAFETY_BOUNDS, tuning({ raiseHoldMs: 0, windowMs: 2000 }));
    // 13 ms late: 13 × 1.25 + 3 = 19.25 ms needed → 0.98111… → 0.98.
    let t = feed(margin, 0, 200, () => 13);
    margin.evaluate(t);
    margin.evaluate((t += 1000));
    const settled = margin.safety;
    expect(settled).toBe(0.98);
    // A delay asking for three steps (0.75 %) more than now: no change, however long it lasts.
    const threeStepsUpMs = sendBudgetMs(settled + 0.0075) - 0.01;
    const releaseLateMs = (threeStepsUpMs - 3) / 1.25;
    for (let k = 0; k < 5; k++) {
      t = feed(margin, t, 200, () => releaseLateMs);
      expect(margin.evaluate((t += 1000))).toBeUndefined();
    }
    expect(margin.safety).toBe(settled);
    expect(margin.target?.safety).toBe(0.9875);
  });

  it('lowers by one step only after lowerHoldMs (one slow release must not move the fleet grid)', () => {
    const margin = new AdaptiveMargin(DEFAULT_SAFETY_BOUNDS, tuning({ raiseHoldMs: 0, lowerHoldMs: 1000 }));
    let t = feed(margin, 0, 200, () => 4); // 8 ms needed → 0.99
    margin.evaluate(t);
    margin.evaluate((t += 1000));
    expect(margin.safety).toBe(0.99);
    // Now asking for one step less (0.9875): budget(0.99) + a little.
    const releaseLateMs = (sendBudgetMs(0.99) + 0.05 - 3) / 1.25;
    t = feed(margin, t, 3000, () => releaseLateMs, 1);
    expect(margin.evaluate(t)).toBeUndefined();
    expect(margin.target?.safety).toBe(0.9875);
    expect(margin.evaluate(t + 600)).toBeUndefined();
    expect(margin.evaluate(t + 1200)?.to).toBe(0.9875);
  });

  it('evaluates at most every evaluateEveryMs', () => {
    const margin = new AdaptiveMargin(DEFAULT_SAFETY_BOUNDS, tuning({ evaluateEveryMs: 500 }));
    const t = feed(margin, 0, 200, () => 1);
    margin.evaluate(t);
    feed(margin, t, 200, () => 80);
    expect(margin.evaluate(t + 100)).toBeUndefined();
    expect(margin.evaluate(t + 500)?.to).toBeLessThan(0.95);
  });

  it('rejects invalid bounds', () => {
    expect(() => new AdaptiveMargin({ min: 0.99, max: 0.9 })).toThrow(/min \(0.99\) must not exceed max/);
  });
});
