import { adoptionSeen, ADOPTION_LOG_MESSAGE } from '../../../bench/fleet/adoption-probes';

const SWITCH_AT = Date.parse('2026-12-03T14:00:00.000Z');
const metrics = (all: number, read: number, write: number, adopted: number) =>
  [
    '# TYPE strettch_gateway_limits_adopted_total counter',
    `strettch_gateway_limits_adopted_total{account="fleet"} ${adopted}`,
    `strettch_gateway_limits_adopted_total{account="other"} 7`,
    `strettch_gateway_limit_per_second{account="fleet",class="all"} ${all}`,
    `strettch_gateway_limit_per_second{account="fleet",class="read"} ${read}`,
    `strettch_gateway_limit_per_second{account="fleet",class="write"} ${write}`,
  ].join('\n');
const adoptionLine = JSON.stringify({
  level: 30,
  time: '2026-12-03T14:00:00.042Z',
  account: 'fleet',
  from: 'read 30/s, write 5/s',
  to: 'all 2/s',
  reason: 'lower',
  msg: ADOPTION_LOG_MESSAGE,
});

describe('bench:fleet adoption probes', () => {
  it('reads who logged the change, how often it was counted and who exports the new limit', () => {
    const seen = adoptionSeen(
      [metrics(2, 0, 0, 0), metrics(2, 0, 0, 1), metrics(0, 30, 5, 0)],
      ['{"level":30,"msg":"request"}\n', `{"level":30,"msg":"request"}\n${adoptionLine}\n`, ''],
      'fleet',
      { all: 2 },
      SWITCH_AT,
    );
    expect(seen).toEqual({
      replicasLogged: 1,
      logLines: [{ gateway: 2, afterSwitchMs: 42, from: 'read 30/s, write 5/s', to: 'all 2/s', reason: 'lower' }],
      adoptionsCounted: 1,
      replicasExportingNewLimit: 2,
      exported: [
        { all: 2, read: 0, write: 0 },
        { all: 2, read: 0, write: 0 },
        { all: 0, read: 30, write: 5 },
      ],
    });
  });

  it('a missed scrape exports nothing', () => {
    const seen = adoptionSeen([null], [''], 'fleet', { all: 2 }, SWITCH_AT);
    expect(seen).toMatchObject({ replicasExportingNewLimit: 0, exported: [null], replicasLogged: 0 });
  });
});
