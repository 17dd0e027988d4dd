/**
 * The benches' command lines (overhead, soak, dashboard snapshot; the fleet's has its own file): defaults,
 * both flag forms, every problem reported at once, and the help text naming every flag the parser reads.
 */
import { parseSnapshotArgs, SNAPSHOT_USAGE } from '../../../bench/dashboard/options';
import { OVERHEAD_DEFAULTS, OVERHEAD_USAGE, parseOverheadArgs } from '../../../bench/overhead-options';
import { defaultBaselineSec, defaultWarmupSec, parseSoakArgs, SOAK_USAGE } from '../../../bench/soak/options';

const problemsOf = (parsed: { ok: true } | { ok: false; problems: string[] }) => (parsed.ok ? [] : parsed.problems);

describe('bench:overhead options', () => {
  it('defaults to the saved figures settings, frozen', () => {
    const parsed = parseOverheadArgs([]);
    expect(parsed).toEqual({ ok: true, options: { ...OVERHEAD_DEFAULTS } });
    expect(parsed.ok && Object.isFrozen(parsed.options)).toBe(true);
    // Both loads the issue asks about: one in flight (what most callers see) and 32 (the loaded proxy).
    expect(parsed.ok && parsed.options.concurrencies).toEqual([1, 32]);
  });

  it('reads every flag, in both forms; -h is --help', () => {
    const parsed = parseOverheadArgs([
      '--duration-sec=4',
      '--initial-warmup-sec',
      '0',
      '--warmup-sec',
      '0.25',
      '--concurrency',
      '32, 1,8,1',
      '--rounds=3',
      '--slices',
      '5',
      '--runs',
      '2',
      '--max-requests',
      '1000',
      '--alg',
      'RS256',
      '--gateway-log=null-stream',
      '--out',
      '/tmp/o.json',
      '-h',
    ]);
    expect(parsed).toEqual({
      ok: true,
      options: {
        durationSec: 4,
        slices: 5,
        initialWarmupSec: 0,
        warmupSec: 0.25,
        concurrencies: [1, 8, 32],
        rounds: 3,
        runs: 2,
        maxRequestsPerPhase: 1000,
        algorithm: 'RS256',
        gatewayLog: 'null-stream',
        outFile: '/tmp/o.json',
        help: true,
      },
    });
  });

  it('reports every problem at once', () => {
    expect(
      problemsOf(parseOverheadArgs(['--alg', 'HS256', '--rounds', '0', '--nope', '--gateway-log', 'loud'])),
    ).toEqual(
      expect.arrayContaining([
        '--nope: unknown flag',
        '--rounds: must be a whole number from 1 to 15',
        '--alg: must be ES256 or RS256',
        '--gateway-log: must be silent or null-stream',
      ]),
    );
  });

  it.each([
    [['--out'], '--out: needs a value'],
    [['--out='], '--out: needs a value'],
    [['--help=yes'], '--help: takes no value'],
    [['stray'], 'stray: unknown flag'],
    [['--concurrency', '1.5'], '--concurrency: must be whole numbers from 1 to 1024, comma-separated'],
    [['--concurrency', '1,0'], '--concurrency: must be whole numbers from 1 to 1024, comma-separated'],
    [['--concurrency', '1,,32'], '--concurrency: must be whole numbers from 1 to 1024, comma-separated'],
    [['--concurrency', '1025'], '--concurrency: must be whole numbers from 1 to 1024, comma-separated'],
  ])('%j → %s', (argv, problem) => {
    expect(problemsOf(parseOverheadArgs(argv))).toEqual([problem]);
  });

  it('documents every flag it reads', () => {
    for (const flag of [
      '--duration-sec',
      '--initial-warmup-sec',
      '--warmup-sec',
      '--concurrency',
      '--rounds',
      '--slices',
    ]) {
      expect(OVERHEAD_USAGE).toContain(flag);
    }
    for (const flag of ['--max-requests', '--alg', '--gateway-log', '--out']) expect(OVERHEAD_USAGE).toContain(flag);
  });
});

describe('bench:soak options', () => {
  it('derives the warm-up and the baseline from the duration unless given', () => {
    expect(defaultWarmupSec(600)).toBe(60);
    expect(defaultWarmupSec(30)).toBe(3);
    expect(defaultBaselineSec(30)).toBe(10);
    expect(defaultBaselineSec(6000)).toBe(60);
    const parsed = parseSoakArgs(['--duration=30', '--warmup', '5', '--baseline', '0']);
    expect(parsed.ok && parsed.options).toMatchObject({ durationSec: 30, warmupSec: 5, baselineSec: 0 });
  });

  it('reads the switches', () => {
    const parsed = parseSoakArgs(['--no-redis', '--keep-logs', '--log-level', 'silent', '-h']);
    expect(parsed.ok && parsed.options).toMatchObject({
      redis: false,
      keepLogs: true,
      gatewayLogLevel: 'silent',
      help: true,
    });
  });

  it('reports every problem at once', () => {
    expect(problemsOf(parseSoakArgs(['--log-level', 'debug', '--error-rate', '0.9', '--bogus=1']))).toEqual(
      expect.arrayContaining([
        '--bogus: unknown flag',
        '--error-rate: must be a number from 0 to 0.5',
        '--log-level: must be one of info, warn, silent',
      ]),
    );
  });

  it('documents every flag it reads', () => {
    for (const flag of ['--rate', '--duration', '--warmup', '--baseline', '--max-in-flight', '--progress']) {
      expect(SOAK_USAGE).toContain(flag);
    }
    for (const flag of ['--error-rate', '--drop-rate', '--slow-rate', '--log-level', '--no-redis', '--out']) {
      expect(SOAK_USAGE).toContain(flag);
    }
    expect(SOAK_USAGE).toContain('--keep-logs');
  });
});

describe('dashboard:snapshot options', () => {
  it('reads every flag', () => {
    expect(parseSnapshotArgs(['--duration-sec', '5', '--out=x/y.svg', '--no-png', '-h'])).toEqual({
      ok: true,
      options: { durationSec: 5, outFile: 'x/y.svg', png: false, help: true },
    });
  });

  it.each([
    [['--duration-sec', '1'], '--duration-sec: whole seconds from 2 to 120'],
    [['--duration-sec', '2.5'], '--duration-sec: whole seconds from 2 to 120'],
    [['--duration-sec'], '--duration-sec: whole seconds from 2 to 120'],
    [['--out', 'x.png'], '--out: a file name ending in .svg'],
    [['--out'], '--out: a file name ending in .svg'],
    [['--png'], '--png: unknown option'],
    [['extra'], 'extra: unknown option'],
  ])('%j → %s', (argv, problem) => {
    expect(problemsOf(parseSnapshotArgs(argv))).toEqual([problem]);
  });

  it('documents its flags', () => {
    for (const flag of ['--duration-sec', '--out', '--no-png']) expect(SNAPSHOT_USAGE).toContain(flag);
  });
});
