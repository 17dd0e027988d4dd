/** The policy: the YAML file validated once at startup, resolved and frozen; and authorization over it. */
export {
  loadPolicyFile,
  loadSigningPolicyFile,
  parsePolicy,
  validatePolicyText,
  type DocumentResult,
} from './parse-policy';
export { resolvePolicy, DEFAULT_ACCOUNT_LIMITS, type ResolveOptions } from './resolve-policy';
export { authorize, PUBLIC_GRANT, type AuthorizationDecision, type CallerGrants } from './authorize';
export { callerForSubject, callerForToken, accountForCaller, type CallerMatch } from './callers';
export type { CallerMatchRule } from './caller-rules';
export { DEFAULT_SCOPES, defaultScopeFor } from './default-scopes';
export { operationMatches, operationsMatching, scopeMatches, scopesMatching } from './patterns';
export { formatPath, formatProblem, type ConfigProblem } from './problems';
export type { PolicyDocument } from './schema';
export type { SecretRef } from './secret-ref';
export type {
  AccountLimits,
  AccountPolicy,
  AuthPolicy,
  KeySetPolicy,
  CallerPolicy,
  ListenPolicy,
  Policy,
  PolicyIo,
  PolicyResult,
  ScopeGrant,
  SigningPolicy,
  SigningPolicyResult,
  UpstreamPolicy,
} from './types';
