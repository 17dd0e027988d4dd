import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { REFUSAL_REASONS } from '../../shared/connection-refusals';

export type { Registry };

/**
 * Every label value is bounded: operation ids from the catalog, configured caller and account names
 * (or "anonymous"/"unknown"), status classes, and closed sets of reasons. Never raw paths or subjects.
 */
export interface GatewayMetrics {
  registry: Registry;
  requests: Counter<'operation' | 'caller' | 'status_class'>;
  requestDuration: Histogram<'operation' | 'status_class'>;
  rejections: Counter<'reason'>;
  connectionRefusals: Counter<'reason'>;
  authFailures: Counter<'reason'>;
  upstreamDuration: Histogram<'operation'>;
  queueWait: Histogram<'account' | 'class'>;
  scheduleRejections: Counter<'account' | 'class' | 'reason'>;
  upstream429: Counter<'account' | 'class'>;
  upstreamRetries: Counter<'operation' | 'reason'>;
  leastPrivilegeDenials: Counter<'caller' | 'check' | 'mode'>;
  ledgerFailures: Counter<'operation'>;
  scheduleMode: Gauge<'mode'>;
  limitsAdopted: Counter<'account'>;
  limitPerSecond: Gauge<'account' | 'class'>;
  scheduleDispatchLate: Histogram;
  scheduleLateSends: Counter<'account' | 'class'>;
  scheduleWaiting: Gauge<'account' | 'class'>;
  scheduleSafety: Gauge<'account' | 'class'>;
  auditRecords: Counter<'outcome'>;
  configReloads: Counter<'result'>;
  configLoadedTimestamp: Gauge;
  tlsCertificateNotAfter: Gauge<'certificate'>;
  jwksRefreshFailures: Counter<'reason'>;
  jwksLastSuccessTimestamp: Gauge;
  jwksKeys: Gauge;
}

