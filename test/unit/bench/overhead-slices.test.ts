import { addSlice, emptyTotals, phaseOf, type SliceTotals } from '../../../bench/overhead-slices';

const slice = (over: Partial<SliceTotals>): SliceTotals => ({ ...emptyTotals(), ...over });

describe('bench:overhead slices added up', () => {
  it('a target measured in two slices reads as one phase of both', () => {
    const totals = emptyTotals();
    addSlice(
      totals,
      slice({
        latenciesMs: [1, 3],
        elapsedMs: 500,
        activeMs: { client: 100, upstream: 200, front: 450 },
        idleMs: { client: 400, upstream: 300, front: 50 },
        cpuNs: { client: 1e6, upstream: 2e6, front: 4e6 },
        waitNs: { client: 50e6, upstream: 0, front: 100e6 },
        errorCount: 1,
        errorReasons: ['timeout'],
      }),
    );
    addSlice(
      totals,
      slice({
        latenciesMs: [2, 4],
        elapsedMs: 1500,
        activeMs: { client: 300, upstream: 600, front: 1350 },
        idleMs: { client: 1200, upstream: 900, front: 150 },
        cpuNs: { client: 3e6, upstream: 6e6, front: 12e6 },
        waitNs: { client: 150e6, upstream: 0, front: 300e6 },
        errorCount: 2,
        errorReasons: ['timeout', 'status 502'],
      }),
    );
    const phase = phaseOf(totals);
    expect(phase.okCount).toBe(4);
    expect(phase.errorCount).toBe(3);
    expect(phase.errorReasons).toEqual(['timeout', 'status 502']);
    expect(phase.elapsedMs).toBe(2000);
    expect(phase.requestsPerSecond).toBe(2);
    expect(phase.p50Ms).toBe(2);
    expect(phase.maxMs).toBe(4);
    // Utilisation over the whole time, not the mean of the slices' (0.2 and 0.2 here, 0.9 and 0.9).
    expect(phase.utilization).toEqual({ client: 0.2, upstream: 0.4, front: 0.9 });
    // 16 ms of the front thread's CPU over 4 answers.
    expect(phase.cpuUsPerRequest).toEqual({ client: 1000, upstream: 2000, front: 4000 });
    expect(phase.waitingForCpu).toEqual({ client: 0.1, upstream: 0, front: 0.2 });
  });

  it('a thread whose CPU time the OS does not report stays unknown (NaN), not zero', () => {
    const totals = emptyTotals();
    addSlice(
      totals,
      slice({ latenciesMs: [1], elapsedMs: 10, cpuNs: { client: Number.NaN, upstream: 1e3, front: 1e3 } }),
    );
    expect(phaseOf(totals).cpuUsPerRequest.client).toBeNaN();
  });
});
