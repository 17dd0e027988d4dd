import { FixedWindows, SlidingWindows } from '../../../src/sandbox/rate-windows';

const admitted = (w: FixedWindows | SlidingWindows, n: number, atMs: number, limit = 3) => {
  let count = 0;
  for (let i = 0; i < n; i++) if (w.tryAdmit('k', limit, atMs).admitted) count++;
  return count;
};

describe('FixedWindows', () => {
  it('admits the limit per window and restarts at the boundary', () => {
    const w = new FixedWindows(0);
    expect(admitted(w, 5, 999)).toBe(3);
    expect(admitted(w, 5, 1000)).toBe(3);
  });

  it('reports remaining and the window end; refusals say how long to wait', () => {
    const w = new FixedWindows(0);
    expect(w.tryAdmit('k', 2, 1200)).toEqual({ admitted: true, remaining: 1, resetAtMs: 2000 });
    expect(w.tryAdmit('k', 2, 1300)).toEqual({ admitted: true, remaining: 0, resetAtMs: 2000 });
    expect(w.tryAdmit('k', 2, 1750)).toEqual({ admitted: false, remaining: 0, resetAtMs: 2000, retryAfterMs: 250 });
  });

  it('starts windows at the phase offset', () => {
    const w = new FixedWindows(300);
    expect(w.tryAdmit('k', 1, 1299)).toMatchObject({ admitted: true, resetAtMs: 1300 });
    expect(w.tryAdmit('k', 1, 1300)).toMatchObject({ admitted: true, resetAtMs: 2300 });
    expect(w.tryAdmit('k', 1, 2299).admitted).toBe(false);
  });

  it('keeps counters apart and rejections do not count', () => {
    const w = new FixedWindows(0);
    admitted(w, 10, 0);
    expect(w.tryAdmit('other', 3, 0).admitted).toBe(true);
    w.reset();
    expect(admitted(w, 3, 0)).toBe(3);
  });
});

describe('SlidingWindows', () => {
  it('counts exactly the last 1000 ms: an instant leaves at t + 1000', () => {
    const w = new SlidingWindows();
    expect(admitted(w, 3, 100)).toBe(3);
    expect(w.tryAdmit('k', 3, 1099)).toEqual({ admitted: false, remaining: 0, resetAtMs: 1100, retryAfterMs: 1 });
    expect(w.tryAdmit('k', 3, 1100)).toEqual({ admitted: true, remaining: 2, resetAtMs: 2100 });
  });

  it('never admits more than the limit in any 1000 ms span, however requests arrive', () => {
    const w = new SlidingWindows();
    const admittedAt: number[] = [];
    for (let t = 0; t < 5000; t += 7) if (w.tryAdmit('k', 5, t).admitted) admittedAt.push(t);
    for (const start of admittedAt)
      expect(admittedAt.filter((t) => t >= start && t < start + 1000).length).toBeLessThanOrEqual(5);
  });

  it('rejections do not extend the wait', () => {
    const w = new SlidingWindows();
    admitted(w, 3, 0);
    for (let t = 100; t < 1000; t += 100) expect(w.tryAdmit('k', 3, t).admitted).toBe(false);
    expect(admitted(w, 3, 1000)).toBe(3);
  });

  it('reports when the next slot frees while admitting', () => {
    const w = new SlidingWindows();
    expect(w.tryAdmit('k', 3, 100)).toEqual({ admitted: true, remaining: 2, resetAtMs: 1100 });
    expect(w.tryAdmit('k', 3, 400)).toEqual({ admitted: true, remaining: 1, resetAtMs: 1100 });
  });
});