export function createMetrics(options: { collectProcessMetrics?: boolean } = {}): GatewayMetrics {
  const registry = new Registry();
  // Node's process metrics under their standard names (process_cpu_seconds_total,
  // nodejs_eventloop_lag_seconds, …), so stock Node.js dashboards and alerts match them.
  if (options.collectProcessMetrics) collectDefaultMetrics({ register: registry });
  return {
    registry,
    requests: new Counter({
      name: 'strettch_gateway_requests_total',
      help: 'Requests answered, by operation, caller and status class',
      labelNames: ['operation', 'caller', 'status_class'],
      registers: [registry],
    }),
    requestDuration: new Histogram({
      name: 'strettch_gateway_request_duration_seconds',
      help: 'From arrival to the end of the answer, queue wait and retries included, by operation and status class',
      labelNames: ['operation', 'status_class'],
      // 1 ms (a refusal) to 30 s (a queued request's wait plus a slow upstream); beyond, +Inf.
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    rejections: new Counter({
      name: 'strettch_gateway_rejections_total',
      help: 'Requests the gateway answered itself, by reason',
      labelNames: ['reason'],
      registers: [registry],
    }),
    connectionRefusals: withZeroes(
      new Counter({
        name: 'strettch_gateway_connection_refusals_total',
        help: 'Requests and connections refused by the HTTP server before the request path (parser errors, header and body timeouts, too many header lines, connection caps), by reason',
        labelNames: ['reason'],
        registers: [registry],
      }),
      REFUSAL_REASONS.map((reason) => ({ reason })),
    ),
    authFailures: new Counter({
      name: 'strettch_gateway_auth_failures_total',
      help: 'Caller authentication failures, by reason',
      labelNames: ['reason'],
      registers: [registry],
    }),
    upstreamDuration: new Histogram({
      name: 'strettch_gateway_upstream_duration_seconds',
      help: 'Time from forwarding to the upstream response headers',
      labelNames: ['operation'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    queueWait: new Histogram({
      name: 'strettch_gateway_queue_wait_seconds',
      help: 'Time a request waited for its slot on the shared rate schedule, by account and class',
      labelNames: ['account', 'class'],
      buckets: [0, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10],
      registers: [registry],
    }),
    scheduleRejections: new Counter({
      name: 'strettch_gateway_schedule_rejections_total',
      help: 'Requests answered 429 by the schedule (deadline, backlog, paused), by account, class and reason',
      labelNames: ['account', 'class', 'reason'],
      registers: [registry],
    }),
    upstream429: new Counter({
      name: 'strettch_gateway_upstream_429_total',
      help: 'Upstream 429 answers (each one pauses the shared schedule)',
      labelNames: ['account', 'class'],
      registers: [registry],
    }),
    upstreamRetries: new Counter({
      name: 'strettch_gateway_upstream_retries_total',
      help: 'Upstream attempts repeated after a connection error, 502 or 503 (reads and keyed creates only), by operation and reason',
      labelNames: ['operation', 'reason'],
      registers: [registry],
    }),
    leastPrivilegeDenials: new Counter({
      name: 'strettch_gateway_least_privilege_denials_total',
      help: 'Requests refused by a request constraint, ownership or a quota, by caller, check and mode (enforced, or shadow: logged only)',
      labelNames: ['caller', 'check', 'mode'],
      registers: [registry],
    }),
    ledgerFailures: new Counter({
      name: 'strettch_gateway_ledger_failures_total',
      help: 'Compute ledger operations that failed: a create reservation before forwarding (answered 503), or a record after the upstream answered (the create or delete went through unrecorded)',
      labelNames: ['operation'],
      registers: [registry],
    }),
    scheduleMode: new Gauge({
      name: 'strettch_gateway_schedule_mode',
      help: '1 for the schedule mode in force: shared (Redis), fallback (Redis unreachable) or memory',
      labelNames: ['mode'],
      registers: [registry],
    }),
    limitsAdopted: new Counter({
      name: 'strettch_gateway_limits_adopted_total',
      help: 'Changes of the provider limits adopted by this replica from upstream headers (limits: auto), by account',
      labelNames: ['account'],
      registers: [registry],
    }),
    limitPerSecond: new Gauge({
      name: 'strettch_gateway_limit_per_second',
      help: 'The provider limit in force for an auto account, per second before the safety factor, by class (read, write or all)',
      labelNames: ['account', 'class'],
      registers: [registry],
    }),
    scheduleWaiting: new Gauge({
      name: 'strettch_gateway_schedule_waiting_requests',
      help: 'Requests waiting for a future slot, by account and class: above zero the schedule is saturated',
      labelNames: ['account', 'class'],
      registers: [registry],
    }),
    scheduleSafety: new Gauge({
      name: 'strettch_gateway_schedule_safety',
      help: 'The safety factor a schedule runs at on this replica (an adaptive one moves with the measured send delay), by account and class (read, write or all)',
      labelNames: ['account', 'class'],
      registers: [registry],
    }),
    scheduleDispatchLate: new Histogram({
      name: 'strettch_gateway_schedule_dispatch_late_seconds',
      help: 'How late a request was released after its slot (slot-to-send delay)',
      buckets: [0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25],
      registers: [registry],
    }),
    scheduleLateSends: new Counter({
      name: 'strettch_gateway_schedule_late_sends_total',
      help: 'Wake-ups after the send tolerance, by account and class: never sent late; re-reserved, or 429',
      labelNames: ['account', 'class'],
      registers: [registry],
    }),
    auditRecords: new Counter({
      name: 'strettch_gateway_audit_records_total',
      help: 'Audit records written (one per write attempt), by outcome: forwarded, failed, denied, abandoned',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    configReloads: withZeroes(
      new Counter({
        name: 'strettch_gateway_config_reloads_total',
        help: 'Configuration reloads (SIGHUP, file watch), by result: ok, or error (refused, the running one kept)',
        labelNames: ['result'],
        registers: [registry],
      }),
      [{ result: 'ok' }, { result: 'error' }],
    ),
    configLoadedTimestamp: new Gauge({
      name: 'strettch_gateway_config_loaded_timestamp_seconds',
      help: 'When the configuration in force was loaded (start or last successful reload), Unix seconds',
      registers: [registry],
    }),
    // Labelled, and set only on a TLS listener: a plain-HTTP gateway shows no sample, not an expiry at 0.
    tlsCertificateNotAfter: new Gauge({
      name: 'strettch_gateway_tls_certificate_not_after_timestamp_seconds',
      help: 'When the certificate in force on the TLS listener expires (notAfter), Unix seconds',
      labelNames: ['certificate'],
      registers: [registry],
    }),
    jwksRefreshFailures: new Counter({
      name: 'strettch_gateway_jwks_refresh_failures_total',
      help: "Failed fetches of the issuer's discovery document or key set (the cached keys stay in use), by reason",
      labelNames: ['reason'],
      registers: [registry],
    }),
    jwksLastSuccessTimestamp: new Gauge({
      name: 'strettch_gateway_jwks_last_success_timestamp_seconds',
      help: "When the issuer's key set was last fetched successfully, Unix seconds (0: never)",
      registers: [registry],
    }),
    jwksKeys: new Gauge({
      name: 'strettch_gateway_jwks_keys',
      help: "Keys of the issuer's key set held in the cache (usable or not)",
      registers: [registry],
    }),
  };
}

export interface RedisCommandCount {
  /** Who sent them: the rate schedule or the compute ledger. */
  component: 'schedule' | 'ledger';
  /** The script operation (reserve, pause, commit, …) or command (calibrate: TIME). */
  op: string;
  count: number;
}

/**
 * Redis commands this process sent (round trips, not the commands scripts run inside Redis), read
 * from their senders' own counters at scrape time.
 */
export function registerRedisCommandCounts(metrics: GatewayMetrics, read: () => readonly RedisCommandCount[]): void {
  new Counter({
    name: 'strettch_gateway_redis_commands_total',
    help: 'Redis commands sent (round trips), by component (schedule, ledger) and operation',
    labelNames: ['component', 'op'],
    registers: [metrics.registry],
    collect() {
      this.reset();
      for (const { component, op, count } of read()) this.inc({ component, op }, count);
    },
  });
}

/**
 * Slots the schedule reserved a request ahead (slot-prefetch.ts), by what became of them: `taken`
 * (a request went without a round trip), `wasted` (passed unused: capacity lost, never a request too
 * many), `refused` (the store had a queue: nothing taken). Read from the schedule at scrape time.
 */
export function registerPrefetchCounts(
  metrics: GatewayMetrics,
  read: () => Readonly<Record<'taken' | 'wasted' | 'refused', number>>,
): void {
  new Counter({
    name: 'strettch_gateway_schedule_prefetch_total',
    help: 'Slots reserved a request ahead on dense schedules, by outcome (taken, wasted, refused)',
    labelNames: ['outcome'],
    registers: [metrics.registry],
    collect() {
      this.reset();
      for (const [outcome, count] of Object.entries(read())) this.inc({ outcome }, count);
    },
  });
}

/** A counter whose every label set shows from the start, so `rate()` and alerts see the first increment. */
function withZeroes<T extends string>(
  counter: Counter<T>,
  labelSets: ReadonlyArray<Partial<Record<T, string>>>,
): Counter<T> {
  for (const labels of labelSets) counter.inc(labels, 0);
  return counter;
}

export function statusClass(status: number): string {
  return `${Math.floor(status / 100)}xx`;
}
