import { formatPath, formatProblem } from '../../../src/gateway/policy';

describe('formatPath', () => {
  it.each([
    [[], '(root)'],
    [['callers', 'billing', 'scopes', 1], 'callers.billing.scopes[1]'],
    [['scopes', 'computes:read', 0], 'scopes.computes:read[0]'],
    [['auth', 'keys', 0, 'kid'], 'auth.keys[0].kid'],
    // Keys that would read ambiguously are bracket-quoted.
    [['callers', 'billing.prod', 'account'], 'callers["billing.prod"].account'],
    [['accounts', 'prod two'], 'accounts["prod two"]'],
    [['callers', 'a[0]'], 'callers["a[0]"]'],
  ] as const)('%j → %s', (segments, expected) => {
    expect(formatPath(segments)).toBe(expected);
  });
});

describe('formatProblem', () => {
  it('prefixes the file and line when known', () => {
    expect(
      formatProblem(
        { path: 'callers.billing.scopes[1]', message: 'unknown scope "computes:reed"', line: 12 },
        'config/gateway.yaml',
      ),
    ).toBe('config/gateway.yaml:12: callers.billing.scopes[1]: unknown scope "computes:reed"');
    expect(formatProblem({ path: '(file)', message: 'cannot read' }, 'gw.yaml')).toBe('gw.yaml: (file): cannot read');
  });
});
