/** Which grid a schedule runs on, from its phase learner (pure, table-tested). */
import { ANCHOR_TOLERANCE_MS } from '../../../src/schedule/calendar';
import { chooseGrid, type GridInputs } from '../../../src/schedule/window-grid';

const T0 = 1_800_000_000_000;

function inputs(overrides: Partial<GridInputs> = {}): GridInputs {
  return {
    limitPerWindow: 30,
    windowMs: 1000,
    safety: 0.95,
    slidingToleranceMs: 26.3,
    learning: false,
    storeNowMs: T0 + 400,
    clockUncertaintyMs: 0.2,
    ...overrides,
  };
}

describe('window grid', () => {
  test("unsure and no boundary seen: today's sliding-safe schedule", () => {
    expect(chooseGrid(inputs())).toEqual({ kind: 'sliding-safe', intervalMs: 1000 / 28.5, sendToleranceMs: 26.3 });
  });

  test('a boundary seen, not sure yet: the learning rate (28.382/s), no anchor', () => {
    const grid = chooseGrid(inputs({ learning: true }));
    expect(grid.kind).toBe('learning');
    expect(1000 / grid.intervalMs).toBeCloseTo(28.382, 6);
    expect(grid.anchorMs).toBeUndefined();
  });

  test('phase known: 100 % of the limit, slots just after the latest possible boundary, lateness within the rest', () => {
    const grid = chooseGrid(inputs({ phase: { phaseMs: 250, uncertaintyMs: 3 }, learning: true }));
    expect(grid.kind).toBe('fixed');
    expect(grid.intervalMs).toBeCloseTo(1000 / 30, 9);
    const guard = ANCHOR_TOLERANCE_MS + 0.2 + 1;
    expect(grid.anchorMs! % 1000).toBeCloseTo(253 + guard, 3);
    expect(Math.abs(grid.anchorMs! - (T0 + 400))).toBeLessThan(1000);
    // The last slot of a window, sent late by the whole budget (release tolerance twice), still
    // lands before the earliest the next boundary can be, even on a grid ANCHOR_TOLERANCE_MS later.
    const lastSlot = grid.anchorMs! + ANCHOR_TOLERANCE_MS + 29 * grid.intervalMs;
    const earliestNextBoundary = grid.anchorMs! - guard - 2 * 3 + 1000;
    expect(lastSlot + 2 * grid.sendToleranceMs).toBeLessThanOrEqual(earliestNextBoundary + 1e-9);
    expect(grid.sendToleranceMs).toBeGreaterThan(10);
  });

  test('a configured release tolerance caps the fixed grid too', () => {
    const grid = chooseGrid(inputs({ phase: { phaseMs: 250, uncertaintyMs: 3 }, configuredToleranceMs: 5 }));
    expect(grid.sendToleranceMs).toBe(5);
  });

  test('a phase too vague for the spacing (no room left for lateness) keeps the safe grid', () => {
    const grid = chooseGrid(inputs({ phase: { phaseMs: 250, uncertaintyMs: 15 }, learning: true }));
    expect(grid.kind).toBe('learning');
  });
});
