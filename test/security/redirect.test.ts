/**
 * An upstream that answers with a redirect, on every route: the gateway answers 502
 * UPSTREAM_UNAVAILABLE in the envelope, relays neither the Location nor anything else of the 3xx,
 * and follows nothing — neither to a server of the attacker's nor to the sandbox (whose referee
 * must see nothing). The redirecting upstream receives exactly the one request it was sent.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { OWNER_KEY } from '../helpers/gateway-harness';
import { describeAttacks, stopped, useSecurityHarness, type Attack, type RouteCase } from './attack-suite';

interface RecordingServer {
  /** Requests received, as `METHOD target`, with the Authorization they carried. */
  seen: Array<{ request: string; authorization: string | undefined }>;
  origin: string;
  close(): Promise<void>;
}

/** A tiny HTTP server that records what it receives and answers as told. */
async function recordingServer(answer: (res: http.ServerResponse) => void): Promise<RecordingServer> {
  const seen: RecordingServer['seen'] = [];
  const server = http.createServer((req, res) => {
    seen.push({ request: `${req.method} ${req.url}`, authorization: req.headers.authorization });
    req.resume();
    answer(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    seen,
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** What the redirecting upstream answers next; each attack sets it before its request is sent. */
let plan = { status: 302, location: '/' };
let upstream: RecordingServer;
/** Where the attacker would like the gateway (and the caller's request) to go. */
let elsewhere: RecordingServer;

const harness = useSecurityHarness(async () => {
  elsewhere = await recordingServer((res) => res.end('followed'));
  upstream = await recordingServer((res) => {
    res.writeHead(plan.status, {
      location: plan.location,
      'set-cookie': 'upstream-session=1',
      'content-type': 'text/html',
      'x-redirect-marker': '1',
    });
    res.end(`<a href="${plan.location}">redirect-body-marker</a>`);
  });
  return { upstream: { baseUrl: `${upstream.origin}/api/v1` } };
});
afterAll(async () => {
  await upstream?.close();
  await elsewhere?.close();
});

type LocationKind = 'elsewhere' | 'sandbox' | 'relative';
const locationFor = (kind: LocationKind, route: RouteCase): string => {
  if (kind === 'elsewhere') return `${elsewhere.origin}/steal${route.target}`;
  // The sandbox is a real Strettch API: if the gateway followed, the referee would see the request.
  if (kind === 'sandbox') return `${harness().h.sandbox.url}${route.target}`;
  return '/api/v1/regions';
};

const REDIRECTS: Array<[number, LocationKind]> = [
  [301, 'elsewhere'],
  [302, 'elsewhere'],
  [303, 'elsewhere'],
  [307, 'elsewhere'],
  [308, 'elsewhere'],
  [300, 'elsewhere'],
  [307, 'sandbox'],
  [302, 'relative'],
];

const ATTACKS: Attack[] = REDIRECTS.map(([status, kind]) => ({
  name: `${status} to ${kind === 'relative' ? 'a relative Location' : `a Location on ${kind === 'sandbox' ? 'the sandbox' : "an attacker's server"}`}`,
  build: (s, route) => {
    plan = { status, location: locationFor(kind, route) };
    upstream.seen.length = 0;
    return s.clean(route);
  },
  expect: stopped(502, 'UPSTREAM_UNAVAILABLE', {
    reason: 'upstream-redirect',
    upstreamStatus: status,
    headers: { location: undefined, 'set-cookie': undefined, 'x-redirect-marker': undefined },
  }),
  verify: (answer, route) => {
    expect(answer.text).not.toContain('redirect-body-marker');
    expect(answer.text).not.toContain(plan.location);
    expect(elsewhere.seen).toEqual([]);
    // Exactly one request upstream, the route's own; the redirect was not followed back to it either.
    expect(upstream.seen.map((r) => r.request)).toEqual([`${route.method} ${route.target}`]);
    expect(upstream.seen[0]!.authorization).toBe(route.requiresAuth ? `Bearer ${OWNER_KEY.key}` : undefined);
  },
}));

describeAttacks('an upstream that answers with a redirect', harness, ATTACKS, { control: false });
