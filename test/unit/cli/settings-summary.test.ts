import { runExplain } from '../../../src/cli/explain';
import type { CliIo } from '../../../src/cli/io';
import { describeSettings } from '../../../src/cli/settings-summary';

function memoryIo(settingsEnv: Record<string, string>) {
  const out = { stdout: '', stderr: '' };
  const io: CliIo = {
    readFile: () => {
      throw new Error('no files here');
    },
    readEnv: () => undefined,
    settingsEnv,
    stdout: (text) => void (out.stdout += text),
    stderr: (text) => void (out.stderr += text),
  };
  return { io, out };
}

describe('the settings explain shows', () => {
  it('follow the explanation, each with its source, the Redis password masked', () => {
    const { io, out } = memoryIo({ GATEWAY_REPLICAS: '3', REDIS_URL: 'redis://:pw-123@r:6379' });
    expect(runExplain(['demo-reader', 'GET /api/v1/computes'], io)).toBe(0);
    expect(out.stdout).toMatch(/\nsettings \(\d+: as start would run in this environment\)\n/);
    expect(out.stdout).toMatch(/ {2}GATEWAY_REPLICAS +3 +\(env\)\n/);
    expect(out.stdout).not.toContain('pw-123');
  });

  it('are a list in --json', () => {
    const { io, out } = memoryIo({ LOG_LEVEL: 'debug' });
    expect(runExplain(['demo-reader', 'GET /api/v1/computes', '--json'], io)).toBe(0);
    const parsed = JSON.parse(out.stdout) as { settings: Array<{ name: string; value: string; source: string }> };
    expect(parsed.settings).toContainEqual({ name: 'LOG_LEVEL', value: 'debug', source: 'env' });
  });
});

describe('describeSettings', () => {
  it('aligns names, values and sources in columns', () => {
    expect(
      describeSettings([
        { name: 'PORT', value: '8080', source: 'env' },
        { name: 'LOG_LEVEL', value: 'info', source: 'default' },
      ]),
    ).toBe(
      'settings (2: as start would run in this environment)\n' +
        '  PORT       8080  (env)\n' +
        '  LOG_LEVEL  info  (default)\n',
    );
  });
});
