/** Which grid a schedule runs on, from its phase learner (pure, table-tested). */
import { chooseGrid, type GridInputs } from '../../../src/schedule/window-grid';

const T0 = 1_800_000_000_000;

function inputs(overrides: Partial<GridInputs> = {}): GridInputs {
  return {
    limitPerWindow: 30,
    windowMs: 1000,
    safety: 0.95,
    slidingToleranceMs: 26.3,
    slidingLateMs: 62.6,
    learning: false,
    storeNowMs: T0 + 400,
    clockUncertaintyMs: 0.2,
    ...overrides,
  };
}

describe('window grid', () => {
  test("unsure and no boundary seen: today's sliding-safe schedule", () => {
    const grid = chooseGrid(inputs());
    expect(grid.kind).toBe('sliding-safe');
    expect(grid.intervalMs).toBeCloseTo(1000 / 28.5, 9);
    expect(grid.anchorMs).toBeUndefined();
    expect(grid.sendToleranceMs(T0 + 123)).toBe(26.3);
  });

  test('a boundary seen, not sure yet: the learning rate (28.4/s), no anchor', () => {
    const grid = chooseGrid(inputs({ learning: true }));
    expect(grid.kind).toBe('learning');
    expect(1000 / grid.intervalMs).toBeCloseTo(28.4, 6);
    expect(grid.anchorMs).toBeUndefined();
  });

  test('phase known: 100 % of the limit, slots just after the latest possible boundary', () => {
    const grid = chooseGrid(inputs({ phase: { phaseMs: 250, uncertaintyMs: 3 }, learning: true }));
    expect(grid.kind).toBe('fixed');
    expect(grid.intervalMs).toBeCloseTo(1000 / 30, 9);
    expect(grid.anchorMs! % 1000).toBeCloseTo(253 + 2, 3);
    // The anchor does not move with the clock's uncertainty (each move would re-grid).
    expect(chooseGrid(inputs({ phase: { phaseMs: 250, uncertaintyMs: 3 }, clockUncertaintyMs: 0.7 })).anchorMs).toBe(
      grid.anchorMs,
    );
    expect(Math.abs(grid.anchorMs! - (T0 + 400))).toBeLessThan(1000);
    expect(grid.anchorSlackMs).toBeGreaterThan(5);
    // A re-grid onto it counts in each window the old slots from the earliest boundary (guard and
    // bracket before the first point) less the old slots' lateness.
    expect(grid.anchorWindow).toEqual({ windowMs: 1000, leadMs: 2 + 6 + 62.6 });
  });

  test.each([0, 1])(
    'every slot of a window, released at its tolerance and as late again on the way, lands before the next boundary (grid %i × the slack after the anchor)',
    (slackShare) => {
      const phase = { phaseMs: 250, uncertaintyMs: 3 };
      const grid = chooseGrid(inputs({ phase }));
      const first = grid.anchorMs! + slackShare * grid.anchorSlackMs!;
      const earliestNextBoundary = Math.floor(first / 1000) * 1000 + 247 + 1000;
      for (let j = 0; j < 30; j += 1) {
        const slot = first + j * grid.intervalMs;
        expect(slot + 2 * grid.sendToleranceMs(slot)).toBeLessThanOrEqual(earliestNextBoundary + 1e-6);
        expect(grid.sendToleranceMs(slot)).toBeGreaterThan(slackShare === 0 ? 10 : 5);
        expect(grid.sendToleranceMs(slot)).toBeLessThanOrEqual(26.3);
      }
    },
  );

  test('a clock view too uncertain for the guard keeps the safe grid', () => {
    expect(chooseGrid(inputs({ phase: { phaseMs: 250, uncertaintyMs: 3 }, clockUncertaintyMs: 1.5 })).kind).toBe(
      'sliding-safe',
    );
  });

  test('a phase too vague for the spacing (no room left for lateness) keeps the safe grid', () => {
    const grid = chooseGrid(inputs({ phase: { phaseMs: 250, uncertaintyMs: 16 }, learning: true }));
    expect(grid.kind).toBe('learning');
  });
});
