/**
 * What the gateways say about themselves: the schedule mode from `/readyz` (polled, to time the
 * Redis outage and a restarted replica's return), and a few series from `/metrics` (dispatch
 * lateness, schedule rejections, late sends, Redis commands sent). Parsing and summing are pure.
 */
import { parseExposition } from '../prometheus-text';
import { requestText } from './http-json';

export interface ModeChange {
  gateway: number;
  /** Milliseconds since the phase started. */
  atMs: number;
  mode: string;
}

export interface ModePoller {
  stop(): Promise<ModeChange[]>;
}

export const MODE_POLL_INTERVAL_MS = 100;

/** The schedule mode a gateway's `/readyz` reports (`shared`, `fallback`, …), ready (200) or not (503). */
export async function scheduleMode(adminUrl: string, timeoutMs = 1000): Promise<string> {
  const reply = await requestText('GET', `${adminUrl}/readyz`, timeoutMs);
  if (reply.status !== 200 && reply.status !== 503) throw new Error(`GET ${adminUrl}/readyz: status ${reply.status}`);
  return (JSON.parse(reply.text) as { checks?: { schedule?: string } }).checks?.schedule ?? 'unknown';
}

export function pollModes(adminUrls: readonly string[], startedAtMs: number): ModePoller {
  const changes: ModeChange[] = [];
  const last = adminUrls.map(() => '');
  let running = true;
  const loops = adminUrls.map(async (url, gateway) => {
    while (running) {
      try {
        const mode = await scheduleMode(url);
        if (mode !== last[gateway]) {
          last[gateway] = mode;
          changes.push({ gateway: gateway + 1, atMs: Date.now() - startedAtMs, mode });
        }
      } catch {
        // a missed probe is just a gap in the record
      }
      await new Promise((resolve) => setTimeout(resolve, MODE_POLL_INTERVAL_MS));
    }
  });
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      return changes.sort((a, b) => a.atMs - b.atMs);
    },
  };
}

/** Commands a gateway sent to Redis (its own count: round trips, not what Redis executed). */
export interface RedisCommandCounts {
  total: number;
  /** `schedule`, `ledger`, … */
  byComponent: Record<string, number>;
  /** `schedule:reserve`, `ledger:commit`, … */
  byOp: Record<string, number>;
}

export interface GatewayCounters {
  /** /metrics texts summed (every gateway at the end of the phase, and each replaced one before it stopped). */
  scrapes: number;
  /** Scrapes that got no answer: those processes' counts are missing from every figure here. */
  missedScrapes: number;
  /** Requests released for the upstream, and how late after their slot (this process's share of the jitter). */
  dispatchCount: number;
  dispatchLateMeanMs: number;
  /** Released more than 20 ms after their slot. */
  dispatchLateOver20Ms: number;
  scheduleRejections: Record<string, number>;
  upstream429: number;
  /** Slots whose wake-up came later than the tolerance and were re-reserved, by class; null: the gateways do not export
   * it. */
  lateSends: Record<string, number> | null;
  /** null: the gateways do not export `strettch_gateway_redis_commands_total`. */
  redisCommands: RedisCommandCounts | null;
}

export const REDIS_COMMANDS_METRIC = 'strettch_gateway_redis_commands_total';
export const LATE_SENDS_METRIC = 'strettch_gateway_schedule_late_sends_total';

const add = (into: Record<string, number>, key: string, value: number) => (into[key] = (into[key] ?? 0) + value);

/** Sums the series the bench reads over several `/metrics` texts (counters of different processes add up); null: a
 * missed scrape. */
export function gatewayCounters(scraped: ReadonlyArray<string | null>): GatewayCounters {
  const metricTexts = scraped.filter((text): text is string => text !== null);
  const totals: GatewayCounters = {
    scrapes: metricTexts.length,
    missedScrapes: scraped.length - metricTexts.length,
    dispatchCount: 0,
    dispatchLateMeanMs: Number.NaN,
    dispatchLateOver20Ms: 0,
    scheduleRejections: {},
    upstream429: 0,
    lateSends: null,
    redisCommands: null,
  };
  let lateSumSec = 0;
  let within20Ms = 0;
  for (const { name, labels, value } of metricTexts.flatMap(parseExposition)) {
    if (name === 'strettch_gateway_schedule_dispatch_late_seconds_count') totals.dispatchCount += value;
    else if (name === 'strettch_gateway_schedule_dispatch_late_seconds_sum') lateSumSec += value;
    else if (name === 'strettch_gateway_schedule_dispatch_late_seconds_bucket' && labels.le === '0.02')
      within20Ms += value;
    else if (name === 'strettch_gateway_upstream_429_total') totals.upstream429 += value;
    else if (name === 'strettch_gateway_schedule_rejections_total')
      add(totals.scheduleRejections, `${labels.class ?? 'unknown'}:${labels.reason ?? 'unknown'}`, value);
    else if (name === LATE_SENDS_METRIC) add((totals.lateSends ??= {}), labels.class ?? 'unknown', value);
    else if (name === REDIS_COMMANDS_METRIC) {
      const counts = (totals.redisCommands ??= { total: 0, byComponent: {}, byOp: {} });
      const component = labels.component ?? 'unknown';
      counts.total += value;
      add(counts.byComponent, component, value);
      add(counts.byOp, `${component}:${labels.op ?? 'unknown'}`, value);
    }
  }
  totals.dispatchLateOver20Ms = totals.dispatchCount - within20Ms;
  if (totals.dispatchCount > 0) totals.dispatchLateMeanMs = (lateSumSec * 1000) / totals.dispatchCount;
  return totals;
}

/** One gateway's `/metrics` text; null when it does not answer (its counts are then missing). */
export async function scrapeMetrics(adminUrl: string): Promise<string | null> {
  try {
    const reply = await requestText('GET', `${adminUrl}/metrics`, 5000);
    return reply.status === 200 ? reply.text : null;
  } catch {
    return null;
  }
}
