/**
 * What the gateways say about themselves: the schedule mode from `/readyz` (polled, to time the
 * Redis outage), and a few series from `/metrics` (dispatch lateness, schedule rejections).
 */
import { getJson, requestText } from './http-json';

export interface ModeChange {
  gateway: number;
  /** Milliseconds since the phase started. */
  atMs: number;
  mode: string;
}

export interface ModePoller {
  stop(): Promise<ModeChange[]>;
}

const POLL_INTERVAL_MS = 100;

export function pollModes(adminUrls: readonly string[], startedAtMs: number): ModePoller {
  const changes: ModeChange[] = [];
  const last = adminUrls.map(() => '');
  let running = true;
  const loops = adminUrls.map(async (url, gateway) => {
    while (running) {
      try {
        const ready = await getJson<{ checks?: { schedule?: string } }>(`${url}/readyz`, 1000);
        const mode = ready.checks?.schedule ?? 'unknown';
        if (mode !== last[gateway]) {
          last[gateway] = mode;
          changes.push({ gateway: gateway + 1, atMs: Date.now() - startedAtMs, mode });
        }
      } catch {
        // a missed probe is just a gap in the record
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
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

export interface GatewayCounters {
  /** Requests released for the upstream, and how late after their slot (this process's share of the jitter). */
  dispatchCount: number;
  dispatchLateMeanMs: number;
  /** Released more than 20 ms after their slot. */
  dispatchLateOver20Ms: number;
  scheduleRejections: Record<string, number>;
  upstream429: number;
}

/** Sums the series the bench reads over every gateway's `/metrics`. */
export async function scrapeGateways(adminUrls: readonly string[]): Promise<GatewayCounters> {
  const totals: GatewayCounters = { dispatchCount: 0, dispatchLateMeanMs: 0, dispatchLateOver20Ms: 0, scheduleRejections: {}, upstream429: 0 };
  let lateSumSec = 0;
  for (const url of adminUrls) {
    const reply = await requestText('GET', `${url}/metrics`, 5000);
    if (reply.status !== 200) continue;
    for (const line of reply.text.split('\n')) {
      const match = /^([a-z_0-9]+)(\{[^}]*\})? ([0-9.e+-]+|NaN|\+Inf)$/.exec(line);
      if (!match) continue;
      const [, name, labels = '', valueText] = match;
      const value = Number(valueText);
      if (name === 'strettch_gateway_schedule_dispatch_late_seconds_count') totals.dispatchCount += value;
      else if (name === 'strettch_gateway_schedule_dispatch_late_seconds_sum') lateSumSec += value;
      else if (name === 'strettch_gateway_schedule_dispatch_late_seconds_bucket' && labels.includes('le="0.02"')) totals.dispatchLateOver20Ms -= value;
      else if (name === 'strettch_gateway_upstream_429_total') totals.upstream429 += value;
      else if (name === 'strettch_gateway_schedule_rejections_total') {
        const reason = /reason="([^"]*)"/.exec(labels)?.[1] ?? 'unknown';
        const cls = /class="([^"]*)"/.exec(labels)?.[1] ?? 'unknown';
        totals.scheduleRejections[`${cls}:${reason}`] = (totals.scheduleRejections[`${cls}:${reason}`] ?? 0) + value;
      }
    }
  }
  totals.dispatchLateOver20Ms += totals.dispatchCount;
  totals.dispatchLateMeanMs = totals.dispatchCount === 0 ? Number.NaN : (lateSumSec * 1000) / totals.dispatchCount;
  return totals;
}
