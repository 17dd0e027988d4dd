import { parseRateLimitHeaders, parseRetryAfterMs } from '../../../src/schedule/rate-headers';

const NOW = Date.UTC(2026, 0, 15, 12, 0, 0); // 1768478400000
const NOW_S = NOW / 1000;

describe('parseRateLimitHeaders', () => {
  test.each([
    [
      'launch family (per second)',
      {
        'x-ratelimit-limit-second': '30',
        'x-ratelimit-remaining-second': '12',
        'x-ratelimit-reset-second': String(NOW_S + 1),
      },
      { limit: 30, remaining: 12, resetAtMs: NOW + 1000, family: 'per-class' },
    ],
    [
      'later family',
      { 'x-ratelimit-limit': '2', 'x-ratelimit-remaining': '1', 'x-ratelimit-reset': String(NOW_S + 1) },
      { limit: 2, remaining: 1, resetAtMs: NOW + 1000, family: 'shared' },
    ],
    [
      'both families: the per-second one, as a whole',
      {
        'x-ratelimit-limit': '2',
        'x-ratelimit-remaining': '0',
        'x-ratelimit-limit-second': '30',
        'x-ratelimit-remaining-second': '7',
      },
      { limit: 30, remaining: 7, family: 'per-class' },
    ],
    [
      'remaining 0 with a reset: pause until the reset',
      { 'x-ratelimit-limit': '2', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(NOW_S + 2) },
      { limit: 2, remaining: 0, resetAtMs: NOW + 2000, pauseUntilMs: NOW + 2000, family: 'shared' },
    ],
    ['Retry-After seconds', { 'retry-after': '3' }, { pauseUntilMs: NOW + 3000 }],
    ['Retry-After HTTP-date', { 'retry-after': new Date(NOW + 5000).toUTCString() }, { pauseUntilMs: NOW + 5000 }],
    [
      'Retry-After and a later reset with remaining 0: the later',
      { 'retry-after': '1', 'x-ratelimit-remaining-second': '0', 'x-ratelimit-reset-second': String(NOW_S + 4) },
      { remaining: 0, resetAtMs: NOW + 4000, pauseUntilMs: NOW + 4000 },
    ],
    ['Retry-After 0: nothing to wait for', { 'retry-after': '0' }, {}],
    ['reset below 10^9 is seconds from now', { 'x-ratelimit-reset': '2' }, { resetAtMs: NOW + 2000 }],
    [
      'header names in any case',
      { 'X-RateLimit-Limit': '2', 'X-RateLimit-Remaining': '1' },
      { limit: 2, remaining: 1, family: 'shared' },
    ],
    ['array values: the first', { 'x-ratelimit-limit': ['5', '6'] }, { limit: 5, family: 'shared' }],
    ['numbers as values', { 'x-ratelimit-limit': 5 }, { limit: 5, family: 'shared' }],
    ['no headers', {}, {}],
    [
      'garbage',
      {
        'x-ratelimit-limit': 'lots',
        'x-ratelimit-remaining': '-1',
        'x-ratelimit-reset': 'soon',
        'retry-after': 'tomorrow',
      },
      {},
    ],
    ['fractions in counts are refused', { 'x-ratelimit-limit': '2.5', 'x-ratelimit-remaining': '1e3' }, {}],
    ['Retry-After date in the past', { 'retry-after': new Date(NOW - 5000).toUTCString() }, {}],
  ])('%s', (_name, headers, expected) => {
    expect(parseRateLimitHeaders(headers, NOW)).toEqual(expected);
  });

  test('a Fetch Headers object works too', () => {
    const headers = new Headers({ 'x-ratelimit-limit-second': '5', 'x-ratelimit-remaining-second': '4' });
    expect(parseRateLimitHeaders(headers, NOW)).toEqual({ limit: 5, remaining: 4, family: 'per-class' });
  });
});

describe('parseRetryAfterMs', () => {
  test.each([
    ['120', NOW + 120_000],
    ['1.5', NOW + 1500],
    ['Thu, 15 Jan 2026 12:00:10 GMT', NOW + 10_000],
    ['Thursday, 15-Jan-26 12:00:10 GMT', undefined],
    ['1', NOW + 1000],
    ['', undefined],
    ['-1', undefined],
    ['Thu, 15 Jan 2026 12:00:10', undefined],
  ])('%j → %s', (value, expected) => {
    expect(parseRetryAfterMs(value, NOW)).toBe(expected);
  });
});
