import { CONNECTION_LIMIT_DEFAULTS } from '../../../src/shared/connection-limits';
import { effectiveSettings, readSettings, redactRedisUrl, SETTINGS_ENV_NAMES } from '../../../src/gateway/settings';

describe('readSettings', () => {
  it('reads the schedule tuning from the environment', () => {
    const read = readSettings({
      SCHEDULE_MAX_QUEUED_PER_CALLER: '8',
      SCHEDULE_IDLE_TTL_MS: '120000',
      SCHEDULE_FEEDBACK_TOLERANCE: '3',
      SCHEDULE_SEND_TOLERANCE_MS: '20',
      SCHEDULE_FALLBACK_MAX_WAIT_MS: '250',
      SCHEDULE_TRANSITION_GUARD_MS: '2000',
      SCHEDULE_PROBE_INTERVAL_MS: '100',
      SCHEDULE_LEARN_WINDOW_PHASE: '1',
      SCHEDULE_PREFETCH_MIN_RATE: '0',
      REDIS_CONNECT_TIMEOUT_MS: '2500',
      GATEWAY_WARM_UP_CONNECTIONS: '0',
    });
    if (!read.ok) throw new Error(read.problems.join('\n'));
    expect(read.settings.schedule).toEqual({
      maxQueuedPerCaller: 8,
      idleTtlMs: 120_000,
      feedbackTolerance: 3,
      sendToleranceMs: 20,
      learnWindowPhase: true,
      prefetchMinRatePerSecond: 0,
      fallback: { maxWaitMs: 250, transitionGuardMs: 2000, probeIntervalMs: 100 },
    });
    expect(read.settings.redisConnectTimeoutMs).toBe(2500);
    expect(read.settings.warmUpConnections).toBe(0);
    expect(read.sources.SCHEDULE_IDLE_TTL_MS).toBe('env');
    expect(read.sources.LOG_LEVEL).toBe('default');
  });

  it('reads the connection caps, defaulting to CONNECTION_LIMIT_DEFAULTS', () => {
    const read = readSettings({ GATEWAY_MAX_CONNECTIONS: '20000', GATEWAY_MAX_CONNECTIONS_PER_CLIENT: '64' });
    if (!read.ok) throw new Error(read.problems.join('\n'));
    expect(read.settings.connectionLimits).toEqual({ maxConnections: 20_000, maxConnectionsPerClient: 64 });
    const defaults = readSettings({});
    if (!defaults.ok) throw new Error(defaults.problems.join('\n'));
    expect(defaults.settings.connectionLimits).toEqual(CONNECTION_LIMIT_DEFAULTS);
    const listed = effectiveSettings(read.settings, read.sources);
    expect(listed).toContainEqual({ name: 'GATEWAY_MAX_CONNECTIONS_PER_CLIENT', value: '64', source: 'env' });
  });

  it('takes the policy file from GATEWAY_CONFIG, and from --config over it (the image runs `start` alone)', () => {
    const fromEnv = readSettings({ GATEWAY_CONFIG: '/etc/strettch-gateway/policy.yaml' });
    if (!fromEnv.ok) throw new Error(fromEnv.problems.join('\n'));
    expect(fromEnv.settings.configPath).toBe('/etc/strettch-gateway/policy.yaml');
    expect(effectiveSettings(fromEnv.settings, fromEnv.sources)).toContainEqual({
      name: 'GATEWAY_CONFIG',
      value: '/etc/strettch-gateway/policy.yaml',
      source: 'env',
    });
    const fromFlag = readSettings({ GATEWAY_CONFIG: '/etc/strettch-gateway/policy.yaml' }, { config: 'mine.yaml' });
    if (!fromFlag.ok) throw new Error(fromFlag.problems.join('\n'));
    expect(fromFlag.settings.configPath).toBe('mine.yaml');
    expect(effectiveSettings(fromFlag.settings, fromFlag.sources)).toContainEqual({
      name: 'GATEWAY_CONFIG',
      value: 'mine.yaml',
      source: 'flag',
    });
    const neither = readSettings({ GATEWAY_CONFIG: '' });
    if (!neither.ok) throw new Error(neither.problems.join('\n'));
    expect(neither.settings.configPath).toBeUndefined();
    expect(effectiveSettings(neither.settings, neither.sources)).toContainEqual({
      name: 'GATEWAY_CONFIG',
      value: '(none: start runs the embedded default)',
      source: 'default',
    });
  });

  it('freezes the result', () => {
    const read = readSettings({});
    if (!read.ok) throw new Error('unexpected');
    expect(Object.isFrozen(read.settings)).toBe(true);
    expect(Object.isFrozen(read.settings.schedule.fallback)).toBe(true);
  });

  it.each([
    ['SCHEDULE_MAX_QUEUED_PER_CALLER', '0', 'must be a whole number from 1 to 10000'],
    ['SCHEDULE_SEND_TOLERANCE_MS', '-1', 'must be a whole number of milliseconds from 0 to 1000'],
    ['SCHEDULE_PROBE_INTERVAL_MS', '10', 'must be a whole number of milliseconds from 50 to 60000'],
    ['REDIS_CONNECT_TIMEOUT_MS', '1s', 'must be a whole number of milliseconds from 100 to 60000'],
    ['GATEWAY_WARM_UP_CONNECTIONS', '65', 'must be a whole number from 0 to 64'],
    ['GATEWAY_MAX_CONNECTIONS', '0', 'must be a whole number from 1 to 1000000'],
    ['GATEWAY_MAX_CONNECTIONS_PER_CLIENT', '10k', 'must be a whole number from 1 to 1000000'],
    ['GATEWAY_CONFIG', 'policy.yaml\n', 'must be a file path'],
  ])('refuses %s=%s, naming the variable', (name, value, message) => {
    expect(readSettings({ [name]: value })).toEqual({ ok: false, problems: [`${name}: ${message}`] });
  });

  it.each([
    [{}, false],
    [{ GATEWAY_SINGLE_REPLICA: '1' }, true],
    [{ GATEWAY_SINGLE_REPLICA: 'true' }, true],
    [{ GATEWAY_SINGLE_REPLICA: '0' }, false],
    [{ GATEWAY_SINGLE_REPLICA: 'false', GATEWAY_REPLICAS: '3' }, false],
    [{ GATEWAY_SINGLE_REPLICA: '1', GATEWAY_REPLICAS: '1' }, true],
  ])('reads GATEWAY_SINGLE_REPLICA from %j', (env, singleReplica) => {
    expect(readSettings(env)).toMatchObject({ ok: true, settings: { singleReplica } });
  });

  it('refuses a GATEWAY_SINGLE_REPLICA that is not a clear yes or no, or that contradicts GATEWAY_REPLICAS', () => {
    expect(readSettings({ GATEWAY_SINGLE_REPLICA: 'yes' })).toEqual({
      ok: false,
      problems: ['GATEWAY_SINGLE_REPLICA: must be 1 or true (one replica on purpose), 0 or false'],
    });
    expect(readSettings({ GATEWAY_SINGLE_REPLICA: '1', GATEWAY_REPLICAS: '3' })).toEqual({
      ok: false,
      problems: ['GATEWAY_SINGLE_REPLICA: says one replica on purpose, but GATEWAY_REPLICAS is 3'],
    });
  });

  it('takes an empty variable as unset where a shell would', () => {
    expect(readSettings({ PORT: '', REDIS_URL: '', AUDIT_LOG: '' })).toMatchObject({
      ok: true,
      settings: { port: undefined, redisUrl: undefined, audit: { kind: 'stdout' } },
    });
  });
});

