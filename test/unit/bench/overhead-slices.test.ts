import { addSlice, emptyTotals, phaseOf, type SliceTotals } from '../../../bench/overhead-slices';

const slice = (over: Partial<SliceTotals>): SliceTotals => ({ ...emptyTotals(), ...over });
const threads = (client: number, upstream: number, front: number) => ({ client, upstream, front });

describe('bench:overhead slices added up', () => {
  it('a target measured in two slices reads as one phase of both', () => {
    const totals = emptyTotals();
    addSlice(
      totals,
      slice({
        latenciesMs: [1, 3],
        elapsedMs: 500,
        activeMs: threads(100, 200, 450),
        idleMs: threads(400, 300, 50),
        cpuNs: threads(1e6, 2e6, 4e6),
        waitNs: threads(50e6, 0, 100e6),
        redisCpuNs: 2e6,
        redisCalls: 1,
        errorCount: 1,
        errorReasons: ['timeout'],
      }),
    );
    addSlice(
      totals,
      slice({
        latenciesMs: [2, 4],
        elapsedMs: 1500,
        activeMs: threads(300, 600, 1350),
        idleMs: threads(1200, 900, 150),
        cpuNs: threads(3e6, 6e6, 12e6),
        waitNs: threads(150e6, 0, 300e6),
        redisCpuNs: 6e6,
        redisCalls: 2,
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
    // redis-server: 8 ms over 4 answers.
    expect(phase.redisCpuUsPerRequest).toBe(2000);
    expect(phase.redisCallsPerRequest).toBe(0.75);
  });

  it('a thread whose CPU time the OS does not report stays unknown (NaN), not zero', () => {
    const totals = emptyTotals();
    addSlice(
      totals,
      slice({ latenciesMs: [1], elapsedMs: 10, cpuNs: { client: Number.NaN, upstream: 1e3, front: 1e3 } }),
    );
    expect(phaseOf(totals).cpuUsPerRequest.client).toBeNaN();
    addSlice(totals, slice({ latenciesMs: [1], elapsedMs: 10, redisCpuNs: Number.NaN }));
    expect(phaseOf(totals).redisCpuUsPerRequest).toBeNaN();
  });
});
