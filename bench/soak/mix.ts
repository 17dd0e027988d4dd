/**
 * The soak's traffic mix, pure: what each request intends, in a fixed interleaved order, and the
 * request that carries that intent, either through the gateway or straight to the sandbox (the
 * baseline), where the sandbox's own keys play the same parts.
 */

export const INTENTS = ['read', 'write', 'over-limit', 'bad-token', 'missing-scope'] as const;
export type Intent = (typeof INTENTS)[number];

/**
 * Parts per hundred. Reads and writes are allowed (a caller with ample limits); `over-limit` reads
 * go to a caller whose account is offered 2.5 × its limit; `bad-token` and `missing-scope` are
 * refused before the upstream.
 */
export const MIX: Readonly<Record<Intent, number>> = Object.freeze({
  read: 60,
  write: 8,
  'over-limit': 12,
  'bad-token': 10,
  'missing-scope': 10,
});

/** The over-limit caller's account is offered this multiple of its read limit. */
export const OVER_LIMIT_FACTOR = 2.5;

/**
 * One cycle of intents with exact counts, spread evenly (smooth weighted round robin, as nginx
 * balances upstreams): every window of the cycle holds about its share of each intent.
 */
export function intentCycle(weights: Readonly<Record<Intent, number>> = MIX): Intent[] {
  const total = INTENTS.reduce((sum, intent) => sum + weights[intent], 0);
  const current = Object.fromEntries(INTENTS.map((i) => [i, 0])) as Record<Intent, number>;
  const cycle: Intent[] = [];
  for (let n = 0; n < total; n++) {
    let best: Intent = INTENTS[0];
    for (const intent of INTENTS) {
      current[intent] += weights[intent];
      if (current[intent] > current[best]) best = intent;
    }
    current[best] -= total;
    cycle.push(best);
  }
  return cycle;
}

/** The over-limit caller's read limit: its share of the offered rate ÷ OVER_LIMIT_FACTOR. */
export function overLimitReadPerSec(ratePerSec: number, weights: Readonly<Record<Intent, number>> = MIX): number {
  const total = INTENTS.reduce((sum, intent) => sum + weights[intent], 0);
  return Math.round(((ratePerSec * weights['over-limit']) / total / OVER_LIMIT_FACTOR) * 1000) / 1000;
}

/** Ways a token is bad, taken in turn: each is a 401 for a different reason. */
export const BAD_TOKEN_KINDS = ['wrong-signature', 'expired', 'malformed', 'missing'] as const;
export type BadTokenKind = (typeof BAD_TOKEN_KINDS)[number];

export interface GatewayCredentials {
  mode: 'gateway';
  /** Bearer tokens: the allowed caller, the over-limit caller, a caller without computes:create. */
  app: string;
  batch: string;
  viewer: string;
  /** Bad tokens by kind (`missing` sends no Authorization header). */
  bad: Readonly<Record<Exclude<BadTokenKind, 'missing'>, string>>;
}

export interface DirectCredentials {
  mode: 'direct';
  /** Sandbox keys: an owner (reads and creates), another key for the over-limit part, a member (no writes). */
  owner: string;
  other: string;
  member: string;
  /** Not a sandbox key: 401. */
  unknown: string;
}

export type Credentials = GatewayCredentials | DirectCredentials;

export interface RequestSpec {
  method: 'GET' | 'POST';
  /** Below the origin, e.g. `/api/v1/regions`. */
  path: string;
  /** The whole header value, or undefined for none. */
  authorization?: string;
  /** A create body (JSON); sent with a fresh Idempotency-Key. */
  body?: string;
}

const READ_PATHS = ['/api/v1/computes/specifications', '/api/v1/images', '/api/v1/regions'] as const;
const CREATE_PATH = '/api/v1/computes';

export function createBody(n: number): string {
  return JSON.stringify({
    hostName: `soak-${n % 1_000_000}`,
    image: 'UBUNTU-24.04',
    region: 'KGL-1',
    specification: 'S-1C',
    publicKeys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB soak@bench'],
  });
}

/** The request carrying `intent` for the `n`-th time (0-based, counted per intent). */
export function requestFor(intent: Intent, n: number, credentials: Credentials): RequestSpec {
  const read = READ_PATHS[n % READ_PATHS.length]!;
  const bearer = (token: string) => `Bearer ${token}`;
  if (credentials.mode === 'direct') {
    switch (intent) {
      case 'read':
        return { method: 'GET', path: read, authorization: bearer(credentials.owner) };
      case 'write':
        return { method: 'POST', path: CREATE_PATH, authorization: bearer(credentials.owner), body: createBody(n) };
      case 'over-limit':
        return { method: 'GET', path: read, authorization: bearer(credentials.other) };
      case 'bad-token':
        return { method: 'GET', path: read, authorization: bearer(credentials.unknown) };
      case 'missing-scope':
        return { method: 'POST', path: CREATE_PATH, authorization: bearer(credentials.member), body: createBody(n) };
    }
  }
  switch (intent) {
    case 'read':
      return { method: 'GET', path: read, authorization: bearer(credentials.app) };
    case 'write':
      return { method: 'POST', path: CREATE_PATH, authorization: bearer(credentials.app), body: createBody(n) };
    case 'over-limit':
      return { method: 'GET', path: read, authorization: bearer(credentials.batch) };
    case 'bad-token': {
      const kind = BAD_TOKEN_KINDS[n % BAD_TOKEN_KINDS.length]!;
      return {
        method: 'GET',
        path: read,
        ...(kind === 'missing' ? {} : { authorization: bearer(credentials.bad[kind]) }),
      };
    }
    case 'missing-scope':
      return { method: 'POST', path: CREATE_PATH, authorization: bearer(credentials.viewer), body: createBody(n) };
  }
}
