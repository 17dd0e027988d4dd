/**
 * `limits: auto`: what the fleet shares about an account's adopted limits (pure). The hash field
 * holds the limits as JSON; the announcement on `<prefix>:limits` carries the account, the version
 * and the limits, so a replica switches on the message itself: no read of the hash first, which
 * cost 3-20 ms on a busy machine while the other replicas kept granting slots under the old limits.
 *
 * A bare account name (the announcement of a replica from before the limits rode along) still
 * means "read the hash".
 */
import type { ProviderRates } from '../schedule/limit-adoption';

export type LimitsAnnouncement =
  | { readonly accountId: string; readonly version: number; readonly rates: ProviderRates }
  | { readonly accountId: string };

/**
 * The Lua side of `announcementText`: the version is only known inside the adopt script.
 * Account names cannot hold a tab (policy: letters, digits, "-", "_").
 */
export const ANNOUNCEMENT_SEPARATOR = '\t';

export function announcementText(accountId: string, version: number, rates: ProviderRates): string {
  return [accountId, String(version), JSON.stringify(rates)].join(ANNOUNCEMENT_SEPARATOR);
}

/** Undefined for a message that is not ours; garbage is ignored, never thrown. */
export function parseAnnouncement(message: string): LimitsAnnouncement | undefined {
  const parts = message.split(ANNOUNCEMENT_SEPARATOR);
  const accountId = parts[0];
  if (accountId === undefined || accountId === '') return undefined;
  if (parts.length === 1) return { accountId };
  if (parts.length !== 3 || !/^[1-9][0-9]{0,15}$/.test(parts[1]!)) return undefined;
  const rates = parseRates(parts[2]!);
  return rates === undefined ? undefined : { accountId, version: Number(parts[1]), rates };
}

/** The limits as stored in the hash and announced; undefined unless every limit is a positive number. */
export function parseRates(text: string): ProviderRates | undefined {
  try {
    const value = JSON.parse(text) as Record<string, unknown>;
    const positive = (n: unknown): n is number => typeof n === 'number' && n > 0 && Number.isFinite(n);
    if (positive(value.all)) return { all: value.all };
    if (positive(value.read) && positive(value.write)) return { read: value.read, write: value.write };
  } catch {
    // Not ours: ignored, like garbage headers.
  }
  return undefined;
}
