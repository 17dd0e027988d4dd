import {
  expectedSec,
  gatewayPhaseSec,
  gridPoints,
  parseCountList,
  parseScaleArgs,
  SCALE_DEFAULTS,
  SCALE_USAGE,
} from '../../../bench/scale/options';

const parse = (argv: string[]) => {
  const parsed = parseScaleArgs(argv);
  if (!parsed.ok) throw new Error(parsed.problems.join('; '));
  return parsed.options;
};
const problems = (argv: string[]) => {
  const parsed = parseScaleArgs(argv);
  return parsed.ok ? [] : parsed.problems;
};

describe('bench:scale options', () => {
  it("defaults: the issue's axes, 8 s phases at 250/s, the product's idle TTL watched with slack", () => {
    expect(parse([])).toMatchObject({
      callers: [10, 1000, 10_000],
      accounts: [1, 10, 100],
      grid: 'axes',
      phaseSec: 8,
      ratePerSec: 250,
      expiryWaitSec: 75,
      outFile: 'bench/results/scale.json',
      chartFile: 'bench/results/scale.svg',
    });
    expect(parse([]).idleTtlSec).toBeUndefined();
  });

  it('the default run stays within about five minutes; the full grid takes longer', () => {
    expect(expectedSec(SCALE_DEFAULTS)).toBeLessThanOrEqual(300);
    expect(expectedSec(parse(['--grid', 'full']))).toBeGreaterThan(300);
  });

  it("the gateways' phase reaches every caller once: longer than --phase-sec where the rate needs it", () => {
    expect(gatewayPhaseSec({ phaseSec: 8, ratePerSec: 250 }, 10)).toBe(8);
    expect(gatewayPhaseSec({ phaseSec: 8, ratePerSec: 250 }, 1000)).toBe(8);
    expect(gatewayPhaseSec({ phaseSec: 8, ratePerSec: 250 }, 10_000)).toBe(40);
    expect(gatewayPhaseSec({ phaseSec: 3, ratePerSec: 30 }, 100)).toBe(4);
  });

  it('reads every flag; the expiry wait follows a given idle TTL unless given itself', () => {
    const options = parse([
      '--callers=10,100',
      '--accounts',
      '1,2',
      '--grid',
      'axes',
      '--phase-sec',
      '3',
      '--rate',
      '50',
      '--idle-ttl-sec',
      '2',
      '--out',
      'x.json',
      '--chart',
      'x.svg',
      '--keep-logs',
    ]);
    expect(options).toMatchObject({
      callers: [10, 100],
      accounts: [1, 2],
      grid: 'axes',
      phaseSec: 3,
      ratePerSec: 50,
      idleTtlSec: 2,
      expiryWaitSec: 17,
      outFile: 'x.json',
      chartFile: 'x.svg',
      keepLogs: true,
    });
    expect(parse(['--idle-ttl-sec', '2', '--expiry-wait-sec', '0']).expiryWaitSec).toBe(0);
    expect(parse(['-h']).help).toBe(true);
  });

  it('reports every problem at once, naming the flag', () => {
    expect(
      problems(['--callers', '10,x', '--accounts', '2,1', '--grid', 'diagonal', '--rate', '501', '--bogus']),
    ).toEqual([
      '--bogus: unknown flag',
      '--callers: must be whole numbers from 1 to 100000, comma-separated',
      '--accounts: must be ascending, without repeats',
      '--grid: must be one of full, axes',
      '--rate: must be a number from 1 to 500',
    ]);
    expect(problems(['--phase-sec'])).toEqual(['--phase-sec: needs a value']);
  });

  it.each([
    ['10,50', [10, 50]],
    [' 1 , 2 ', [1, 2]],
    ['0', 'must be whole numbers from 1 to 50, comma-separated'],
    ['51', 'must be whole numbers from 1 to 50, comma-separated'],
    ['1.5', 'must be whole numbers from 1 to 50, comma-separated'],
    ['1,,2', 'must be whole numbers from 1 to 50, comma-separated'],
    ['2,2', 'must be ascending, without repeats'],
  ])('parseCountList(%j) → %j', (text, expected) => {
    expect(parseCountList(text, 50)).toEqual(expected);
  });

  it('grids: every pair, accounts outer; or each axis alone from the first of each list, accounts first', () => {
    expect(gridPoints({ callers: [10, 100], accounts: [1, 2], grid: 'full' })).toEqual([
      { callers: 10, accounts: 1 },
      { callers: 100, accounts: 1 },
      { callers: 10, accounts: 2 },
      { callers: 100, accounts: 2 },
    ]);
    // The accounts axis first: the last point, whose idle keys are watched, holds the most callers.
    expect(gridPoints({ callers: [10, 1000, 10_000], accounts: [1, 10, 100], grid: 'axes' })).toEqual([
      { callers: 10, accounts: 1 },
      { callers: 10, accounts: 10 },
      { callers: 10, accounts: 100 },
      { callers: 1000, accounts: 1 },
      { callers: 10_000, accounts: 1 },
    ]);
  });

  it('the usage names every flag', () => {
    for (const flag of [
      '--callers',
      '--accounts',
      '--grid',
      '--phase-sec',
      '--rate',
      '--idle-ttl-sec',
      '--expiry-wait-sec',
    ])
      expect(SCALE_USAGE).toContain(flag);
  });
});
