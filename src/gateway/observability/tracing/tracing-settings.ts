/**
 * Whether the gateway traces, and where it exports, from the standard OpenTelemetry variables
 * (https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/). Pure: the
 * values come from the settings schema (`settings.ts`), which has already checked each one.
 *
 * On only when asked: `OTEL_TRACES_EXPORTER=otlp`, or an OTLP endpoint set with no exporter
 * named; never with `OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none`.
 */

export const TRACING_SAMPLERS = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
] as const;
export type TracingSamplerKind = (typeof TRACING_SAMPLERS)[number];

export interface TracingSampler {
  kind: TracingSamplerKind;
  /** For the ratio samplers: the share of new traces kept, 0 to 1. */
  ratio?: number;
}

export interface TracingOn {
  enabled: true;
  /** Where spans are POSTed (OTLP/HTTP, JSON). */
  tracesUrl: string;
  serviceName: string;
  sampler: TracingSampler;
}

export interface TracingOff {
  enabled: false;
  why: 'not-configured' | 'sdk-disabled' | 'exporter-none';
}

export type TracingSettings = TracingOn | TracingOff;

export const TRACING_OFF: TracingOff = Object.freeze({ enabled: false, why: 'not-configured' });

export const DEFAULT_SERVICE_NAME = 'strettch-gateway';
/** The specification's default: a collector on this host. */
export const DEFAULT_TRACES_URL = 'http://localhost:4318/v1/traces';

/** The variables as the settings schema hands them over (already checked, empty meaning unset). */
export interface TracingEnv {
  OTEL_SDK_DISABLED?: 'true' | 'false';
  OTEL_TRACES_EXPORTER?: 'otlp' | 'none';
  OTEL_EXPORTER_OTLP_ENDPOINT?: string;
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?: string;
  OTEL_SERVICE_NAME?: string;
  OTEL_TRACES_SAMPLER?: TracingSamplerKind;
  OTEL_TRACES_SAMPLER_ARG?: number;
}

/** The base endpoint gets the signal's path; a per-signal endpoint is used as it is (the specification's rule). */
function tracesUrlFrom(env: TracingEnv): string {
  if (env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT !== undefined) return env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  if (env.OTEL_EXPORTER_OTLP_ENDPOINT !== undefined)
    return `${env.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, '')}/v1/traces`;
  return DEFAULT_TRACES_URL;
}

export function tracingFromEnv(env: TracingEnv): TracingSettings {
  if (env.OTEL_SDK_DISABLED === 'true') return { enabled: false, why: 'sdk-disabled' };
  if (env.OTEL_TRACES_EXPORTER === 'none') return { enabled: false, why: 'exporter-none' };
  const endpointSet =
    env.OTEL_EXPORTER_OTLP_ENDPOINT !== undefined || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT !== undefined;
  if (env.OTEL_TRACES_EXPORTER !== 'otlp' && !endpointSet) return TRACING_OFF;
  const kind = env.OTEL_TRACES_SAMPLER ?? 'parentbased_always_on';
  return {
    enabled: true,
    tracesUrl: tracesUrlFrom(env),
    serviceName: env.OTEL_SERVICE_NAME ?? DEFAULT_SERVICE_NAME,
    sampler: kind.endsWith('traceidratio') ? { kind, ratio: env.OTEL_TRACES_SAMPLER_ARG ?? 1 } : { kind },
  };
}

/** An export URL as `check-config` shows it: no user, password, query or fragment (any may hold a secret). */
export function displayUrl(url: string): string {
  const parsed = new URL(url);
  return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
}

/** One line for `check-config` and `explain`: on and where to, or off and why. */
export function describeTracing(settings: TracingSettings): string {
  if (settings.enabled) return `tracing on, OTLP/HTTP to ${displayUrl(settings.tracesUrl)}`;
  const why = {
    'not-configured': 'no OTLP endpoint set',
    'sdk-disabled': 'OTEL_SDK_DISABLED=true',
    'exporter-none': 'OTEL_TRACES_EXPORTER=none',
  }[settings.why];
  return `tracing off (${why})`;
}
