import { readFlags, type NumberFlag } from '../../../bench/flags';

const numbers: Record<string, NumberFlag<'rounds' | 'safety'>> = {
  '--rounds': { key: 'rounds', min: 1, max: 15, integer: true },
  '--safety': { key: 'safety', min: 0.5, max: 1, integer: false },
};

function read(argv: string[]) {
  const seen: Record<string, unknown> = {};
  const problems: string[] = [];
  readFlags(
    argv,
    { switches: { '--help': () => (seen.help = true) }, numbers, texts: ['--out'] },
    (key, n) => (seen[key] = n),
    (flag, value) => (seen[flag] = value),
    problems,
  );
  return { seen, problems };
}

describe('readFlags', () => {
  it.each([
    [['--rounds', '3'], { rounds: 3 }],
    [['--rounds=3', '--safety=0.97'], { rounds: 3, safety: 0.97 }],
    [['--help', '--out', 'x.json'], { help: true, '--out': 'x.json' }],
    [['-h'], { help: true }],
    // Repeated: the last one wins.
    [['--rounds', '3', '--rounds=4'], { rounds: 4 }],
  ])('%j', (argv, expected) => {
    expect(read(argv)).toEqual({ seen: expected, problems: [] });
  });

  it.each([
    [['--nope'], '--nope: unknown flag'],
    [['--out'], '--out: needs a value'],
    [['--out='], '--out: needs a value'],
    [['--rounds', '1.5'], '--rounds: must be a whole number from 1 to 15'],
    [['--rounds', '16'], '--rounds: must be a whole number from 1 to 15'],
    [['--safety', 'high'], '--safety: must be a number from 0.5 to 1'],
    [['--help=yes'], '--help: takes no value'],
    [['stray'], 'stray: unknown flag'],
    [['--nope', '3'], '--nope: unknown flag', '3: unknown flag'],
  ])('refuses %j', (argv, ...problems) => {
    expect(read(argv).problems).toEqual(problems);
  });
});
