// The compose demo load (docker-compose.yml, service `load`): plain Node 20, no dependencies.
// Open loop through the load balancer, in one-minute cycles: 30 s of reads at 20/s (under the
// 30/s limit), 30 s at 45/s (over it: the shared schedule queues, then answers 429), and
// throughout a few writes, reads by a second caller, denied writes, no token and a forged token.
// Bounded: stops after DURATION_SEC, at most MAX_IN_FLIGHT requests open at once.
/* global process, console, Buffer, URL, fetch, AbortSignal, setInterval, clearInterval */
import { createHmac, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';

const env = (name, fallback) => {
  const value = process.env[name] ?? fallback;
  if (value === undefined) throw new Error(`load: set ${name}`);
  return value;
};
const base = new URL(env('GATEWAY_URL')).origin;
// The token secret compose's `secrets` service generated (docker-compose.yml), or the value itself.
const secret = process.env.JWT_HS_SECRET_FILE
  ? readFileSync(process.env.JWT_HS_SECRET_FILE, 'utf8').trim()
  : env('JWT_HS_SECRET');
const issuer = env('TOKEN_ISSUER');
const audience = env('TOKEN_AUDIENCE');
const kid = env('TOKEN_KID');
const durationMs = Number(env('DURATION_SEC', '900')) * 1000;
const cycleMs = Number(env('CYCLE_SEC', '60')) * 1000;
const MAX_IN_FLIGHT = 200;
const TOKEN_LIFETIME_SEC = 900;

const b64url = (value) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** An HS256 token the compose policy accepts (its auth.keys entry `compose-hs`). */
function mint(sub) {
  const iat = Math.floor(Date.now() / 1000);
  const unsigned = `${b64url({ alg: 'HS256', typ: 'JWT', kid })}.${b64url({ sub, iss: issuer, aud: audience, iat, exp: iat + TOKEN_LIFETIME_SEC })}`;
  return `${unsigned}.${createHmac('sha256', secret).update(unsigned).digest('base64url')}`;
}

let tokens = {};
let tokensMintedMs = 0;
function token(sub) {
  if (Date.now() - tokensMintedMs > (TOKEN_LIFETIME_SEC / 2) * 1000) {
    tokens = { 'demo-reader': mint('demo-reader'), 'demo-operator': mint('demo-operator') };
    tokensMintedMs = Date.now();
  }
  return tokens[sub];
}

const createBody = () =>
  JSON.stringify({
    hostName: `load-${randomUUID().slice(0, 8)}`,
    image: 'UBUNTU-24.04',
    region: 'KGL-1',
    specification: 'S-1C',
    publicKeys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDemoLoadKey load@compose'],
  });
const bearer = (sub) => ({ authorization: `Bearer ${token(sub)}` });

/** Requests per second of each kind, by time since start. */
const KINDS = [
  {
    name: 'read',
    perSecond: (ms) => (ms % cycleMs < cycleMs / 2 ? 20 : 45),
    request: () => ({ method: 'GET', path: '/api/v1/computes', headers: bearer('demo-reader') }),
  },
  {
    name: 'operator-read',
    perSecond: () => 4,
    request: () => ({ method: 'GET', path: '/api/v1/regions', headers: bearer('demo-operator') }),
  },
  {
    name: 'write',
    perSecond: () => 1,
    request: () => ({
      method: 'POST',
      path: '/api/v1/computes',
      headers: { ...bearer('demo-operator'), 'content-type': 'application/json', 'idempotency-key': randomUUID() },
      body: createBody(),
    }),
  },
  {
    name: 'denied',
    perSecond: () => 1,
    request: () => ({
      method: 'POST',
      path: '/api/v1/computes',
      headers: { ...bearer('demo-reader'), 'content-type': 'application/json', 'idempotency-key': randomUUID() },
      body: createBody(),
    }),
  },
  { name: 'no-token', perSecond: () => 0.5, request: () => ({ method: 'GET', path: '/api/v1/computes', headers: {} }) },
  {
    name: 'forged',
    perSecond: () => 0.5,
    request: () => ({
      method: 'GET',
      path: '/api/v1/computes',
      headers: { authorization: `Bearer ${token('demo-reader').slice(0, -4)}AAAA` },
    }),
  },
];

const counts = {};
let inFlight = 0;
let skipped = 0;

async function send(kind) {
  if (inFlight >= MAX_IN_FLIGHT) return void skipped++;
  inFlight++;
  const { method, path, headers, body } = kind.request();
  let outcome;
  try {
    const res = await fetch(`${base}${path}`, { method, headers, body, signal: AbortSignal.timeout(35_000) });
    await res.arrayBuffer();
    outcome = String(res.status);
  } catch (error) {
    outcome = error?.name ?? 'error';
  } finally {
    inFlight--;
  }
  const key = `${kind.name} ${outcome}`;
  counts[key] = (counts[key] ?? 0) + 1;
}

const startedMs = Date.now();
const TICK_MS = 50;
const credit = KINDS.map(() => 0);
console.log(`load: ${base} for ${durationMs / 1000} s`);
const ticker = setInterval(() => {
  const elapsedMs = Date.now() - startedMs;
  if (elapsedMs >= durationMs) {
    clearInterval(ticker);
    clearInterval(reporter);
    // Let the requests in flight finish, then the last report; nothing else keeps the process up.
    const drain = setInterval(() => {
      if (inFlight > 0) return;
      clearInterval(drain);
      report();
    }, TICK_MS);
    return;
  }
  KINDS.forEach((kind, i) => {
    credit[i] += (kind.perSecond(elapsedMs) * TICK_MS) / 1000;
    for (; credit[i] >= 1; credit[i]--) void send(kind);
  });
}, TICK_MS);

function report() {
  const line = Object.entries(counts)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, n]) => `${k}: ${n}`)
    .join(', ');
  console.log(
    `load: ${Math.round((Date.now() - startedMs) / 1000)} s; ${line}${skipped ? `; skipped (too many in flight): ${skipped}` : ''}`,
  );
}
const reporter = setInterval(report, 10_000);
