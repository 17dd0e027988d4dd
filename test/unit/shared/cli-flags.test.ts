import { readFlags, type FlagSpecs } from '../../../src/shared/cli-flags';

const specs: FlagSpecs = {
  out: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  'keep-logs': { type: 'boolean' },
};

describe('readFlags', () => {
  it.each([
    [[], {}],
    [['--out', 'x.json'], { out: 'x.json' }],
    [['--out=x.json', '--keep-logs'], { out: 'x.json', 'keep-logs': true }],
    [['-h'], { help: true }],
    // A value that looks like a flag is still the value: `--out` always takes the next word.
    [['--out', '--help'], { out: '--help' }],
    [['--out='], { out: '' }],
  ])('%j → %j', (argv, values) => {
    expect(readFlags(argv, specs)).toMatchObject({ values, problems: [], positionals: [] });
  });

  it('keeps the order of what was given, repeats included; the last value wins', () => {
    const read = readFlags(['--out', 'a', '-h', '--out=b'], specs);
    expect(read.given).toEqual([
      { name: 'out', flag: '--out', value: 'a' },
      { name: 'help', flag: '-h', value: true },
      { name: 'out', flag: '--out', value: 'b' },
    ]);
    expect(read.values).toEqual({ out: 'b', help: true });
    expect(read.problems).toEqual([{ kind: 'repeated', flag: '--out' }]);
  });

  it('reports every problem, in argv order, as values', () => {
    const read = readFlags(['--nope', '-x', '--help=yes', 'word', '--out'], specs);
    expect(read.problems).toEqual([
      { kind: 'unknown', flag: '--nope' },
      { kind: 'unknown', flag: '-x' },
      { kind: 'takes-no-value', flag: '--help' },
      { kind: 'needs-value', flag: '--out' },
    ]);
    expect(read.positionals).toEqual(['word']);
    expect(read.values).toEqual({});
  });

  it('leaves words after -- to the command', () => {
    expect(readFlags(['--keep-logs', '--', '--out', 'x'], specs)).toMatchObject({
      values: { 'keep-logs': true },
      positionals: ['--out', 'x'],
      problems: [],
    });
  });

  it('knows no names it was not given (no prototype keys)', () => {
    expect(readFlags(['--constructor', '--toString=1'], specs).problems).toEqual([
      { kind: 'unknown', flag: '--constructor' },
      { kind: 'unknown', flag: '--toString' },
    ]);
  });
});
