import { z } from 'zod';
import { JWT_ALGORITHMS, algorithmFamily } from '../auth/algorithms';
import { accountQuotasSchema, callerLeastPrivilegeShape } from './least-privilege-schema';
import { CLAIM_PATH, SUBJECT_PATTERN } from './caller-rules';
import { operationsMatching } from './patterns';
import { secretRefSchema } from './secret-ref';
import { DEFAULT_SAFETY_BOUNDS, MAX_ADAPTIVE_SAFETY } from '../../schedule/adaptive-margin';

/**
 * The shape of the policy document. Every object is strict (an unknown key is an error, because a
 * typo such as `scope:` for `scopes:` must not silently grant or drop anything). Checks that need
 * only the value at hand live here; checks across sections live in check-references.ts.
 */

const ACCOUNT_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
const SCOPE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*(:[A-Za-z0-9._-]+)*$/;
const SCOPE_PATTERN = /^(\*|[A-Za-z0-9][A-Za-z0-9._-]*(:[A-Za-z0-9._-]+)*(:\*)?)$/;
const OPERATION_PATTERN = /^(\*|[a-z][a-z0-9]*(\.[a-z][a-z0-9]*)*(\.\*)?)$/;
/** JWT `sub` values are printable; `__proto__` would be swallowed by object keys. */
const CALLER_NAME = /^(?!__proto__$)[\x21-\x7E]{1,256}$/;
const KID = /^[\x21-\x7E]{1,256}$/;
/** A DNS name, an IPv4 address, or an IPv6 address in brackets as URL.hostname writes it. */
const HOST_NAME = /^([A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*|\[[0-9A-Fa-f:.]+\])$/;

export const DEFAULT_LIMITS_KEY = 'default';

const port = z.number().int().min(0).max(65535);
const positiveMs = (max: number) => z.number().int().min(1).max(max);

/** Versions a listener may require at least; nothing older than TLS 1.2 can be configured. */
export const TLS_MIN_VERSIONS = ['TLSv1.2', 'TLSv1.3'] as const;

const filePath = z.string().min(1, 'must not be empty');

const listenTlsSchema = z.strictObject({
  /** PEM: the server certificate, then any intermediates. */
  certFile: filePath,
  /** PEM: its private key (unencrypted; mount it as a secret). */
  keyFile: filePath,
  minVersion: z.enum(TLS_MIN_VERSIONS).default('TLSv1.2'),
  /** Client certificates are asked for and verified against this bundle; callers choose whether they need one. */
  clientCa: z.strictObject({ caFile: filePath }).optional(),
});

/** RFC 3986 scheme and visible ASCII, no `,` or `"` (SPIFFE IDs never have them; they would blur a SAN list). */
const CERTIFICATE_URI = /^[A-Za-z][A-Za-z0-9+.-]*:[\x21-\x7E]+$/;
/** `CN=billing,O=shop`: attribute=value pairs; values printable, without `,` `=` `\\` `"` (no escapes to misread). */
const SUBJECT_PAIR = '[A-Za-z][A-Za-z0-9.]*=[\\x20-\\x21\\x23-\\x2B\\x2D-\\x3C\\x3E-\\x5B\\x5D-\\x7E]+';
const CERTIFICATE_SUBJECT = new RegExp(`^${SUBJECT_PAIR}(,${SUBJECT_PAIR})*$`);

/** Which verified client certificate names a caller: its URI SAN (a SPIFFE ID) or its whole subject. */
const callerCertificateSchema = z
  .strictObject({
    uri: z
      .string()
      .regex(CERTIFICATE_URI, 'is not a URI (like spiffe://cluster.local/ns/shop/sa/billing)')
      .refine((uri) => !/[,"]/.test(uri), 'must not contain "," or \'"\'')
      .optional(),
    subject: z.string().regex(CERTIFICATE_SUBJECT, 'is not a subject like CN=billing,O=shop').optional(),
  })
  .refine((c) => (c.uri === undefined) !== (c.subject === undefined), 'give exactly one of "uri" or "subject"');

/** How a caller proves who it is: a JWT (today's and the default), a client certificate, or both. */
export const CALLER_AUTHENTICATIONS = ['token', 'certificate', 'token+certificate'] as const;

const listenSchema = z
  .strictObject({
    host: z.string().min(1).default('127.0.0.1'),
    port: port.default(8080),
    /** Metrics and probes: loopback unless set, whatever `host` is, so opening the proxy does not open them. */
    adminHost: z.string().min(1).default('127.0.0.1'),
    adminPort: port.default(9090),
    /** TLS on the public port (absent: plain HTTP, as before); the admin port stays plain HTTP. */
    tls: listenTlsSchema.optional(),
  })
  .superRefine((listen, ctx) => {
    // Port 0 (any free port) is for tests and may repeat.
    if (listen.port !== 0 && listen.port === listen.adminPort) {
      ctx.addIssue({ code: 'custom', path: ['adminPort'], message: 'must differ from listen.port' });
    }
  });

const httpUrl = (what: string, allowPlainHttp: 'anywhere' | 'loopback') =>
  z.string().superRefine((value, ctx) => {
    const problem = urlProblem(value, allowPlainHttp);
    if (problem) ctx.addIssue({ code: 'custom', message: `${what} ${problem}` });
  });

function urlProblem(value: string, allowPlainHttp: 'anywhere' | 'loopback'): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'is not an absolute URL';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'must use http or https';
  if (
    url.protocol === 'http:' &&
    allowPlainHttp === 'loopback' &&
    !['localhost', '127.0.0.1', '[::1]'].includes(url.hostname)
  ) {
    return 'must use https (plain http only for localhost)';
  }
  // Credentials in a URL end up in logs; a query or fragment on a base URL is a mistake.
  if (url.username !== '' || url.password !== '') return 'must not carry credentials';
  if (url.search !== '' || url.hash !== '') return 'must not have a query or fragment';
  return undefined;
}

const upstreamSchema = z.strictObject({
  // Plain http is allowed for the bundled sandbox and local test upstreams.
  baseUrl: httpUrl('baseUrl', 'anywhere').default('https://api.strettch.cloud/api/v1'),
  timeoutMs: positiveMs(600_000).default(30_000),
  connectTimeoutMs: positiveMs(120_000).default(5_000),
  maxSockets: z.number().int().min(1).max(4096).default(64),
});

const accountSchema = z.strictObject({
  apiKey: secretRefSchema,
  /** Limits shared by every caller of the account (issue #7). */
  quotas: accountQuotasSchema.optional(),
});

const ratePerSecond = z.number().gt(0).max(100_000);

/** Either one shared rate (`all`, the provider's later "2/s for everything") or one per class. */
function requireOneShape(profile: { read?: number; write?: number; all?: number }, ctx: z.RefinementCtx): void {
  const perClass = profile.read !== undefined || profile.write !== undefined;
  if (profile.all !== undefined && perClass) {
    ctx.addIssue({ code: 'custom', message: 'give either "all" or "read" and "write", not both' });
  } else if (profile.all === undefined && (profile.read === undefined || profile.write === undefined)) {
    ctx.addIssue({ code: 'custom', message: 'give both "read" and "write", or "all"' });
  }
}

const ratesSchema = z
  .strictObject({ read: ratePerSecond.optional(), write: ratePerSecond.optional(), all: ratePerSecond.optional() })
  .superRefine(requireOneShape);

/** The launch limits (30 reads/s, 5 writes/s) are the most the provider has published: the default ceiling. */
export const AUTO_LIMITS_DEFAULTS = Object.freeze({ minPerSecond: 1, maxPerSecond: 30 });

/** `limits: auto`: follow what the provider advertises, within these bounds (issue #15). */
const autoLimitsSchema = z
  .strictObject({
    /** Never adopt less than this per second (per class, or for `all`). */
    min: ratePerSecond.default(AUTO_LIMITS_DEFAULTS.minPerSecond),
    /** Never adopt more than this per second. */
    max: ratePerSecond.default(AUTO_LIMITS_DEFAULTS.maxPerSecond),
    /** In force until the provider has said anything; default: the `default` profile's, else the launch limits. */
    initial: ratesSchema.optional(),
  })
  .superRefine((auto, ctx) => {
    if (auto.min > auto.max) ctx.addIssue({ code: 'custom', path: ['min'], message: 'must not exceed "max"' });
    for (const [name, rate] of Object.entries(auto.initial ?? {}))
      if (rate !== undefined && (rate < auto.min || rate > auto.max))
        ctx.addIssue({ code: 'custom', path: ['initial', name], message: 'must lie within "min" and "max"' });
  });

/**
 * `safety`: a fixed factor in (0, 1]; `auto` (sized from the measured send delays within the default
 * bounds); or `{ min, max }` (adaptive within these bounds, each defaulting as for `auto`).
 */
const safetySchema = z.union(
  [
    z.number().gt(0).max(1),
    z.literal('auto'),
    z
      .strictObject({
        min: z.number().gt(0).max(1).optional(),
        max: z.number().gt(0).max(MAX_ADAPTIVE_SAFETY).optional(),
      })
      .superRefine((bounds, ctx) => {
        const min = bounds.min ?? DEFAULT_SAFETY_BOUNDS.min;
        const max = bounds.max ?? DEFAULT_SAFETY_BOUNDS.max;
        if (min > max) ctx.addIssue({ code: 'custom', path: ['min'], message: `must not exceed "max" (${max})` });
      }),
  ],
  {
    error: (issue) =>
      issue.code === 'invalid_union' && issue.errors.every((branch) => branch.some((e) => e.path.length === 0))
        ? `must be a number in (0, 1], "auto", or { min, max } with max at most ${MAX_ADAPTIVE_SAFETY}`
        : undefined,
  },
);

const limitsProfileSchema = z.preprocess(
  // `prod: auto` is `prod: { auto: {} }`: every bound at its default.
  (value) => (value === 'auto' ? { auto: {} } : value),
  z
    .strictObject({
      read: ratePerSecond.optional(),
      write: ratePerSecond.optional(),
      all: ratePerSecond.optional(),
      auto: autoLimitsSchema.optional(),
      safety: safetySchema.optional(),
    })
    .superRefine((profile, ctx) => {
      if (profile.auto === undefined) return requireOneShape(profile, ctx);
      if (profile.read !== undefined || profile.write !== undefined || profile.all !== undefined)
        ctx.addIssue({ code: 'custom', message: 'with "auto", give the starting limits as "auto.initial"' });
    }),
);

const keySchema = z
  .strictObject({
    kid: z.string().regex(KID, 'must be 1–256 printable ASCII characters without spaces'),
    algorithms: z
      .array(
        z.enum(JWT_ALGORITHMS, {
          error: (issue) =>
            issue.code === 'invalid_value'
              ? `algorithm ${describeAlgorithm(issue.input)} is not allowed; use ${JWT_ALGORITHMS.join(', ')}`
              : undefined,
        }),
      )
      .min(1),
    secret: secretRefSchema.optional(),
    publicKey: secretRefSchema.optional(),
    publicKeyFile: z.string().min(1).optional(),
  })
  .superRefine((key, ctx) => {
    const families = new Set(key.algorithms.map(algorithmFamily));
    if (families.size > 1) {
      ctx.addIssue({
        code: 'custom',
        path: ['algorithms'],
        message: 'a key serves one family: HS256 (a secret) or RS256 or ES256 (a public key)',
      });
      return;
    }
    const materials = (['secret', 'publicKey', 'publicKeyFile'] as const).filter((m) => key[m] !== undefined);
    if (materials.length !== 1) {
      ctx.addIssue({ code: 'custom', message: 'give exactly one of "secret", "publicKey" or "publicKeyFile"' });
      return;
    }
    const needsSecret = families.has('hmac');
    if (needsSecret && materials[0] !== 'secret') {
      ctx.addIssue({
        code: 'custom',
        path: [materials[0]!],
        message: 'HS256 verifies with a shared "secret", not a public key',
      });
    } else if (!needsSecret && materials[0] === 'secret') {
      ctx.addIssue({
        code: 'custom',
        path: ['secret'],
        message: `${key.algorithms.join(', ')} verifies with "publicKey" or "publicKeyFile", not a shared secret`,
      });
    }
  });

function describeAlgorithm(input: unknown): string {
  return typeof input === 'string' && input.length <= 32 ? JSON.stringify(input) : 'value';
}

/** How keys fetched from jwksUrl or through discovery are cached, refreshed and bounded. */
const jwksTuningSchema = z.strictObject({
  /** A key set older than this is fetched again in the background; cached keys keep answering meanwhile. */
  cacheMaxAgeSec: z.number().int().min(10).max(86_400).default(600),
  /** Most fetches a minute, whatever unknown kids arrive: a stream of bogus kids is no fetch amplifier. */
  requestsPerMinute: z.number().int().min(1).max(600).default(10),
  timeoutMs: z.number().int().min(100).max(60_000).default(5000),
  /** A key set with more keys is refused whole (and the cached one kept). */
  maxKeys: z.number().int().min(1).max(1000).default(50),
  /** Largest discovery document or key set read; the body is cut off past it. */
  maxBytes: z
    .number()
    .int()
    .min(1024)
    .max(4 * 1024 * 1024)
    .default(256 * 1024),
  /** Hosts besides the issuer's own a discovered jwks_uri may name (the kube-apiserver names its own address). */
  allowedHosts: z
    .array(z.string().regex(HOST_NAME, 'must be a host name or IP address, without scheme or port'))
    .default([]),
});

const authSchema = z
  .strictObject({
    issuer: z.string().min(1),
    audience: z.string().min(1),
    maxTokenLifetimeSec: z.number().int().min(1).max(86_400).default(3600),
    clockToleranceSec: z.number().int().min(0).max(300).default(30),
    maxTokenBytes: z.number().int().min(512).max(65_536).default(8192),
    keys: z.array(keySchema).default([]),
    // Keys are fetched from this URL only, never from a token's `jku`/`x5u`.
    jwksUrl: httpUrl('jwksUrl', 'loopback').optional(),
    /** OIDC discovery: the key set's URL comes from `<issuer>/.well-known/openid-configuration`. */
    discovery: z.boolean().default(false),
    jwks: jwksTuningSchema.prefault({}),
  })
  .superRefine((auth, ctx) => {
    if (auth.keys.length === 0 && auth.jwksUrl === undefined && !auth.discovery) {
      ctx.addIssue({ code: 'custom', path: ['keys'], message: 'configure at least one key, jwksUrl, or discovery' });
    }
    if (auth.discovery) {
      const problem = urlProblem(auth.issuer, 'loopback');
      if (problem) ctx.addIssue({ code: 'custom', path: ['issuer'], message: `with discovery, the issuer ${problem}` });
      if (auth.jwksUrl !== undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['jwksUrl'],
          message: 'give either jwksUrl or discovery (which reads the key set URL from the issuer), not both',
        });
    } else if (auth.jwks.allowedHosts.length > 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['jwks', 'allowedHosts'],
        message: 'only with discovery (they allow a discovered jwks_uri off the issuer host)',
      });
    }
    const firstIndexByKid = new Map<string, number>();
    auth.keys.forEach((key, index) => {
      const first = firstIndexByKid.get(key.kid);
      if (first === undefined) firstIndexByKid.set(key.kid, index);
      else
        ctx.addIssue({
          code: 'custom',
          path: ['keys', index, 'kid'],
          message: `duplicate kid "${key.kid}" (first at auth.keys[${first}])`,
        });
    });
  });

