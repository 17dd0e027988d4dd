import { cacheVerifiedTokens } from '../../../src/gateway/auth/verified-token-cache';
import type { TokenVerifier, VerifyResult } from '../../../src/gateway/auth';

/** A verifier that answers from a table and counts how often it was asked. */
function countingVerifier(answers: Record<string, VerifyResult>) {
  const calls: string[] = [];
  const verifier: TokenVerifier = {
    verify: async (token) => {
      calls.push(token ?? '');
      return answers[token ?? ''] ?? { ok: false, reason: 'malformed' };
    },
  };
  return { verifier, calls };
}

const ok = (sub: string, expSec: number): VerifyResult => ({
  ok: true,
  kid: 'k',
  claims: { sub, iss: 'i', aud: 'a', exp: expSec, payload: { sub, iss: 'i', aud: 'a', exp: expSec } },
});

describe('cacheVerifiedTokens', () => {
  let nowMs = 1_000_000_000_000;
  const now = () => nowMs;
  beforeEach(() => {
    nowMs = 1_000_000_000_000;
  });

  it('verifies a token once while it stays within maxAgeMs and exp', async () => {
    const { verifier, calls } = countingVerifier({ good: ok('a', nowMs / 1000 + 3600) });
    const cached = cacheVerifiedTokens(verifier, { maxEntries: 10, maxAgeMs: 60_000, now });
    expect(await cached.verify('good')).toMatchObject({ ok: true, claims: { sub: 'a' } });
    nowMs += 59_999;
    expect(await cached.verify('good')).toMatchObject({ ok: true });
    expect(calls).toEqual(['good']);
    nowMs += 1;
    await cached.verify('good');
    expect(calls).toEqual(['good', 'good']);
  });

  it('never serves a cached answer at or past the token exp', async () => {
    const expSec = nowMs / 1000 + 5;
    const { verifier, calls } = countingVerifier({ good: ok('a', expSec) });
    const cached = cacheVerifiedTokens(verifier, { maxEntries: 10, maxAgeMs: 60_000, now });
    await cached.verify('good');
    nowMs = expSec * 1000;
    await cached.verify('good');
    expect(calls).toHaveLength(2);
  });

  it('never caches failures', async () => {
    const { verifier, calls } = countingVerifier({});
    const cached = cacheVerifiedTokens(verifier, { maxEntries: 10, maxAgeMs: 60_000, now });
    expect(await cached.verify('bad')).toMatchObject({ ok: false });
    expect(await cached.verify('bad')).toMatchObject({ ok: false });
    expect(await cached.verify(undefined)).toMatchObject({ ok: false });
    expect(calls).toEqual(['bad', 'bad', '']);
  });

  it('keeps at most maxEntries, dropping the oldest', async () => {
    const exp = nowMs / 1000 + 3600;
    const { verifier, calls } = countingVerifier({ t1: ok('1', exp), t2: ok('2', exp), t3: ok('3', exp) });
    const cached = cacheVerifiedTokens(verifier, { maxEntries: 2, maxAgeMs: 60_000, now });
    for (const token of ['t1', 't2', 't3', 't3', 't2', 't1']) await cached.verify(token);
    expect(calls).toEqual(['t1', 't2', 't3', 't1']);
  });

  it('keys entries by the whole token: a one-character change is verified anew', async () => {
    const exp = nowMs / 1000 + 3600;
    const { verifier, calls } = countingVerifier({ 'aaa.bbb.ccc': ok('a', exp) });
    const cached = cacheVerifiedTokens(verifier, { maxEntries: 10, maxAgeMs: 60_000, now });
    await cached.verify('aaa.bbb.ccc');
    expect(await cached.verify('aaa.bbb.ccd')).toMatchObject({ ok: false });
    expect(calls).toEqual(['aaa.bbb.ccc', 'aaa.bbb.ccd']);
  });
});