describe('effectiveSettings', () => {
  it('lists every setting with its value and where it came from, without the Redis password', () => {
    const read = readSettings(
      { REDIS_URL: 'redis://:hunter2@redis.internal:6379/0', GATEWAY_REPLICAS: '4' },
      { config: 'gateway.yaml', watch: true },
    );
    if (!read.ok) throw new Error(read.problems.join('\n'));
    const listed = effectiveSettings(read.settings, read.sources);
    expect(listed.map((s) => s.name)).toEqual(SETTINGS_ENV_NAMES.map((n) => (n === 'CONFIG_WATCH' ? '--watch' : n)));
    expect(listed).toContainEqual({ name: 'REDIS_URL', value: 'redis://:***@redis.internal:6379/0', source: 'env' });
    expect(listed).toContainEqual({ name: 'GATEWAY_REPLICAS', value: '4', source: 'env' });
    expect(listed).toContainEqual({ name: '--watch', value: 'on', source: 'flag' });
    expect(listed).toContainEqual({ name: 'LOG_LEVEL', value: 'info', source: 'default' });
    expect(JSON.stringify(listed)).not.toContain('hunter2');
  });

  it.each([
    ['redis://127.0.0.1:6379', 'redis://127.0.0.1:6379'],
    ['rediss://user:secret@host:6380', 'rediss://user:***@host:6380'],
  ])('redacts %s', (url, shown) => expect(redactRedisUrl(url)).toBe(shown));
});
