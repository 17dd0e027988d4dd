/**
 * What the gateways said about a `limits: auto` change (pure): the adoption log line
 * (src/gateway/provider-limits.ts logs it once, on the replica that adopted), the adoption counter
 * and the limit in force that every replica exports.
 */
import { parseExposition } from '../prometheus-text';
import { logEntries } from './log-entries';

export const LIMITS_ADOPTED_METRIC = 'strettch_gateway_limits_adopted_total';
export const LIMIT_PER_SECOND_METRIC = 'strettch_gateway_limit_per_second';
export const ADOPTION_LOG_MESSAGE = 'limits: adopted the provider limits it advertises';

export interface AdoptionSeen {
  /** Gateways whose log holds the adoption line (by design one: the adopting replica). */
  replicasLogged: number;
  /** Adoption lines over every gateway's log, each with what it names. */
  logLines: Array<{ gateway: number; afterSwitchMs: number | null; from: string; to: string; reason: string }>;
  /** Sum of `strettch_gateway_limits_adopted_total` over the gateways (one per change, fleet-wide). */
  adoptionsCounted: number;
  /** Gateways whose `strettch_gateway_limit_per_second` shows exactly the new limits (and 0 for the other classes). */
  replicasExportingNewLimit: number;
  /** Per gateway, the limits it exports by class; null: no scrape. */
  exported: Array<Record<string, number> | null>;
}

/**
 * `metricTexts` and `logTexts`: one per gateway, in order (null: not scraped). `newLimits`: by class
 * (`{ all: 2 }`); `switchAtEpochMs` dates the log lines (their ISO `time`, on the same machine's clock).
 */
export function adoptionSeen(
  metricTexts: ReadonlyArray<string | null>,
  logTexts: readonly string[],
  account: string,
  newLimits: Readonly<Record<string, number>>,
  switchAtEpochMs: number,
): AdoptionSeen {
  let adoptionsCounted = 0;
  const exported = metricTexts.map((text) => {
    if (text === null) return null;
    const limits: Record<string, number> = {};
    for (const { name, labels, value } of parseExposition(text)) {
      if (labels.account !== account) continue;
      if (name === LIMITS_ADOPTED_METRIC) adoptionsCounted += value;
      else if (name === LIMIT_PER_SECOND_METRIC) limits[labels.class ?? 'unknown'] = value;
    }
    return limits;
  });
  const matches = (limits: Record<string, number> | null) =>
    limits !== null &&
    Object.keys(limits).length > 0 &&
    Object.entries(limits).every(([cls, value]) => value === (newLimits[cls] ?? 0));
  const logLines = logTexts.flatMap((text, i) =>
    logEntries(text, ADOPTION_LOG_MESSAGE).map(({ entry, atMs }) => ({
      gateway: i + 1,
      afterSwitchMs: Number.isFinite(atMs) ? atMs - switchAtEpochMs : null,
      from: String(entry.from),
      to: String(entry.to),
      reason: String(entry.reason),
    })),
  );
  return {
    replicasLogged: new Set(logLines.map((l) => l.gateway)).size,
    logLines,
    adoptionsCounted,
    replicasExportingNewLimit: exported.filter(matches).length,
    exported,
  };
}