const operationPattern = z.string().superRefine((pattern, ctx) => {
  // One message per entry: a malformed pattern is not also reported as matching nothing.
  if (!OPERATION_PATTERN.test(pattern)) {
    ctx.addIssue({ code: 'custom', message: 'is not an operation id or pattern (like computes.get, computes.* or *)' });
  } else if (operationsMatching(pattern).length === 0) {
    ctx.addIssue({
      code: 'custom',
      message: pattern.endsWith('*') ? `pattern "${pattern}" matches no operation` : `unknown operation "${pattern}"`,
    });
  }
});

/** Matches tokens by claims instead of by name (a namespace's service accounts, say); see caller-rules.ts. */
const callerMatchSchema = z
  .strictObject({
    subject: z
      .string()
      .regex(SUBJECT_PATTERN, 'is a subject pattern: 1–256 printable ASCII characters, "*" for any run without ":"')
      .optional(),
    claims: z
      .record(
        z.string().regex(CLAIM_PATH, 'is a claim name: up to four "/"-separated keys (kubernetes.io/namespace)'),
        z.string().min(1).max(256),
      )
      .optional(),
  })
  .refine(
    (match) => match.subject !== undefined || Object.keys(match.claims ?? {}).length > 0,
    'give a subject pattern, claims, or both',
  );

