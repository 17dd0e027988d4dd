import { ReplyError } from 'ioredis';
import { isLoudStoreFailure, StoreUnavailableError } from '../../../src/redis';
import { toStoreError } from '../../../src/redis/errors';

const reply = (message: string): Error => new (ReplyError as new (message: string) => Error)(message);

describe('toStoreError sorts client rejections by type, never by message', () => {
  it.each([
    ['an error reply', reply('NOSCRIPT No matching script. Please use EVAL.'), 'script', 'NOSCRIPT'],
    ['a script error', reply('ERR user_script:1: Script attempted to access nonexistent global'), 'script', 'ERR'],
    ['a busy server', reply('BUSY Redis is busy running a script'), 'script', 'BUSY'],
    ['a closed connection', new Error('Connection is closed.'), 'unavailable', undefined],
    // Only the type decides: a plain error that mentions a script is still an outage.
    ['a plain error naming a script', new Error('script timed out'), 'unavailable', undefined],
    ['not an error at all', 'boom', 'unavailable', undefined],
  ])('%s', (_name, rejection, kind, replyCode) => {
    const error = toStoreError(rejection);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect(error.kind).toBe(kind);
    expect(error.replyCode).toBe(replyCode);
    expect(error.cause).toBe(rejection);
  });

  it('passes its own errors through', () => {
    const own = new StoreUnavailableError('timeout', 'Command timed out after 150 ms');
    expect(toStoreError(own)).toBe(own);
  });
});

describe('isLoudStoreFailure', () => {
  it.each([
    [new StoreUnavailableError('unavailable', 'x'), false],
    [new StoreUnavailableError('timeout', 'x'), false],
    [new StoreUnavailableError('script', 'x'), true],
    [new TypeError('a bug'), true],
  ])('%s → %s', (error, loud) => expect(isLoudStoreFailure(error)).toBe(loud));
});
