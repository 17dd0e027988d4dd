import { ownerTagProblem } from '../least-privilege/owner-tag';
import { rulesMayOverlap } from './caller-rules';
import { DEFAULT_SCOPES } from './default-scopes';
import { isWildcard, scopesMatching } from './patterns';
import type { PathedProblem } from './problems';
import { subjectKey } from '../auth/certificate-identity';
import { DEFAULT_LIMITS_KEY, type PolicyDocument } from './schema';

/** Every scope name a caller may be granted: the shipped ones and the policy's own. */
export function scopeNames(document: PolicyDocument): string[] {
  return [...new Set([...Object.keys(DEFAULT_SCOPES), ...Object.keys(document.scopes)])];
}

/**
 * Checks that cross sections: names used in one place must be defined in another. Runs on a
 * document whose shape is already valid.
 */
export function checkReferences(document: PolicyDocument): PathedProblem[] {
  const problems: PathedProblem[] = [];
  const accounts = new Set(Object.keys(document.accounts));
  const scopes = scopeNames(document);

  for (const name of Object.keys(document.limits)) {
    if (name !== DEFAULT_LIMITS_KEY && !accounts.has(name)) {
      problems.push({
        at: ['limits', name],
        message: `unknown account "${name}" (limits apply to accounts, or "${DEFAULT_LIMITS_KEY}")`,
      });
    }
  }

  for (const [callerId, caller] of Object.entries(document.callers)) {
    if (!accounts.has(caller.account)) {
      problems.push({ at: ['callers', callerId, 'account'], message: `unknown account "${caller.account}"` });
    }
    caller.scopes.forEach((pattern, index) => {
      if (scopesMatching(pattern, scopes).length > 0) return;
      const message = isWildcard(pattern)
        ? `scope pattern "${pattern}" matches no scope`
        : `unknown scope "${pattern}"`;
      problems.push({ at: ['callers', callerId, 'scopes', index], message });
    });
    // The owner tag is made of the caller's name, so whether it can be written depends on both.
    const ownerTag = caller.ownership?.ownerTag ? ownerTagProblem(callerId) : undefined;
    if (ownerTag) problems.push({ at: ['callers', callerId, 'ownership', 'ownerTag'], message: ownerTag });
  }
  problems.push(...certificateProblems(document));
  problems.push(...overlappingRules(document));
  return problems;
}

/**
 * A caller named by a client certificate needs the listener to ask for one, and a certificate entry
 * that nothing checks (`authentication: token`) would only mislead. One certificate names one caller.
 */
function certificateProblems(document: PolicyDocument): PathedProblem[] {
  const problems: PathedProblem[] = [];
  const clientCertificates = document.listen.tls?.clientCa !== undefined;
  const claimedBy = new Map<string, string>();
  for (const [callerId, caller] of Object.entries(document.callers)) {
    const at = ['callers', callerId];
    if (caller.authentication === 'token') {
      if (caller.certificate)
        problems.push({
          at: [...at, 'certificate'],
          message: 'is never checked with authentication "token"; set "certificate" or "token+certificate"',
        });
      continue;
    }
    if (!clientCertificates)
      problems.push({
        at: [...at, 'authentication'],
        message: `"${caller.authentication}" needs client certificates: configure listen.tls.clientCa`,
      });
    if (!caller.certificate) {
      problems.push({
        at: [...at, 'certificate'],
        message: `is required with authentication "${caller.authentication}" (uri or subject)`,
      });
      continue;
    }
    const [kind, value] =
      caller.certificate.uri !== undefined ? ['uri', caller.certificate.uri] : ['subject', caller.certificate.subject!];
    const key = kind === 'uri' ? `uri ${value}` : `subject ${subjectKey(value)}`;
    const first = claimedBy.get(key);
    if (first !== undefined)
      problems.push({
        at: [...at, 'certificate', kind],
        message: `${kind} "${value}" already names caller "${first}"`,
      });
    else claimedBy.set(key, callerId);
  }
  return problems;
}

/** Two claim rules some token could satisfy together: at request time it would be refused, so refuse the policy. */
function overlappingRules(document: PolicyDocument): PathedProblem[] {
  const ruled = Object.entries(document.callers).filter(([, caller]) => caller.match !== undefined);
  const problems: PathedProblem[] = [];
  ruled.forEach(([id, caller], index) => {
    const other = ruled.slice(0, index).find(([, earlier]) => rulesMayOverlap(earlier.match!, caller.match!));
    if (other)
      problems.push({
        at: ['callers', id, 'match'],
        message: `can match the same token as callers.${other[0]}.match; make the rules exclusive (a token both match would be refused)`,
      });
  });
  return problems;
}
