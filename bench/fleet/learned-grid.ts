/**
 * The window phase learner as the gateways logged it (pure; `--learn-window-phase`): when the
 * fleet settled on the fixed-window grid, and the provider's use of its limit from then on. The
 * learning time and the use after it are the two figures issue #15 asks of a fixed-window provider
 * of unknown phase (the sliding-safe schedule runs while unsure).
 */
import { wholeSeconds, type ClassFigures } from './figures';
import { logEntries } from './log-entries';

/** What `src/schedule/rate-schedule.ts` logs at info on each grid change. */
export const GRID_LOG_MESSAGE = 'rate schedule: grid changed (window phase learner)';

export interface LearnedGrid {
  /** Grid changes logged for this class, every gateway together. */
  changes: number;
  /** Since the phase started: the last gateway's last change, when each one's last is to `fixed`; else null. */
  settledAfterMs: number | null;
  /** Whole seconds of the phase after the settling second. */
  secondsAfter: number;
  /** Admitted per second over those seconds ÷ the limit; null when not settled or no whole second was left. */
  utilizationAfter: number | null;
}

/**
 * `logTexts`: one per gateway. `figures.timeline` counts seconds from the phase's first whole
 * second (`startedAtMs` floored), as the referee dates admissions.
 */
export function learnedGrid(
  logTexts: readonly string[],
  kind: 'read' | 'write',
  figures: Pick<ClassFigures, 'timeline' | 'limitPerSecond'>,
  startedAtMs: number,
  endedAtMs: number,
): LearnedGrid {
  let changes = 0;
  const lastPerGateway = logTexts.map((text) => {
    let last: { grid: string; atMs: number } | undefined;
    for (const { entry, atMs } of logEntries(text, GRID_LOG_MESSAGE)) {
      if (typeof entry.schedule !== 'string' || !entry.schedule.endsWith(`:${kind}}`)) continue;
      changes += 1;
      last = { grid: String(entry.grid), atMs };
    }
    return last;
  });
  const settledAtMs = lastPerGateway.every((l) => l?.grid === 'fixed' && Number.isFinite(l.atMs))
    ? Math.max(...lastPerGateway.map((l) => l!.atMs))
    : undefined;
  if (settledAtMs === undefined || lastPerGateway.length === 0)
    return { changes, settledAfterMs: null, secondsAfter: 0, utilizationAfter: null };
  // The whole seconds after the moment it settled, up to the end of the load (the timeline counts
  // seconds from the phase's first whole second).
  const firstSecond = Math.floor(startedAtMs / 1000);
  const admitted = new Map(figures.timeline.map((t) => [t.second + firstSecond, t.admitted]));
  const seconds = wholeSeconds(settledAtMs, endedAtMs);
  const sum = seconds.reduce((total, s) => total + (admitted.get(s) ?? 0), 0);
  const secondsAfter = seconds.length;
  return {
    changes,
    settledAfterMs: Math.round(settledAtMs - startedAtMs),
    secondsAfter,
    utilizationAfter: secondsAfter === 0 ? null : sum / secondsAfter / figures.limitPerSecond,
  };
}
