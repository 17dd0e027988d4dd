import { anchorPattern } from '../../../src/gateway/policy/least-privilege-schema';
import { catastrophicBacktrackingProblem } from '../../../src/gateway/policy/regex-safety';

describe('catastrophicBacktrackingProblem (hostName patterns, as anchored)', () => {
  it.each([
    ['^(a+)+$', 'exponential'],
    ['(a|a)*x', 'exponential'],
    ['(\\w+\\s?)*', 'exponential'],
    ['[a-z-]*-[a-z-]*-[a-z-]*=', '3rd degree polynomial'],
  ])('refuses %s (%s)', (pattern, summary) => {
    expect(catastrophicBacktrackingProblem(anchorPattern(pattern))).toBe(
      `has catastrophic backtracking (${summary} time on crafted input); ` +
        'rewrite it without nested or overlapping repetition, such as (a+)+ or (a|a)*',
    );
  });

  it.each([['^pv-[a-z0-9-]{1,20}$'], ['a|b'], ['[a-z]+(-[a-z]+)*'], ['[a-z0-9-]+-[0-9]+'], ['[a-z-]*-[a-z-]*']])(
    'accepts %s',
    (pattern) => {
      expect(catastrophicBacktrackingProblem(anchorPattern(pattern))).toBeUndefined();
    },
  );
});
