/**
 * Operator regexes (`constraints.create.hostName`) run on JavaScript's backtracking engine against
 * a value the caller chooses: a pattern like `^(a+)+$` takes exponential time on a short crafted
 * input, and one request would stall the event loop for every caller. So each pattern is analysed
 * once, at load, by recheck (a ReDoS checker; its pure JavaScript backend needs no download), and
 * refused unless it is shown safe enough.
 */
import { checkSync } from 'recheck';

/** Analysis budget per pattern; a pattern of at most 256 characters needs a few milliseconds. */
const CHECK_TIMEOUT_MS = 2000;
/** Fixed, so that a policy that loads once loads every time (recheck's fuzzer is randomised). */
const RANDOM_SEED = 11;
/**
 * Quadratic backtracking is accepted: the hostName it runs on is at most 253 characters (longer is
 * refused before matching), about 64 000 steps. Cubic would be some 16 million: refused.
 */
const MAX_POLYNOMIAL_DEGREE = 2;

/** Why `pattern` may backtrack catastrophically (a problem message), or undefined when it is safe. */
export function catastrophicBacktrackingProblem(pattern: string): string | undefined {
  const diagnostics = checkSync(pattern, '', { timeout: CHECK_TIMEOUT_MS, randomSeed: RANDOM_SEED });
  if (diagnostics.status === 'safe') return undefined;
  if (diagnostics.status === 'unknown')
    return `could not be shown free of catastrophic backtracking (${diagnostics.error.kind}); simplify it`;
  const { complexity } = diagnostics;
  if (complexity.type === 'polynomial' && complexity.degree <= MAX_POLYNOMIAL_DEGREE) return undefined;
  return (
    `has catastrophic backtracking (${complexity.summary} time on crafted input); ` +
    'rewrite it without nested or overlapping repetition, such as (a+)+ or (a|a)*'
  );
}
