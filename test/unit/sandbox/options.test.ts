import { DEMO_KEYS } from '../../../src/sandbox/keys';
import { SandboxOptionsError, resolveOptions } from '../../../src/sandbox/options';

describe('resolveOptions', () => {
  it('has documented defaults, frozen', () => {
    const settings = resolveOptions({});
    expect(settings).toEqual({
      keys: DEMO_KEYS,
      rateLimit: { profile: 'launch', window: 'fixed', windowPhaseMs: 0, limitsPerSecond: { read: 30, write: 5 } },
      faults: { errorRate: 0, dropRate: 0, slowRate: 0, slowMs: 0, latencyMs: 0, jitterMs: 0 },
      createDelayMs: 2000,
      transitionDelayMs: 1000,
      bodyLimitBytes: 65536,
    });
    expect(Object.isFrozen(settings) && Object.isFrozen(settings.rateLimit)).toBe(true);
  });

  it('merges latency and faults into one fault setting; current profile gets 2/s', () => {
    const settings = resolveOptions({ profile: 'current', latencyMs: 5, jitterMs: 3, faults: { dropRate: 0.1 } });
    expect(settings.faults).toMatchObject({ latencyMs: 5, jitterMs: 3, dropRate: 0.1, errorRate: 0 });
    expect(settings.rateLimit.limitsPerSecond).toEqual({ all: 2 });
  });

  it('ignores the injected clock, random source and logger when validating', () => {
    expect(() => resolveOptions({ clock: { now: () => 0 }, random: () => 0.5 })).not.toThrow();
  });

  it('reports every problem with its path', () => {
    try {
      resolveOptions({
        windowPhaseMs: 1000,
        faults: { errorRate: 3 },
        keys: [{ key: 'short', team: 't', role: 'owner' }],
        // @ts-expect-error: an unknown option must be refused, not ignored
        colour: 'red',
      });
      throw new Error('expected a throw');
    } catch (error) {
      expect(error).toBeInstanceOf(SandboxOptionsError);
      const text = (error as SandboxOptionsError).problems.join('\n');
      expect(text).toMatch(/windowPhaseMs/);
      expect(text).toMatch(/faults\.errorRate/);
      expect(text).toMatch(/colour/);
    }
  });

  it.each([
    [{ keys: [{ key: 'abcdefgh', team: 't', role: 'root' }] }, 'keys.0: role must be one of'],
    [
      {
        keys: [
          { key: 'abcdefgh', team: 't', role: 'owner' },
          { key: 'abcdefgh', team: 'u', role: 'owner' },
        ],
      },
      'keys.1: duplicate key',
    ],
    [
      { profile: 'current', limits: { readPerSecond: 3 } },
      'limits.readPerSecond: the current profile has no read limit',
    ],
    [{ limits: { readPerSecond: 0 } }, 'limits.readPerSecond'],
    [{ createDelayMs: -1 }, 'createDelayMs'],
  ] as const)('%j → %s', (options, message) => {
    expect(() => resolveOptions(options as never)).toThrow(message);
  });
});
