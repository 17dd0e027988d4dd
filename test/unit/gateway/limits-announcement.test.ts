/** What `limits: auto` announces to the fleet, and what a replica reads back from a message. */
import { announcementText, parseAnnouncement, parseRates } from '../../../src/gateway/limits-announcement';

describe('announcementText / parseAnnouncement', () => {
  test.each([
    [{ all: 2 }, 'prod\t3\t{"all":2}'],
    [{ read: 30, write: 5 }, 'prod\t3\t{"read":30,"write":5}'],
  ])('%j round-trips with its account and version', (rates, text) => {
    expect(announcementText('prod', 3, rates)).toBe(text);
    expect(parseAnnouncement(text)).toEqual({ accountId: 'prod', version: 3, rates });
  });

  test('a bare account name asks for a read of the hash', () => {
    expect(parseAnnouncement('prod')).toEqual({ accountId: 'prod' });
  });

  test.each([
    ['', 'empty'],
    ['\t1\t{"all":2}', 'no account'],
    ['prod\t1', 'no limits'],
    ['prod\t0\t{"all":2}', 'version 0 (never announced)'],
    ['prod\t-1\t{"all":2}', 'negative version'],
    ['prod\tx\t{"all":2}', 'version not a number'],
    ['prod\t1\t{"all":0}', 'a zero limit'],
    ['prod\t1\t{"read":30}', 'one class only'],
    ['prod\t1\tnot json', 'not JSON'],
    ['prod\t1\tnull', 'JSON null'],
    ['prod\t1\t{"all":2}\textra', 'a fourth field'],
  ])('%j is ignored (%s)', (message) => {
    expect(parseAnnouncement(message)).toBeUndefined();
  });
});

describe('parseRates', () => {
  test.each([
    ['{"all":2}', { all: 2 }],
    ['{"read":30,"write":5}', { read: 30, write: 5 }],
    ['{"all":2.5}', { all: 2.5 }],
    ['{"all":-1}', undefined],
    ['{"all":"2"}', undefined],
    ['[]', undefined],
    ['{', undefined],
  ])('%s → %j', (text, rates) => {
    expect(parseRates(text)).toEqual(rates);
  });
});
