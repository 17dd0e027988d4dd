import { encodeKeyPart, scheduleKeys, shiftChannel } from '../../../src/schedule/keys';
import {
  fallbackRatePerSecond,
  gridSendToleranceMs,
  intervalMs,
  scheduleFor,
  sendBudgetMs,
  sendToleranceMs,
} from '../../../src/schedule/intervals';

describe('scheduleKeys', () => {
  test.each([
    ['prod', 'read', 'sg:{acct:prod:read}'],
    ['prod', 'write', 'sg:{acct:prod:write}'],
    ['staging-2', 'all', 'sg:{acct:staging-2:all}'],
    ['a}b{c', 'read', 'sg:{acct:a%7Db%7Bc:read}'],
    ['x:y z', 'read', 'sg:{acct:x%3Ay%20z:read}'],
  ] as const)('%s/%s → %s (one hash tag, whatever the account id)', (account, cls, id) => {
    const keys = scheduleKeys('sg', account, cls);
    expect(keys.id).toBe(id);
    expect(keys.state).toBe(`${id}:s`);
    expect(keys.calendar).toBe(`${id}:cal`);
    // Both keys hash on the same tag: the text between the first { and the next }.
    const tag = (key: string): string => key.slice(key.indexOf('{') + 1, key.indexOf('}'));
    expect(tag(keys.state)).toBe(tag(keys.calendar));
    expect(tag(keys.state)).toBe(`acct:${encodeKeyPart(account)}:${cls}`);
  });

  test('the shift channel is per prefix', () => {
    expect(shiftChannel('sg')).toBe('sg:shift');
  });
});

describe('intervalMs', () => {
  test.each([
    [30, 0.95, 1000 / 28.5],
    [5, 0.95, 1000 / 4.75],
    [2, 1, 500],
  ])('%d/s at safety %d → %d ms', (rate, safety, expected) => {
    expect(intervalMs(rate, safety)).toBeCloseTo(expected, 9);
  });

  test.each([
    [0, 0.95],
    [-1, 0.95],
    [Number.NaN, 0.95],
    [30, 0],
    [30, 1.01],
  ])('rejects rate %d, safety %d', (rate, safety) => {
    expect(() => intervalMs(rate, safety)).toThrow(RangeError);
  });
});

describe('scheduleFor', () => {
  test('per-class limits pick the class', () => {
    expect(scheduleFor({ read: 30, write: 5 }, 'read')).toEqual({ scheduleClass: 'read', ratePerSecond: 30 });
    expect(scheduleFor({ read: 30, write: 5 }, 'write')).toEqual({ scheduleClass: 'write', ratePerSecond: 5 });
  });

  test('a one-class profile maps reads and writes to one schedule', () => {
    expect(scheduleFor({ all: 2 }, 'read')).toEqual({ scheduleClass: 'all', ratePerSecond: 2 });
    expect(scheduleFor({ all: 2 }, 'write')).toEqual({ scheduleClass: 'all', ratePerSecond: 2 });
  });
});

describe('fallbackRatePerSecond', () => {
  test.each([
    // limit, safety, replicas, rate each, worst 1 s window across replicas when every send is a
    // whole send budget late: replicas × ⌈(1000 + budget) × rate / 1000⌉
    [30, 0.95, 1, 30_000 / (1000 + 2000 / 19), 29],
    [30, 0.95, 3, 10_000 / (1000 + 2000 / 19), 30],
    [5, 0.95, 3, 1000 / (1000 + 2000 / 19), 3],
    [5, 0.95, 1, 5000 / (1000 + 2000 / 19), 5],
    [20, 0.9, 3, 6000 / (1000 + 2000 / 9), 18],
    [30, 1, 3, 10, 30], // no send budget at safety 1: each replica's exact share
    [2, 0.95, 3, (0.95 * 2) / 3, 3], // replicas > limit: no per-window guarantee possible (documented)
  ])('limit %d, safety %d, %d replicas → %d/s each', (limit, safety, replicas, rate, worst) => {
    const got = fallbackRatePerSecond(limit, safety, replicas);
    expect(got).toBeCloseTo(rate, 9);
    expect(got).toBeLessThanOrEqual((limit * safety) / replicas + 1e-9);
    expect(replicas * Math.ceil(((1000 + sendBudgetMs(safety)) * got) / 1000 - 1e-9)).toBe(worst);
    if (replicas <= limit) expect(worst).toBeLessThanOrEqual(limit);
  });

  test('the send budget and the default tolerance follow the safety factor', () => {
    expect(sendBudgetMs(0.95)).toBeCloseTo(1000 / 19, 9);
    expect(sendToleranceMs(0.95)).toBeCloseTo(500 / 19, 9);
    expect(sendBudgetMs(1)).toBe(0);
    expect(sendToleranceMs(1)).toBe(2);
    expect(() => sendBudgetMs(0)).toThrow(RangeError);
  });

  test("a grid's release tolerance is the one of the safety its spacing amounts to (half of L·I − W)", () => {
    expect(gridSendToleranceMs(30, intervalMs(30, 0.95))).toBeCloseTo(sendToleranceMs(0.95), 9);
    expect(gridSendToleranceMs(30, 1000 / 28.4)).toBeCloseTo((30 * (1000 / 28.4) - 1000) / 2, 9);
    // A grid at (or denser than) the limit leaves no budget: the timer floor.
    expect(gridSendToleranceMs(30, 1000 / 30)).toBe(2);
    expect(gridSendToleranceMs(30, 20)).toBe(2);
  });

  test('rejects a replica count that is not a positive integer', () => {
    expect(() => fallbackRatePerSecond(30, 0.95, 0)).toThrow(RangeError);
    expect(() => fallbackRatePerSecond(30, 0.95, 1.5)).toThrow(RangeError);
  });
});
