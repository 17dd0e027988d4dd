import { GRID_LOG_MESSAGE, learnedGrid } from '../../../bench/fleet/learned-grid';

const START = Date.parse('2026-12-03T10:00:00.400Z');
const line = (atMs: number, schedule: string, grid: string) =>
  JSON.stringify({ level: 30, time: new Date(atMs).toISOString(), schedule, grid, msg: GRID_LOG_MESSAGE });
const READ = 'sg:{acct:fleet:read}';
const WRITE = 'sg:{acct:fleet:write}';
/** 20 s of load: 28 admitted per second while learning, 30 from second 11 on. */
const figures = {
  limitPerSecond: 30,
  timeline: Array.from({ length: 21 }, (_, second) => ({ second, admitted: second >= 11 ? 30 : 28, rejected: 0 })),
};

describe('bench:fleet learned grid', () => {
  it('settles when every gateway last switched to the fixed grid; use is judged from the next whole second', () => {
    const logs = [
      [line(START + 5000, READ, 'learning'), line(START + 9000, READ, 'fixed'), line(START + 9500, WRITE, 'learning')],
      [line(START + 5100, READ, 'learning'), line(START + 9700, READ, 'fixed')],
      ['not json ' + GRID_LOG_MESSAGE, line(START + 5200, READ, 'learning'), line(START + 10_100, READ, 'fixed')],
    ].map((lines) => lines.join('\n'));
    const read = learnedGrid(logs, 'read', figures, START, START + 20_000);
    // The last switch 10.1 s in, during the phase's second 10: judged over its seconds 11–19 (the 20th is cut short).
    expect(read).toEqual({ changes: 6, settledAfterMs: 10_100, secondsAfter: 9, utilizationAfter: 1 });
    // Writes: one gateway still learning, the others never changed: not settled.
    expect(learnedGrid(logs, 'write', figures, START, START + 20_000)).toEqual({
      changes: 1,
      settledAfterMs: null,
      secondsAfter: 0,
      utilizationAfter: null,
    });
  });

  it('a gateway that went back to learning (a 429 made the fleet forget the phase) is not settled', () => {
    const logs = [
      [line(START + 9000, READ, 'fixed'), line(START + 12_000, READ, 'learning')].join('\n'),
      line(START + 9000, READ, 'fixed'),
    ];
    expect(learnedGrid(logs, 'read', figures, START, START + 20_000).settledAfterMs).toBeNull();
  });

  it('use counts each admitted second against the limit', () => {
    const logs = [line(START + 3000, READ, 'fixed')];
    // Phase seconds 4…19 (16 s): 7 at 28 and 9 at 30.
    expect(learnedGrid(logs, 'read', figures, START, START + 20_000).utilizationAfter).toBeCloseTo(
      (7 * 28 + 9 * 30) / 16 / 30,
      9,
    );
  });
});
