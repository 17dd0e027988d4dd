import { restartPlan } from '../../../bench/fleet/restart-plan';

describe('restartPlan', () => {
  it('restarts three replicas one at a time at 1/4, 2/4 and 3/4 of the phase', () => {
    expect(restartPlan(20_000, 3)).toEqual([
      { replica: 0, atMs: 5000 },
      { replica: 1, atMs: 10_000 },
      { replica: 2, atMs: 15_000 },
    ]);
  });

  it('spreads any number of replicas evenly inside the phase', () => {
    expect(restartPlan(10_000, 1)).toEqual([{ replica: 0, atMs: 5000 }]);
    expect(restartPlan(10_000, 4).map((r) => r.atMs)).toEqual([2000, 4000, 6000, 8000]);
    expect(restartPlan(10_000, 0)).toEqual([]);
  });
});
