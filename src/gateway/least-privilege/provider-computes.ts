/**
 * Every compute of one account as the provider lists it (`GET /computes`, pages of 100), for
 * `ledger rebuild`. The pages are read by an injected `UpstreamRead`, which takes each one's slot on
 * the account's rate schedule (`scheduled-read.ts`); this module only pages and parses.
 */
import { isJsonObject } from '../body/strict-json';
import type { ProviderCompute } from './ledger-rebuild';
import { MAX_UPSTREAM_PAGES, UPSTREAM_PAGE_LIMIT, parseListEnvelope } from './own-computes-list';

/** One upstream answer, or why there was none. */
export type UpstreamAnswer = { kind: 'answered'; status: number; body: Buffer } | { kind: 'failed'; reason: string };

/** Reads one path below the upstream base URL (`/computes?page=1&limit=100`) with the account's key. */
export type UpstreamRead = (upstreamPath: string) => Promise<UpstreamAnswer>;

export type ProviderComputes =
  { ok: true; computes: ProviderCompute[]; pages: number } | { ok: false; problem: string };

function computeOf(item: unknown): ProviderCompute | undefined {
  if (!isJsonObject(item) || typeof item.id !== 'string' || item.id === '' || typeof item.state !== 'string')
    return undefined;
  const tags = item.tags ?? [];
  if (!Array.isArray(tags) || !tags.every((tag) => typeof tag === 'string')) return undefined;
  return { id: item.id, state: item.state, tags };
}

/** The provider's error envelope names a code; nothing else of the body is repeated (it could be anything). */
function upstreamCode(body: Buffer): string {
  try {
    const parsed: unknown = JSON.parse(body.toString('utf8'));
    if (isJsonObject(parsed) && typeof parsed.code === 'string' && /^[A-Z_]{1,64}$/.test(parsed.code))
      return ` ${parsed.code}`;
  } catch {
    // not JSON
  }
  return '';
}

export async function readProviderComputes(read: UpstreamRead): Promise<ProviderComputes> {
  const computes: ProviderCompute[] = [];
  for (let page = 1; page <= MAX_UPSTREAM_PAGES; page += 1) {
    const answer = await read(`/computes?page=${page}&limit=${UPSTREAM_PAGE_LIMIT}`);
    if (answer.kind === 'failed') return { ok: false, problem: `page ${page}: ${answer.reason}` };
    if (answer.status !== 200)
      return { ok: false, problem: `page ${page}: the provider answered ${answer.status}${upstreamCode(answer.body)}` };
    const envelope = parseListEnvelope(answer.body);
    if (envelope === undefined) return { ok: false, problem: `page ${page}: the provider's list is unreadable` };
    for (const [i, item] of envelope.data.entries()) {
      const compute = computeOf(item);
      if (compute === undefined)
        return { ok: false, problem: `page ${page}, item ${i}: a compute without a string id, state and tags` };
      computes.push(compute);
    }
    if (envelope.data.length < UPSTREAM_PAGE_LIMIT || page * UPSTREAM_PAGE_LIMIT >= envelope.meta.total)
      return { ok: true, computes, pages: page };
  }
  return {
    ok: false,
    problem: `more than ${MAX_UPSTREAM_PAGES * UPSTREAM_PAGE_LIMIT} computes: beyond what the gateway reads`,
  };
}
