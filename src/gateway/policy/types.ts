import type { AccountRateLimits } from '../../schedule/types';
import type { LimitBounds } from '../../schedule/limit-adoption';
import type { OperationId } from '../../catalog/catalog';
import type { VerificationKey } from '../auth/verification-key';
import type { CallerMatchRule } from './caller-rules';
import type { AccountQuotas, LeastPrivilegePolicy } from '../least-privilege/types';
import type { ConfigProblem } from './problems';

/** How the policy reaches its secrets; injected so that tests need neither env nor disk. */
export interface PolicyIo {
  readEnv(name: string): string | undefined;
  /** Throws when the file cannot be read (the error's `code`, e.g. ENOENT, is reported). */
  readFile(path: string): string;
}

export interface ListenPolicy {
  readonly host: string;
  readonly port: number;
  /** Where the admin server (metrics, probes) binds; independent of `host`, loopback by default. */
  readonly adminHost: string;
  readonly adminPort: number;
  /** TLS on the public port; absent: plain HTTP. */
  readonly tls?: ListenTlsPolicy;
}

export type TlsMinVersion = 'TLSv1.2' | 'TLSv1.3';

export interface ListenTlsPolicy {
  /** Absolute paths, as resolved against the policy file's directory. */
  readonly certFile: string;
  readonly keyFile: string;
  readonly clientCaFile?: string;
  readonly minVersion: TlsMinVersion;
  /**
   * The files' checked contents. Absent only in a policy resolved without its secrets
   * (`check-config --no-secrets`, `explain`), which is never served.
   */
  readonly material?: TlsMaterial;
}

/** Read and checked together: a certificate that matches its key, not expired, and a parseable CA bundle. */
export interface TlsMaterial {
  /** PEM: the server certificate and any intermediates. */
  readonly certificatePem: string;
  /** PEM: the private key. Non-enumerable, so serialising the policy leaves it out. */
  readonly keyPem: string;
  /** PEM: the trust bundle for client certificates, when `clientCa` is configured. */
  readonly clientCaPem?: string;
  /** The server certificate's `notAfter`, in ms since the epoch. */
  readonly certificateNotAfterMs: number;
}

export type CallerAuthentication = 'token' | 'certificate' | 'token+certificate';

/** What a verified client certificate must show to name a caller. */
export type CertificateIdentity = { readonly uri: string } | { readonly subject: string };

export interface UpstreamPolicy {
  /** Without a trailing slash. */
  readonly baseUrl: string;
  readonly timeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly maxSockets: number;
}

/**
 * The provider's limits for one key (launch: 30 reads/s, 5 writes/s, or one shared rate), in the
 * schedule's own shape, so the schedule takes them as they are; the safety factor always resolved.
 */
export type AccountLimits = AccountRateLimits & { readonly safety: number; readonly auto?: AutoLimits };

/**
 * `limits: auto`: the rates above are the initial ones; the gateway adopts what the provider
 * advertises within the bounds (`src/gateway/provider-limits.ts`).
 */
export interface AutoLimits {
  readonly bounds: LimitBounds;
}

export interface AccountPolicy {
  readonly id: string;
  /** The real Strettch key. Non-enumerable, so serialising the policy (a log line, a dump) leaves it out. */
  readonly apiKey: string;
  readonly limits: AccountLimits;
  /** Shared by every caller of the account; absent when none is configured. */
  readonly quotas?: AccountQuotas;
}

export interface AuthPolicy {
  readonly issuer: string;
  readonly audience: string;
  readonly maxTokenLifetimeSec: number;
  readonly clockToleranceSec: number;
  readonly maxTokenBytes: number;
  readonly keys: readonly VerificationKey[];
  /** Keys fetched from the issuer: from `jwksUrl`, or from the `jwks_uri` discovery names. */
  readonly keySet?: KeySetPolicy;
}

export interface KeySetPolicy {
  /** Read `jwks_uri` from `<issuer>/.well-known/openid-configuration`. */
  readonly discovery: boolean;
  /** The configured `jwksUrl`; absent with discovery. */
  readonly jwksUri?: string;
  readonly allowedJwksHosts: readonly string[];
  readonly cacheMaxAgeMs: number;
  /** 60 000 ÷ `requestsPerMinute`: the least time between two fetches. */
  readonly minRefreshIntervalMs: number;
  readonly maxKeys: number;
  readonly maxDocumentBytes: number;
  readonly timeoutMs: number;
}

export interface ScopeGrant {
  readonly scope: string;
  readonly operations: readonly OperationId[];
}

export interface CallerPolicy {
  /** The token `sub` this caller authenticates as, unless it has a `match` rule (then only a label). */
  readonly id: string;
  /** A claim rule: tokens it matches are this caller (an exact `sub` of another caller wins). */
  readonly match?: CallerMatchRule;
  readonly accountId: string;
  /** Concrete scopes (patterns already expanded), in the order the policy lists them. */
  readonly grants: readonly ScopeGrant[];
  readonly weight: number;
  readonly maxWaitMs: number;
  /** Fraction of the schedule kept for this caller under saturation, in [0, 0.5]. */
  readonly reservedShare: number;
  readonly maxQueued: number;
  readonly requestsPerMinute?: number;
  /** Per operation, the scope a denial names; shared by all callers of a policy. */
  readonly missingScopeHints: Readonly<Partial<Record<OperationId, string>>>;
  /** Request constraints, ownership, quotas and shadow mode (issue #7); only `shadow` is always there. */
  readonly leastPrivilege: LeastPrivilegePolicy;
  /** `token` unless configured: a JWT alone, as before client certificates. */
  readonly authentication: CallerAuthentication;
  /** Present when `authentication` involves a certificate. */
  readonly certificate?: CertificateIdentity;
}

/** Resolved, checked and deeply frozen. Records have no prototype, so a `sub` like "constructor" finds nothing. */
export interface Policy {
  readonly sourcePath: string;
  readonly listen: ListenPolicy;
  readonly upstream: UpstreamPolicy;
  readonly accounts: Readonly<Record<string, AccountPolicy>>;
  readonly auth: AuthPolicy;
  /** Shipped defaults merged with the policy's own, wildcards expanded. */
  readonly scopes: Readonly<Record<string, readonly OperationId[]>>;
  readonly callers: Readonly<Record<string, CallerPolicy>>;
  readonly protection: {
    readonly badTokens?: { readonly maxFailures: number; readonly windowSec: number; readonly lockoutSec: number };
  };
}

export type PolicyResult = { ok: true; policy: Policy } | { ok: false; errors: ConfigProblem[] };

/** What `token --config` reads from a policy: the token's claims and the one key it signs with. */
export interface SigningPolicy {
  readonly issuer: string;
  readonly audience: string;
  readonly maxTokenLifetimeSec: number;
  readonly callers: readonly string[];
  /** The HS256 key to sign with; absent when the policy has none (or none with the asked kid). */
  readonly key?: VerificationKey;
}

export type SigningPolicyResult = { ok: true; signing: SigningPolicy } | { ok: false; errors: ConfigProblem[] };
