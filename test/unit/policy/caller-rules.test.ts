import {
  claimAt,
  claimsForSubject,
  describeRule,
  patternsIntersect,
  ruleMatches,
  rulesMayOverlap,
  subjectMatches,
} from '../../../src/gateway/policy/caller-rules';

const SA = 'system:serviceaccount';

describe('subjectMatches: "*" is any run of characters other than ":"', () => {
  it.each([
    [`${SA}:shop:*`, `${SA}:shop:billing`, true],
    [`${SA}:shop:*`, `${SA}:shop:`, true],
    [`${SA}:shop:*`, `${SA}:shop:a:b`, false],
    [`${SA}:shop:*`, `${SA}:shopping:billing`, false],
    [`${SA}:shop:*`, `${SA}:shop`, false],
    [`${SA}:*:billing`, `${SA}:payments:billing`, true],
    [`${SA}:*:billing`, `${SA}:payments:billing-2`, false],
    ['svc-*', 'svc-a', true],
    ['svc-*', 'xsvc-a', false],
    ['a.b', 'aXb', false],
    ['(x)+', '(x)+', true],
    ['(x)+', 'xx', false],
  ])('%s against %s → %s', (pattern, subject, expected) => {
    expect(subjectMatches(pattern, subject)).toBe(expected);
  });
});

describe('claimAt: "/"-separated keys, own properties only', () => {
  const claims = { 'kubernetes.io': { namespace: 'shop', serviceaccount: { name: 'web' } }, list: ['x'] };
  it.each([
    ['kubernetes.io/namespace', 'shop'],
    ['kubernetes.io/serviceaccount/name', 'web'],
    ['kubernetes.io', claims['kubernetes.io']],
    ['kubernetes.io/nope', undefined],
    ['list/0', undefined],
    ['__proto__/constructor', undefined],
    ['kubernetes.io/constructor', undefined],
  ])('%s', (path, expected) => {
    expect(claimAt(claims, path)).toEqual(expected);
  });
});

describe('ruleMatches', () => {
  const token = (namespace: string, name: string) => ({
    sub: `${SA}:${namespace}:${name}`,
    'kubernetes.io': { namespace, serviceaccount: { name } },
  });
  it.each([
    [{ claims: { 'kubernetes.io/namespace': 'shop' } }, token('shop', 'web'), true],
    [{ claims: { 'kubernetes.io/namespace': 'shop' } }, token('payments', 'web'), false],
    [{ subject: `${SA}:shop:*`, claims: { 'kubernetes.io/serviceaccount/name': 'web' } }, token('shop', 'web'), true],
    [{ subject: `${SA}:shop:*`, claims: { 'kubernetes.io/serviceaccount/name': 'web' } }, token('shop', 'api'), false],
    // A claim that is not a string never equals the configured string.
    [{ claims: { 'kubernetes.io': 'shop' } }, token('shop', 'web'), false],
  ])('%j on %j → %s', (rule, claims, expected) => {
    expect(ruleMatches(rule, claims.sub, claims)).toBe(expected);
  });
});

describe('patternsIntersect and rulesMayOverlap (the loader refuses rules a token could satisfy together)', () => {
  it.each([
    [`${SA}:shop:*`, `${SA}:*:billing`, true],
    [`${SA}:shop:*`, `${SA}:payments:*`, false],
    [`${SA}:shop:*`, `${SA}:shop:web`, true],
    ['a*', 'b*', false],
    ['*a', '*b', false],
    ['*', 'x:y', false],
    ['*:*', 'x:y', true],
    ['a*c', 'ab*', true],
  ])('%s ∩ %s → %s', (p, q, expected) => {
    expect(patternsIntersect(p, q)).toBe(expected);
    expect(patternsIntersect(q, p)).toBe(expected);
  });

  it.each([
    [{ claims: { 'kubernetes.io/namespace': 'shop' } }, { claims: { 'kubernetes.io/namespace': 'payments' } }, false],
    [{ claims: { 'kubernetes.io/namespace': 'shop' } }, { subject: `${SA}:shop:*` }, true],
    [{ claims: { 'kubernetes.io/namespace': 'shop' } }, { claims: { team: 'web' } }, true],
    [{ subject: `${SA}:shop:*` }, { subject: `${SA}:payments:*` }, false],
    [{ subject: `${SA}:shop:*` }, { claims: { sub: `${SA}:payments:web` } }, false],
    [{ subject: `${SA}:shop:*`, claims: { a: '1' } }, { subject: `${SA}:*:web`, claims: { a: '2' } }, false],
  ])('%j and %j → %s', (a, b, expected) => {
    expect(rulesMayOverlap(a, b)).toBe(expected);
    expect(rulesMayOverlap(b, a)).toBe(expected);
  });
});

describe('claimsForSubject (explain) and describeRule', () => {
  it('gives a service-account subject the claims its projected token carries', () => {
    expect(claimsForSubject(`${SA}:shop:billing`)).toEqual({
      sub: `${SA}:shop:billing`,
      'kubernetes.io': { namespace: 'shop', serviceaccount: { name: 'billing' } },
    });
    expect(claimsForSubject('billing')).toEqual({ sub: 'billing' });
  });

  it('reads a rule as one line', () => {
    expect(describeRule({ subject: `${SA}:shop:*`, claims: { 'kubernetes.io/namespace': 'shop' } })).toBe(
      `subject ${SA}:shop:*, kubernetes.io/namespace = shop`,
    );
  });
});
