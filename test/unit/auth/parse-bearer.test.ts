import { parseBearer, wwwAuthenticate, AUTH_FAILURE_REASONS } from '../../../src/gateway/auth';

const JWT = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln';

describe('parseBearer', () => {
  it.each<[string, string | string[] | undefined, 'ok' | 'missing' | 'malformed']>([
    ['no header', undefined, 'missing'],
    ['an empty header', '', 'missing'],
    ['only whitespace', '   ', 'missing'],
    ['an empty list', [], 'missing'],
    ['Bearer <jwt>', `Bearer ${JWT}`, 'ok'],
    ['lower-case scheme', `bearer ${JWT}`, 'ok'],
    ['upper-case scheme', `BEARER ${JWT}`, 'ok'],
    ['several spaces after the scheme', `Bearer   ${JWT}`, 'ok'],
    ['surrounding whitespace', `  Bearer ${JWT}  `, 'ok'],
    ['a one-element list', [`Bearer ${JWT}`], 'ok'],
    ['the header sent twice (list)', [`Bearer ${JWT}`, `Bearer ${JWT}`], 'malformed'],
    ['the header sent twice (comma-joined)', `Bearer ${JWT}, Bearer ${JWT}`, 'malformed'],
    ['two tokens after one scheme', `Bearer ${JWT} ${JWT}`, 'malformed'],
    ['a comma inside the token', `Bearer ${JWT},x`, 'malformed'],
    ['the scheme alone', 'Bearer', 'malformed'],
    ['the scheme and a space', 'Bearer ', 'malformed'],
    ['no space after the scheme', `Bearer${JWT}`, 'malformed'],
    ['a tab instead of a space', `Bearer\t${JWT}`, 'malformed'],
    ['another scheme', 'Basic dXNlcjpwYXNz', 'malformed'],
    ['a bare token', JWT, 'malformed'],
    ['a quoted token', `Bearer "${JWT}"`, 'malformed'],
    ['a non-ASCII token', 'Bearer tökén', 'malformed'],
  ])('%s', (_name, header, expected) => {
    const result = parseBearer(header);
    expect(result.ok ? 'ok' : result.reason).toBe(expected);
    if (result.ok) expect(result.token).toBe(JWT);
  });
});

describe('wwwAuthenticate', () => {
  it('sends no error code when there were no credentials, and a bare invalid_token otherwise', () => {
    expect(wwwAuthenticate('missing')).toBe('Bearer realm="strettch-gateway"');
    for (const reason of AUTH_FAILURE_REASONS.filter((r) => r !== 'missing')) {
      expect(wwwAuthenticate(reason)).toBe('Bearer realm="strettch-gateway", error="invalid_token"');
    }
  });
});
