/**
 * Every response of the soak gets one kind (pure). A 5xx counts as an upstream fault only when its
 * shape says so — a 500 that carries the provider's rate-limit headers (the sandbox's own answer,
 * relayed), or the gateway's 502 UPSTREAM_UNAVAILABLE / 504 UPSTREAM_TIMEOUT — and then only when
 * the sandbox's log shows that very request faulted that way (`reconcileFaults`); any other 5xx is
 * unexpected. The referee's totals give a second, looser check: no sign may outnumber its fault.
 */
import type { FaultEvidence } from './fault-evidence';
import type { Intent } from './mix';

export const KINDS = [
  'ok',
  'denied-401',
  'denied-403',
  'rate-429',
  'upstream-fault-5xx',
  'unexpected-5xx',
  'unexpected-status',
  'client-error',
] as const;
export type ResponseKind = (typeof KINDS)[number];

/** What made a 5xx look like an injected fault; reconciled against the referee's counts. */
export const FAULT_SIGNS = ['upstream-500', 'gateway-502', 'gateway-504'] as const;
export type FaultSign = (typeof FAULT_SIGNS)[number];

export interface ResponseFacts {
  /** 0: no HTTP response (connection error, timeout, or not sent because the generator was full). */
  status: number;
  /** The response carries the provider's rate-limit headers, so its status came from upstream. */
  fromUpstream: boolean;
  /** The envelope's `code`, when the body was one. */
  code?: string;
}

export interface Classification {
  kind: ResponseKind;
  faultSign?: FaultSign;
}

export function classifyResponse(facts: ResponseFacts): Classification {
  const { status } = facts;
  if (status === 0) return { kind: 'client-error' };
  if (status >= 200 && status < 300) return { kind: 'ok' };
  if (status === 401) return { kind: 'denied-401' };
  if (status === 403) return { kind: 'denied-403' };
  if (status === 429) return { kind: 'rate-429' };
  if (status === 500 && facts.fromUpstream) return { kind: 'upstream-fault-5xx', faultSign: 'upstream-500' };
  if (status === 502 && facts.code === 'UPSTREAM_UNAVAILABLE')
    return { kind: 'upstream-fault-5xx', faultSign: 'gateway-502' };
  if (status === 504 && facts.code === 'UPSTREAM_TIMEOUT')
    return { kind: 'upstream-fault-5xx', faultSign: 'gateway-504' };
  if (status >= 500) return { kind: 'unexpected-5xx' };
  return { kind: 'unexpected-status' };
}

/** The kinds each intent may get; anything else is a mismatch, counted and shown. */
export const EXPECTED_KINDS: Readonly<Record<Intent, readonly ResponseKind[]>> = Object.freeze({
  read: ['ok', 'upstream-fault-5xx'],
  write: ['ok', 'upstream-fault-5xx'],
  'over-limit': ['ok', 'rate-429', 'upstream-fault-5xx'],
  'bad-token': ['denied-401'],
  'missing-scope': ['denied-403'],
});

export function isExpected(intent: Intent, kind: ResponseKind): boolean {
  return EXPECTED_KINDS[intent].includes(kind);
}

/** The referee's `faultsInjected` (since its last reset). */
export interface InjectedFaults {
  error: number;
  drop: number;
  slow: number;
}

export interface FaultReconciliation {
  seen: Record<FaultSign, number>;
  injected: InjectedFaults;
  /** Fault-shaped 5xx whose own request the sandbox did not fault that way: unexpected after all. */
  unexplained: Record<FaultSign, number>;
  /** How `unexplained` was decided: per request from the sandbox's log, or only by the totals. */
  method: 'request-id' | 'count';
  /** Indexes of the first unexplained responses' requests (request id `<prefix>-<n>`). */
  unexplainedRequests: number[];
  /**
   * Fault-shaped 5xx beyond the referee's totals. An injected error is a relayed 500; a drop, a
   * 502; a slow answer (slower than the gateway's upstream timeout, whatever else was drawn) a 504.
   * A sound bound but a loose one: the gateway retries most drops, so a real 502 can hide among
   * the drops that never reached the caller.
   */
  beyondInjected: Record<FaultSign, number>;
}

const MAX_UNEXPLAINED_LISTED = 10;

/** Whether the sandbox's log shows the fault that explains a response of this sign to request `n`. */
export function isExplained(sign: FaultSign, n: number, evidence: FaultEvidence): boolean {
  if (sign === 'upstream-500') return evidence.error.has(n);
  if (sign === 'gateway-502') return evidence.drop.has(n);
  return evidence.slow.has(n);
}

/**
 * `responses`: every fault-shaped response as [request index, sign]. Without evidence (no sandbox
 * log), only the totals decide.
 */
export function reconcileFaults(
  responses: ReadonlyArray<readonly [number, FaultSign]>,
  injected: Readonly<InjectedFaults>,
  evidence?: FaultEvidence,
): FaultReconciliation {
  const seen = signCounts();
  for (const [, sign] of responses) seen[sign]++;
  const beyondInjected: Record<FaultSign, number> = {
    'upstream-500': Math.max(0, seen['upstream-500'] - injected.error),
    'gateway-502': Math.max(0, seen['gateway-502'] - injected.drop),
    'gateway-504': Math.max(0, seen['gateway-504'] - injected.slow),
  };
  if (!evidence)
    return {
      seen,
      injected: { ...injected },
      unexplained: { ...beyondInjected },
      method: 'count',
      unexplainedRequests: [],
      beyondInjected,
    };
  const unexplained = signCounts();
  const unexplainedRequests: number[] = [];
  for (const [n, sign] of responses) {
    if (isExplained(sign, n, evidence)) continue;
    unexplained[sign]++;
    if (unexplainedRequests.length < MAX_UNEXPLAINED_LISTED) unexplainedRequests.push(n);
  }
  return { seen, injected: { ...injected }, unexplained, method: 'request-id', unexplainedRequests, beyondInjected };
}

function signCounts(): Record<FaultSign, number> {
  return { 'upstream-500': 0, 'gateway-502': 0, 'gateway-504': 0 };
}

/** Kind counts with the unexplained fault-shaped 5xx moved to `unexpected-5xx`. */
export function reconciledKinds(
  kinds: Readonly<Record<ResponseKind, number>>,
  reconciliation: FaultReconciliation,
): Record<ResponseKind, number> {
  const moved = FAULT_SIGNS.reduce((sum, sign) => sum + reconciliation.unexplained[sign], 0);
  return {
    ...kinds,
    'upstream-fault-5xx': kinds['upstream-fault-5xx'] - moved,
    'unexpected-5xx': kinds['unexpected-5xx'] + moved,
  };
}

export function zeroKinds(): Record<ResponseKind, number> {
  return Object.fromEntries(KINDS.map((k) => [k, 0])) as Record<ResponseKind, number>;
}
