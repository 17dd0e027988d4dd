/** The replicas' answers on the phase channel: batching and the message format (pure). */
import {
  decodeObservations,
  encodeObservations,
  FLUSH_EVERY_MS,
  ObservationOutbox,
  SHARE_WITHOUT_EVIDENCE_MS,
} from '../../../src/schedule/phase-sharing';

const T0 = 1_800_000_000_000;

describe('phase observation sharing', () => {
  test('the first answer goes at once, then at most one batch per FLUSH_EVERY_MS with everything since', () => {
    const box = new ObservationOutbox();
    const at = (k: number) => ({ sentAtMs: T0 + k, used: k });
    expect(box.add(at(1), 0, false)).toEqual([at(1)]);
    expect(box.add(at(2), 100, false)).toBeUndefined();
    expect(box.add(at(3), FLUSH_EVERY_MS - 1, false)).toBeUndefined();
    expect(box.add(at(4), FLUSH_EVERY_MS, false)).toEqual([at(2), at(3), at(4)]);
    expect(box.add(at(5), FLUSH_EVERY_MS + 1, false)).toBeUndefined();
  });

  test('without any sign of a boundary for SHARE_WITHOUT_EVIDENCE_MS, nothing more is kept or sent; evidence resumes it', () => {
    const box = new ObservationOutbox();
    const at = (ms: number) => ({ sentAtMs: T0 + ms, used: 1 });
    expect(box.add(at(0), 1000, false)).toHaveLength(1);
    expect(box.add(at(1), 1000 + SHARE_WITHOUT_EVIDENCE_MS, false)).toHaveLength(1);
    // A sliding-window provider: no bracket ever, so the schedule stops sharing (and drops what it held).
    expect(box.add(at(2), 1001 + SHARE_WITHOUT_EVIDENCE_MS, false)).toBeUndefined();
    expect(box.add(at(3), 2000 + SHARE_WITHOUT_EVIDENCE_MS, false)).toBeUndefined();
    // A bracket, or another replica's announcement: sharing again, from this answer on.
    expect(box.add(at(4), 3000 + SHARE_WITHOUT_EVIDENCE_MS, true)).toEqual([at(4)]);
  });

  test('a batch survives the message: send times to a tenth of a millisecond, counts, the sender and its limit', () => {
    const observations = [
      { sentAtMs: T0 + 12.34, used: 3 },
      { sentAtMs: T0 + 250.06, used: 0 },
    ];
    const body = encodeObservations({ replicaId: 'r-1', limitPerWindow: 5, observations });
    const decoded = decodeObservations(body.split('\t'));
    expect(decoded).toEqual({
      replicaId: 'r-1',
      limitPerWindow: 5,
      observations: [
        { sentAtMs: expect.closeTo(T0 + 12.3, 3) as number, used: 3 },
        { sentAtMs: expect.closeTo(T0 + 250.1, 3) as number, used: 0 },
      ],
    });
  });

  test.each([
    ['another marker', ['learning', 'r-1', '5', '1:1']],
    ['no sender', ['obs', '', '5', '1:1']],
    ['no limit', ['obs', 'r-1', '0', '1:1']],
    ['no pairs', ['obs', 'r-1', '5']],
    ['an empty pair', ['obs', 'r-1', '5', '']],
    ['a send time that is not a number', ['obs', 'r-1', '5', 'x:1']],
    ['a fractional count', ['obs', 'r-1', '5', '1:1.5']],
    ['a negative count', ['obs', 'r-1', '5', '1:-1']],
    ['one bad pair among good ones', ['obs', 'r-1', '5', '1:1,2']],
  ])('%s is dropped whole', (_, fields) => {
    expect(decodeObservations(fields)).toBeUndefined();
  });
});
