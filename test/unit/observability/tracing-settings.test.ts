import { effectiveSettings, readSettings } from '../../../src/gateway/settings';
import { describeTracing, tracingFromEnv } from '../../../src/gateway/observability/tracing/tracing-settings';

function settingsOf(env: Record<string, string>) {
  const read = readSettings(env);
  if (!read.ok) throw new Error(read.problems.join('\n'));
  return read;
}

describe('tracing from the OTEL_* variables', () => {
  it.each([
    [{}, { enabled: false, why: 'not-configured' }],
    [
      { OTEL_SERVICE_NAME: 'x', OTEL_TRACES_SAMPLER: 'always_on' },
      { enabled: false, why: 'not-configured' },
    ],
    [
      { OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' },
      { enabled: false, why: 'exporter-none' },
    ],
    [
      { OTEL_SDK_DISABLED: 'TRUE', OTEL_TRACES_EXPORTER: 'otlp' },
      { enabled: false, why: 'sdk-disabled' },
    ],
  ])('off for %j', (env, expected) => {
    expect(settingsOf(env).settings.tracing).toEqual(expected);
  });

  it.each([
    [{ OTEL_TRACES_EXPORTER: 'otlp' }, 'http://localhost:4318/v1/traces'],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }, 'http://collector:4318/v1/traces'],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'https://otel.example/base' }, 'https://otel.example/base/v1/traces'],
    // A signal's own endpoint is used as it is, and wins over the base one.
    [
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://b:9999/custom' },
      'http://b:9999/custom',
    ],
    [
      { OTEL_SDK_DISABLED: 'false', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://b:4318/v1/traces' },
      'http://b:4318/v1/traces',
    ],
  ])('on for %j, exporting to %s', (env, url) => {
    const { tracing } = settingsOf(env).settings;
    expect(tracing).toEqual({
      enabled: true,
      tracesUrl: url,
      serviceName: 'strettch-gateway',
      sampler: { kind: 'parentbased_always_on' },
    });
  });

  it('honours the service name and the sampler with its ratio', () => {
    const { tracing } = settingsOf({
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_SERVICE_NAME: 'egress-eu',
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0.25',
    }).settings;
    expect(tracing).toMatchObject({
      serviceName: 'egress-eu',
      sampler: { kind: 'parentbased_traceidratio', ratio: 0.25 },
    });
    expect(tracingFromEnv({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_TRACES_SAMPLER: 'traceidratio' }).enabled && true).toBe(
      true,
    );
  });

  it.each([
    ['OTEL_TRACES_EXPORTER', 'jaeger', 'OTEL_TRACES_EXPORTER: must be otlp or none'],
    [
      'OTEL_EXPORTER_OTLP_ENDPOINT',
      'collector:4318',
      'OTEL_EXPORTER_OTLP_ENDPOINT: must be an http:// or https:// URL',
    ],
    ['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'grpc://c:4317', 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: must be an http://'],
    ['OTEL_EXPORTER_OTLP_PROTOCOL', 'grpc', 'OTEL_EXPORTER_OTLP_PROTOCOL: must be http/json'],
    ['OTEL_TRACES_SAMPLER', 'xray', 'OTEL_TRACES_SAMPLER: must be one of always_on'],
    ['OTEL_TRACES_SAMPLER_ARG', '1.5', 'OTEL_TRACES_SAMPLER_ARG: must be a ratio from 0 to 1'],
    ['OTEL_SDK_DISABLED', 'yes', 'OTEL_SDK_DISABLED: must be true or false'],
  ])('refuses %s=%s', (name, value, problem) => {
    const read = readSettings({ [name]: value });
    expect(read.ok).toBe(false);
    if (!read.ok) expect(read.problems.join('\n')).toContain(problem);
  });

  it('lists whether tracing is on and where it exports, never a header value or URL credential', () => {
    const secret = 'collector-token-SENTINEL';
    const read = settingsOf({
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `https://gw:${secret}@otel.example/v1/traces?token=${secret}`,
      OTEL_EXPORTER_OTLP_HEADERS: `authorization=Bearer ${secret}`,
    });
    const listed = effectiveSettings(read.settings, read.sources);
    expect(JSON.stringify(listed)).not.toContain(secret);
    expect(JSON.stringify(read.settings)).not.toContain(`Bearer ${secret}`);
    expect(listed).toContainEqual({
      name: 'OTEL_TRACES_EXPORTER',
      value: 'tracing on, OTLP/HTTP to https://otel.example/v1/traces',
      source: 'default',
    });
    expect(listed.find((s) => s.name === 'OTEL_EXPORTER_OTLP_HEADERS')).toMatchObject({
      value: expect.stringMatching(/^\*\*\*/),
      source: 'env',
    });
    expect(describeTracing(settingsOf({}).settings.tracing)).toBe('tracing off (no OTLP endpoint set)');
  });
});
