/**
 * The series selectors and grouping labels of a PromQL expression, enough to check alert rules
 * against what the gateway exports: `sum by (class) (rate(m_total{mode="x"}[5m])) > 0` →
 * selectors [m_total {mode = "x"}], grouping [class]. Not a PromQL parser: it reads identifiers and
 * skips strings, ranges and numbers, which is all alert expressions here use.
 */

export interface Matcher {
  label: string;
  op: '=' | '!=' | '=~' | '!~';
  value: string;
}
export interface Selector {
  metric: string;
  matchers: Matcher[];
}
export interface ExpressionParts {
  selectors: Selector[];
  /** Labels named in `by (…)`, `without (…)`, `on (…)`, `ignoring (…)`, `group_left/right (…)`. */
  grouping: string[];
  /** Labels of the outermost `by (…)`, in order of appearance: what the result keeps. */
  firstBy?: string[];
}

const GROUPING = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);
const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'inf', 'nan']);
/** Aggregations may put their grouping first: `sum by (x) (…)`. */
const AGGREGATIONS = new Set([
  'sum',
  'min',
  'max',
  'avg',
  'group',
  'stddev',
  'stdvar',
  'count',
  'count_values',
  'bottomk',
  'topk',
  'quantile',
]);
const IDENT = /[a-zA-Z_:][a-zA-Z0-9_:]*/y;
const MATCHER = /\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*,?/y;

export function expressionParts(expr: string): ExpressionParts {
  const parts: ExpressionParts = { selectors: [], grouping: [] };
  let at = 0;
  const skipSpace = () => {
    while (at < expr.length && /\s/.test(expr[at]!)) at++;
  };
  while (at < expr.length) {
    const char = expr[at]!;
    if (char === '"' || char === "'") {
      at = expr.indexOf(char, at + 1) + 1;
      if (at === 0) throw new Error(`unterminated string in ${expr}`);
      continue;
    }
    if (char === '[') {
      at = expr.indexOf(']', at) + 1;
      continue;
    }
    if (/[0-9.]/.test(char)) {
      // A number or a duration (`5m`, `1h30m`), never an identifier.
      while (at < expr.length && /[0-9.a-zA-Z]/.test(expr[at]!)) at++;
      continue;
    }
    IDENT.lastIndex = at;
    const ident = IDENT.exec(expr);
    if (!ident) {
      at++;
      continue;
    }
    const word = ident[0];
    at = IDENT.lastIndex;
    skipSpace();
    if (GROUPING.has(word) && expr[at] === '(') {
      const close = expr.indexOf(')', at);
      const labels = expr
        .slice(at + 1, close)
        .split(',')
        .map((l) => l.trim())
        .filter(Boolean);
      parts.grouping.push(...labels);
      if (word === 'by' && parts.firstBy === undefined) parts.firstBy = labels;
      at = close + 1;
      continue;
    }
    // A function or an aggregation, or an operator.
    if (expr[at] === '(' || AGGREGATIONS.has(word) || KEYWORDS.has(word.toLowerCase())) continue;
    const selector: Selector = { metric: word, matchers: [] };
    if (expr[at] === '{') {
      at++;
      for (;;) {
        skipSpace();
        if (expr[at] === '}') break;
        MATCHER.lastIndex = at;
        const matcher = MATCHER.exec(expr);
        if (!matcher) throw new Error(`cannot read the label matchers at ${at} in ${expr}`);
        selector.matchers.push({ label: matcher[1]!, op: matcher[2] as Matcher['op'], value: matcher[3]! });
        at = MATCHER.lastIndex;
      }
      at++;
    }
    parts.selectors.push(selector);
  }
  return parts;
}
