/** The text form of an explanation: a verdict line, then one labelled line per reason. */
import type { Explanation, LimitFacts, OperationFacts } from './explain';

export interface ExplainedRequest {
  caller: string;
  method: string;
  target: string;
  policy: string;
  /** Where an allowed request goes: the policy's upstream base URL, or the built-in sandbox. */
  upstream: string;
}

const line = (label: string, text: string) => `  ${label.padEnd(12)} ${text}\n`;

function operationLine(operation: OperationFacts): string {
  return line('operation', `${operation.id}: ${operation.method} ${operation.pathTemplate} (${operation.class}) — ${operation.summary}`);
}

export function describeLimit(limit: LimitFacts): string {
  return `${limit.class} ${limit.ratePerSecond}/s × safety ${limit.safety} = ${limit.effectivePerSecond}/s, shared by every caller and replica of account ${limit.accountId}`;
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
      return out + operationLine(explanation.operation) + line('public', 'the provider documents it without security: no token is checked and no rate slot is taken');
    case 'unknown-caller':
      out += operationLine(explanation.operation);
      return out + line('caller', `"${request.caller}" is not configured; callers: ${explanation.knownCallers.join(', ') || '(none)'}`);
    case 'missing-scope':
    case 'granted':
      break;
  }
  const { caller } = explanation;
  out += operationLine(explanation.operation);
  if (explanation.outcome === 'missing-scope') {
    out += line('missing', explanation.missingScope);
    out += line('caller has', caller.scopes.join(', '));
  } else {
    out += line('granted by', explanation.grantedBy);
  }
  if (explanation.tokenScopes !== undefined) {
    const narrowed = explanation.outcome === 'missing-scope' && explanation.narrowedByToken;
    const note = narrowed ? `narrows the grant: the caller's own scopes allow ${explanation.operation.id}, the token gives it up` : 'narrows the grant';
    out += line('token scope', `${explanation.tokenScopes.join(' ') || '(empty: grants nothing)'} — ${note}`);
  }
  if (explanation.ignoredTokenScopes) {
    out += line('ignored', `${explanation.ignoredTokenScopes.join(', ')} (not granted to the caller; a token cannot add a scope)`);
  }
  if (explanation.outcome === 'missing-scope') return out + line('account', `${caller.accountId} (a denied request takes no rate slot)`);
  out += line('account', caller.accountId);
  out += line('limit', describeLimit(explanation.limit));
  const quota = caller.requestsPerMinute !== undefined ? `; at most ${caller.requestsPerMinute} requests/min` : '';
  out += line('caller', `weight ${caller.weight}, waits up to ${caller.maxWaitMs} ms for a slot, then 429${quota}`);
  return out + line('forwarded', `${explanation.operation.method} ${explanation.operation.upstreamPath} to ${request.upstream}`);
}
