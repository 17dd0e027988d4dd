import {
  ACTION_RULES,
  COMPUTE_STATES,
  applyAction,
  created,
  settle,
  type ComputeState,
  type Lifecycle,
  type PowerAction,
} from '../../../src/sandbox/lifecycle';

const at = (state: ComputeState): Lifecycle => ({ state, sinceMs: 0 });

describe('lifecycle', () => {
  it('created: CREATING until the delay has passed, then RUNNING since exactly then', () => {
    const l = created(1000, 500);
    expect(settle(l, 1499).state).toBe('CREATING');
    expect(settle(l, 1500)).toEqual({ state: 'RUNNING', sinceMs: 1500 });
    expect(settle(l, 99_999)).toEqual({ state: 'RUNNING', sinceMs: 1500 });
  });

  const table: [PowerAction, ComputeState, ComputeState | 'conflict'][] = [];
  for (const action of Object.keys(ACTION_RULES) as PowerAction[]) {
    for (const state of COMPUTE_STATES) {
      const rule = ACTION_RULES[action];
      table.push([action, state, rule.from.includes(state) ? rule.through : 'conflict']);
    }
  }

  it.each(table)('%s from %s → %s', (action, state, expected) => {
    const result = applyAction(at(state), action, 10, 100);
    if (expected === 'conflict') expect(result).toMatchObject({ kind: 'wrong-state', state });
    else
      expect(result).toMatchObject({
        kind: 'accepted',
        lifecycle: { state: expected, sinceMs: 10, pending: { atMs: 110 } },
      });
  });

  it.each([
    ['start', 'STOPPED', 'RUNNING'],
    ['stop', 'RUNNING', 'STOPPED'],
    ['reboot', 'RUNNING', 'RUNNING'],
    ['delete', 'STOPPED', 'DESTROYED'],
  ] as const)('%s from %s ends %s', (action, from, to) => {
    const result = applyAction(at(from), action, 0, 100);
    if (result.kind !== 'accepted') throw new Error('refused');
    expect(settle(result.lifecycle, 100).state).toBe(to);
  });

  it('applies an action to the settled state', () => {
    const l = created(0, 100);
    expect(applyAction(l, 'stop', 50, 10).kind).toBe('wrong-state');
    expect(applyAction(l, 'stop', 100, 10).kind).toBe('accepted');
  });
});
