/** The text form of an explanation: a verdict line, then one labelled line per reason. */
import { describeRule } from '../gateway/policy/caller-rules';
import type { CreateConstraints, UpsizeConstraints } from '../gateway/least-privilege/types';
import type { CallerFacts, Explanation, LeastPrivilegeFacts, LimitFacts, OperationFacts, QuotaFacts } from './explain';

export interface ExplainedRequest {
  caller: string;
  method: string;
  target: string;
  policy: string;
  /** Where an allowed request goes: the policy's upstream base URL, or the built-in sandbox. */
  upstream: string;
}

const line = (label: string, text: string) => `  ${label.padEnd(12)} ${text}\n`;

/** A label's first text on its line, the rest below it, aligned. */
const lines = (label: string, texts: readonly string[]) =>
  texts.map((text, index) => line(index === 0 ? label : '', text)).join('');

function operationLine(operation: OperationFacts): string {
  return line(
    'operation',
    `${operation.id}: ${operation.method} ${operation.pathTemplate} (${operation.class}) — ${operation.summary}`,
  );
}

export function describeLimit(limit: LimitFacts): string {
  const auto = limit.auto
    ? ` (limits: auto — initially; follows the provider within ${limit.auto.minPerSecond}–${limit.auto.maxPerSecond}/s)`
    : '';
  return `${limit.class} ${limit.ratePerSecond}/s × safety ${limit.safety} = ${limit.effectivePerSecond}/s${auto}, shared by every caller and replica of account ${limit.accountId}`;
}

/** One readable rule per constrained field, in the order the checks report them. */
export function describeCreateConstraints(create: CreateConstraints): string[] {
  const rules: string[] = [];
  if (create.regions) rules.push(`region: one of ${create.regions.join(', ')}`);
  if (create.images) rules.push(`image: one of ${create.images.join(', ')}`);
  if (create.specifications) rules.push(`specification: one of ${create.specifications.join(', ')}`);
  if (create.requiredTags) rules.push(`tags: must include ${create.requiredTags.join(', ')}`);
  if (create.allowedTags) {
    const globs = create.allowedTags.some((tag) => tag.includes('*')) ? ' (* matches any characters)' : '';
    const required = create.requiredTags ? ', or a required tag' : '';
    rules.push(`tags: each one of ${create.allowedTags.join(', ')}${globs}${required}`);
  }
  if (create.hostNamePattern !== undefined) rules.push(`hostName: must match ${create.hostNamePattern}`);
  if (create.withPublicIp === false) rules.push('withPublicIp: may not be true');
  return rules;
}

export function describeUpsizeConstraints(upsize: UpsizeConstraints): string[] {
  return upsize.specifications ? [`newSpecification: one of ${upsize.specifications.join(', ')}`] : [];
}

function describeQuotas(quotas: QuotaFacts): string[] {
  const rows: string[] = [];
  const caller = quotas.caller ?? {};
  const callerLimits = [
    ...(caller.liveComputes !== undefined ? [`${caller.liveComputes} live computes`] : []),
    ...(caller.createsPerHour !== undefined ? [`${caller.createsPerHour} creates per rolling hour`] : []),
  ];
  if (callerLimits.length > 0) rows.push(`caller: at most ${callerLimits.join(', ')}`);
  if (quotas.account?.liveComputes !== undefined)
    rows.push(`account ${quotas.account.accountId}: at most ${quotas.account.liveComputes} live computes`);
  const effect =
    quotas.effect === 'counts'
      ? 'a create counts against these'
      : "a delete through the gateway gives the compute's place back";
  return [`${effect} (the counts are enforced at request time)`, ...rows];
}

function describeLeastPrivilege(callerId: string, facts: LeastPrivilegeFacts): string {
  let out = '';
  if (facts.constraints?.create) out += lines('constraints', describeCreateConstraints(facts.constraints.create));
  if (facts.constraints?.upsize) out += lines('constraints', describeUpsizeConstraints(facts.constraints.upsize));
  const { ownership } = facts;
  if (ownership) {
    const foreign = ownership.foreignStatus === 404 ? '404 (as if it did not exist)' : '403';
    const text = {
      'own-computes-only': `only computes ${callerId} created through the gateway; any other → ${foreign}`,
      'lists-own-computes': `lists only computes ${callerId} created through the gateway`,
      'records-owner': `the new compute is recorded as ${callerId}'s${ownership.ownerTag ? `, tagged ${ownership.ownerTag}` : ''}`,
    }[ownership.effect];
    out += line('ownership', text);
  }
  if (facts.quotas) out += lines('quotas', describeQuotas(facts.quotas));
  if (facts.shadow)
    out += line('shadow', 'on: constraint, ownership and quota denials are logged and counted, not enforced');
  return out;
}

