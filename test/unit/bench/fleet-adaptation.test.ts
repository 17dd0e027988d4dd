import { adaptationFigures, type ArrivalRecord } from '../../../bench/fleet/adaptation';

const SWITCH = 10_000;
const END = 20_000;
/** Arrivals at these instants, admitted unless listed in `refused`. */
const arrivals = (atMs: number[], refused: number[] = []): ArrivalRecord[] =>
  atMs.map((t) => ({ atMs: t, admitted: !refused.includes(t) }));
/** `perSecond` evenly spaced arrivals per second over [from, to). */
const steady = (from: number, to: number, perSecond: number): number[] => {
  const step = 1000 / perSecond;
  const out: number[] = [];
  for (let t = from; t < to; t += step) out.push(Math.round(t));
  return out;
};

describe('bench:fleet limits-auto adaptation (from the referee’s decisions)', () => {
  it('a fleet already within the new limit at the switch adapted after 0 ms and uses it after', () => {
    const a = adaptationFigures(arrivals(steady(SWITCH, END, 1.9)), SWITCH, END, 2);
    expect(a).toMatchObject({ adaptationMs: 0, settled: true, overLimitWindows: 0, upstream429: 0, maxInAnySecond: 2 });
    expect(a.arrivals).toBe(19);
    expect(a.admittedPerSecondAfter).toBeCloseTo(1.9, 5);
    expect(a.utilizationAfter).toBeCloseTo(0.95, 5);
  });

  it('adapted one millisecond after the start of the last window above the limit', () => {
    // Launch pace for 40 ms after the switch (10 000, 10 029, and 10 040 refused), then 2/s from 11 100.
    const times = [SWITCH, SWITCH + 29, SWITCH + 40, ...steady(SWITCH + 1100, END, 2)];
    const a = adaptationFigures(arrivals(times, [SWITCH + 40]), SWITCH, END, 2);
    // The window from 10 000 holds 3; the one from 10 029 only 10 029 and 10 040 (11 100 is outside it).
    expect(a).toMatchObject({ overLimitWindows: 1, maxInAnySecond: 3, adaptationMs: 1, upstream429: 1, settled: true });
  });

  it('a late burst moves the adaptation to that window, whatever came before', () => {
    const burst = [SWITCH + 1500, SWITCH + 1600, SWITCH + 1700];
    const a = adaptationFigures(arrivals([SWITCH + 100, ...burst, SWITCH + 4000]), SWITCH, END, 2);
    expect(a).toMatchObject({ overLimitWindows: 1, adaptationMs: 1501, maxInAnySecond: 3 });
    // Over 1 501 ms → 20 000: the burst's last two and the one at 14 000 are admitted after t*.
    expect(a.admittedPerSecondAfter).toBeCloseTo(3 / 8.499, 5);
  });

  it('counts refused requests as arrivals: a 429 in a window is one arrival too many', () => {
    const a = adaptationFigures(arrivals([SWITCH + 10, SWITCH + 20, SWITCH + 30], [SWITCH + 30]), SWITCH, END, 2);
    expect(a).toMatchObject({ arrivals: 3, upstream429: 1, overLimitWindows: 1, adaptationMs: 11 });
  });

  it('a window is half-open: arrivals exactly 1000 ms apart are in different windows', () => {
    const a = adaptationFigures(arrivals([SWITCH, SWITCH + 500, SWITCH + 1000, SWITCH + 1500]), SWITCH, END, 2);
    expect(a).toMatchObject({ overLimitWindows: 0, adaptationMs: 0, maxInAnySecond: 2 });
  });

  it('ignores arrivals before the switch and after the end, and does not depend on their order', () => {
    const times = [SWITCH - 5, SWITCH - 1, SWITCH + 200, SWITCH + 300, SWITCH + 400, END, END + 1];
    const a = adaptationFigures(arrivals(times.reverse()), SWITCH, END, 2);
    expect(a).toMatchObject({ arrivals: 3, overLimitWindows: 1, adaptationMs: 201 });
  });

  it('still above the limit when the load ends: not settled', () => {
    const times = steady(SWITCH, END, 5);
    const a = adaptationFigures(arrivals(times), SWITCH, END, 2);
    expect(a.settled).toBe(false);
    expect(a.adaptationMs).toBeGreaterThan(END - SWITCH - 1000);
  });
});