const callerSchema = z.strictObject({
  account: z.string().min(1),
  /** Absent: the caller's name is the token `sub`. Present: the rule decides, and the name is only a label. */
  match: callerMatchSchema.optional(),
  scopes: z
    .array(z.string().regex(SCOPE_PATTERN, 'is not a scope name or pattern (like computes:read, computes:* or *)'))
    .min(1),
  /** Share of a saturated schedule relative to other callers. */
  weight: z.number().gt(0).max(1000).default(1),
  /** Longest the gateway queues this caller's request for a rate slot before answering 429. */
  maxWaitMs: z.number().int().min(0).max(60_000).default(1000),
  /** Capacity kept for this caller even when others saturate the schedule (a priority caller). */
  reservedShare: z.number().min(0).max(0.5).default(0),
  /** Most requests this caller may have queued on one schedule; more are answered 429 at once. */
  maxQueued: z.number().int().min(1).max(10_000).default(32),
  /** Protective quota: requests per minute for this caller (absent: none). */
  requestsPerMinute: z.number().int().min(1).max(1_000_000).optional(),
  /** `certificate` and `token+certificate` need `certificate` and `listen.tls.clientCa`. */
  authentication: z.enum(CALLER_AUTHENTICATIONS).default('token'),
  certificate: callerCertificateSchema.optional(),
  /** Least privilege beyond endpoints (issue #7): constraints, ownership, quotas, shadow. */
  ...callerLeastPrivilegeShape,
});

