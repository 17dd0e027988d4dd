/** The text `ledger rebuild` prints: the plan (what it would set, and what differs), then what was written. */
import type { RebuildPlan } from '../gateway/least-privilege/ledger-rebuild';
import type { LedgerRepair, LedgerRepairResult } from '../gateway/least-privilege/types';

export interface RebuildReport {
  accountId: string;
  apply: boolean;
  pages: number;
  plan: RebuildPlan;
  /** After `--apply`. */
  result?: LedgerRepairResult;
}

const none = (value: string | undefined) => value ?? '(none)';
/** At most this many ids on one line of text; `--json` has them all. */
const MAX_IDS_SHOWN = 20;

function ids(list: readonly string[]): string {
  if (list.length === 0) return '';
  const shown = list.slice(0, MAX_IDS_SHOWN).join(', ');
  return list.length > MAX_IDS_SHOWN ? `${shown}, … (${list.length - MAX_IDS_SHOWN} more)` : shown;
}

function describeRepair(repair: LedgerRepair): string {
  if (repair.kind === 'owner') return `owner ${repair.computeId}: ${none(repair.expected)} → ${repair.owner}`;
  return `live  ${repair.computeId}: ${none(repair.expected)} → ${none(repair.caller)}`;
}

export function formatRebuild(report: RebuildReport): string {
  const { plan } = report;
  const lines: string[] = [];
  const mode = report.apply ? 'applied' : 'dry run: nothing written; --apply writes these changes';
  lines.push(`ledger rebuild: account ${report.accountId} (${mode})`);
  const { total, live, gone } = plan.computes;
  lines.push(`provider: ${total} compute(s) in ${report.pages} page(s): ${live} live, ${gone} destroying or destroyed`);
  lines.push('callers (live computes: ledger now → after the rebuild)');
  const width = Math.max(0, ...plan.callers.map((c) => c.callerId.length));
  for (const caller of plan.callers) {
    const list = ids(caller.computeIds);
    lines.push(
      `  ${caller.callerId.padEnd(width)}  ${caller.liveBefore} → ${caller.liveAfter}${list ? `  ${list}` : ''}`,
    );
  }
  lines.push(`unowned (live, no owner tag, no owner in the ledger): ${plan.unowned.length} ${ids(plan.unowned)}`);
  for (const { computeId, callerId } of plan.notOnAccount)
    lines.push(`not restored: ${computeId} is tagged owner:${callerId}, not a caller of this account`);
  for (const { computeId, tags } of plan.ambiguous)
    lines.push(`not restored: ${computeId} has owner tags the gateway never writes: ${tags.join(', ')}`);
  for (const { computeId, from, to } of plan.ownerChanges)
    lines.push(`owner changes: ${computeId} from ${from} to ${to} (its owner tag says so)`);
  lines.push(`changes (${plan.repairs.length})${plan.repairs.length === 0 ? ': the ledger already agrees' : ''}`);
  for (const repair of plan.repairs) lines.push(`  ${describeRepair(repair)}`);
  if (report.result) {
    const { applied, stale } = report.result;
    lines.push(
      stale === 0
        ? `written: ${applied} change(s); live counts recounted`
        : `written: ${applied} change(s); ${stale} skipped because the ledger changed meanwhile (a create or delete ran): run it again`,
    );
  }
  return `${lines.join('\n')}\n`;
}