function verdict(explanation: Explanation): string {
  if (explanation.allowed) return 'ALLOWED';
  return `${explanation.outcome === 'bad-target' || explanation.outcome === 'unknown-route' ? 'REFUSED' : 'DENIED'} ${explanation.status} ${explanation.code}`;
}

export function formatExplanation(request: ExplainedRequest, explanation: Explanation): string {
  let out = `${verdict(explanation)}  ${request.caller} → ${request.method} ${request.target}\n${line('policy', request.policy)}`;
  switch (explanation.outcome) {
    case 'bad-target':
      return out + line('target', `${explanation.reason}: ${explanation.message}`);
    case 'unknown-route':
      out += line('route', `${explanation.reason}: ${explanation.message}`);
      return explanation.hint ? out + line('hint', explanation.hint) : out;
    case 'public':
      return (
        out +
        operationLine(explanation.operation) +
        line('public', 'the provider documents it without security: no token is checked and no rate slot is taken')
      );
    case 'unknown-caller':
      out += operationLine(explanation.operation);
      return (
        out +
        line(
          'caller',
          `"${request.caller}" is not configured; callers: ${explanation.knownCallers.join(', ') || '(none)'}`,
        )
      );
    case 'ambiguous-caller':
      return (
        out +
        operationLine(explanation.operation) +
        line(
          'caller',
          `a token with subject "${request.caller}" matches the rules of ${explanation.matchingCallers.join(', ')}: refused`,
        )
      );
    case 'missing-scope':
    case 'granted':
      break;
  }
  const { caller } = explanation;
  out += operationLine(explanation.operation);
  if (caller.authentication) out += line('identified', describeCertificateRule(caller.authentication));
  if (caller.matchedBy)
    out += line('matched', `${caller.id}, by its claim rule (${describeRule(caller.matchedBy.rule)})`);
  if (explanation.outcome === 'missing-scope') {
    out += line('missing', explanation.missingScope);
    out += line('caller has', caller.scopes.join(', '));
  } else {
    out += line('granted by', explanation.grantedBy);
  }
  if (explanation.tokenScopes !== undefined) {
    const narrowed = explanation.outcome === 'missing-scope' && explanation.narrowedByToken;
    const note = narrowed
      ? `narrows the grant: the caller's own scopes allow ${explanation.operation.id}, the token gives it up`
      : 'narrows the grant';
    out += line('token scope', `${explanation.tokenScopes.join(' ') || '(empty: grants nothing)'} — ${note}`);
  }
  if (explanation.ignoredTokenScopes) {
    out += line(
      'ignored',
      `${explanation.ignoredTokenScopes.join(', ')} (not granted to the caller; a token cannot add a scope)`,
    );
  }
  if (explanation.outcome === 'missing-scope')
    return out + line('account', `${caller.accountId} (a denied request takes no rate slot)`);
  out += describeLeastPrivilege(caller.id, explanation.leastPrivilege);
  out += line('account', caller.accountId);
  out += line('limit', describeLimit(explanation.limit));
  const quota = caller.requestsPerMinute !== undefined ? `; at most ${caller.requestsPerMinute} requests/min` : '';
  out += line('caller', `weight ${caller.weight}, waits up to ${caller.maxWaitMs} ms for a slot, then 429${quota}`);
  return (
    out +
    line('forwarded', `${explanation.operation.method} ${explanation.operation.upstreamPath} to ${request.upstream}`)
  );
}

/** A caller named by a client certificate: which one, and whether a token is needed too. */
function describeCertificateRule(rule: NonNullable<CallerFacts['authentication']>): string {
  const identity = rule.certificate;
  const shown =
    identity === undefined ? '' : 'uri' in identity ? ` uri ${identity.uri}` : ` subject ${identity.subject}`;
  return rule.mode === 'certificate'
    ? `by its client certificate${shown} (no token)`
    : `by a token and its client certificate${shown}`;
}