/** Protective limits that are not per caller. */
const protectionSchema = z.strictObject({
  /** Lock a client address out after repeated bad tokens. Off unless configured: behind a load balancer
   *  that hides client addresses it would lock everyone out together. */
  badTokens: z
    .strictObject({
      maxFailures: z.number().int().min(1).max(10_000),
      windowSec: z.number().int().min(1).max(86_400),
      lockoutSec: z.number().int().min(1).max(86_400),
    })
    .optional(),
});

export const policyDocumentSchema = z.strictObject({
  listen: listenSchema.prefault({}),
  upstream: upstreamSchema.prefault({}),
  accounts: z
    .record(
      z
        .string()
        .regex(ACCOUNT_NAME, 'account names are 1–64 letters, digits, "-" or "_", starting with a letter or digit')
        .refine((name) => name !== DEFAULT_LIMITS_KEY, `"${DEFAULT_LIMITS_KEY}" is reserved (limits.default)`),
      accountSchema,
    )
    .refine((accounts) => Object.keys(accounts).length > 0, 'configure at least one account'),
  limits: z.record(z.string(), limitsProfileSchema).default({}),
  auth: authSchema,
  scopes: z
    .record(
      z.string().regex(SCOPE_NAME, 'scope names are letters, digits, ".", "-", "_", in ":"-separated parts'),
      z.array(operationPattern),
    )
    .default({}),
  protection: protectionSchema.prefault({}),
  callers: z
    .record(
      z
        .string()
        .regex(CALLER_NAME, 'caller names (the token `sub`) are 1–256 printable ASCII characters without spaces'),
      callerSchema,
    )
    .refine((callers) => Object.keys(callers).length > 0, 'configure at least one caller'),
});

export type PolicyDocument = z.output<typeof policyDocumentSchema>;
export type AuthKeyDocument = PolicyDocument['auth']['keys'][number];
export type LimitsProfileDocument = PolicyDocument['limits'][string];
export type CallerDocument = PolicyDocument['callers'][string];
