/**
 * The judge itself can fail: `runAttack` must reject an answer or an upstream record that breaks
 * its expectation. Each case feeds it a known outcome (a real one, or the real harness with one
 * thing altered) and checks that it throws for the right reason, so a security test passing means
 * the gateway passed, not that the judge looked away.
 */
import type { RecordedRequest } from '../../src/sandbox';
import {
  CONTROL,
  ROUTES,
  badRequest,
  runAttack,
  sanitized,
  stopped,
  useSecurityHarness,
  type Attack,
  type SecurityHarness,
} from './attack-suite';

const harness = useSecurityHarness();
const regions = ROUTES.find((r) => r.id === 'regions.list')!;
const create = ROUTES.find((r) => r.id === 'computes.create')!;

/** The real harness, but the upstream's last record (when there is a new one) altered by `alter`. */
function withAlteredRecord(s: SecurityHarness, alter: (seen: RecordedRequest) => RecordedRequest): SecurityHarness {
  const original = s.footprint();
  return {
    ...s,
    footprint() {
      const now = s.footprint();
      return now.last === null || now.last === original.last ? now : { ...now, last: alter(now.last) };
    },
  };
}

const addHeader =
  (name: string, value: string) =>
  (seen: RecordedRequest): RecordedRequest => ({
    ...seen,
    headers: { ...seen.headers, [name]: value },
    rawHeaders: [...seen.rawHeaders, [name, value]],
  });

describe('the security judge rejects what it must', () => {
  it('passes the control (so the rejections below are about the alterations)', async () => {
    await runAttack(harness(), regions, CONTROL);
  });

  it('a request that reached the upstream fails "stopped"', async () => {
    const attack: Attack = {
      name: 'forwarded',
      build: (s, route) => s.clean(route),
      expect: stopped(401, 'UNAUTHORIZED'),
    };
    await expect(runAttack(harness(), regions, attack)).rejects.toThrow();
  });

  it('the right answer but a reached upstream fails "stopped"', async () => {
    // The gateway refuses a create without an Idempotency-Key; pretend the upstream saw a request meanwhile.
    const s = harness();
    const phantom = {
      method: 'POST',
      target: '/api/v1/computes',
      headers: {},
      rawHeaders: [],
      receivedAt: '',
      key: null,
    } satisfies RecordedRequest;
    let calls = 0;
    // The first look (before sending) is the real one; every later one shows the phantom request.
    const reached: SecurityHarness = {
      ...s,
      footprint: () => (calls++ === 0 ? s.footprint() : { ...s.footprint(), last: phantom }),
    };
    const attack: Attack = {
      name: 'no key',
      build: (x, route) => x.clean(route, { headers: { 'idempotency-key': undefined } }),
      expect: stopped(400, 'INVALID_IDEMPOTENCY_KEY'),
    };
    await expect(runAttack(reached, create, attack)).rejects.toThrow(/the upstream received POST \/api\/v1\/computes/);
  });

  it('a wrong access-log reason fails "stopped"', async () => {
    const attack: Attack = {
      name: 'dot segment',
      build: (s, route) => s.clean(route, { target: '/api/v1/x/../regions' }),
      expect: badRequest('target-encoded-dot'),
    };
    await expect(runAttack(harness(), regions, attack)).rejects.toThrow(/access-log reason/);
  });

  it('a refused request fails "sanitized"', async () => {
    const attack: Attack = {
      name: 'dot segment',
      build: (s, route) => s.clean(route, { target: '/api/v1/x/../regions' }),
      expect: sanitized(),
    };
    await expect(runAttack(harness(), regions, attack)).rejects.toThrow(/expected the request to be forwarded/);
  });

  it.each([
    ['a forwarding header', addHeader('x-forwarded-for', '203.0.113.9')],
    ['a second Authorization', addHeader('authorization', 'Bearer caller-token')],
    ['a cookie', addHeader('cookie', 'session=1')],
    ['the caller’s Host', (seen: RecordedRequest) => ({ ...seen, headers: { ...seen.headers, host: 'evil.example' } })],
    ['another method', (seen: RecordedRequest) => ({ ...seen, method: 'DELETE' })],
    ['another target', (seen: RecordedRequest) => ({ ...seen, target: '/api/v1/computes' })],
    ['a Content-Type without a body', addHeader('content-type', 'application/json')],
    [
      'the caller’s credential',
      (seen: RecordedRequest) => ({
        ...seen,
        headers: { ...seen.headers, authorization: 'unrecognised(sha256=00000000)' },
      }),
    ],
  ])('an upstream record with %s fails "sanitized"', async (_name, alter) => {
    await expect(runAttack(withAlteredRecord(harness(), alter), regions, CONTROL)).rejects.toThrow();
  });

  it('a body forwarded with the caller’s charset fails "sanitized" (issue #11)', async () => {
    await runAttack(harness(), create, CONTROL);
    const withCharset = (seen: RecordedRequest): RecordedRequest => ({
      ...seen,
      headers: { ...seen.headers, 'content-type': 'application/json; charset=utf-7' },
    });
    await expect(runAttack(withAlteredRecord(harness(), withCharset), create, CONTROL)).rejects.toThrow();
  });

  it('a secret in a log line fails any expectation', async () => {
    const s = harness();
    const secret = 'very-secret-value-0123456789';
    // Something logs the secret while the request is handled.
    const leaky: SecurityHarness = {
      ...s,
      deliver: async (request) => {
        const answer = await s.deliver(request);
        s.h.logLines.push(JSON.stringify({ msg: 'oops', value: secret }));
        return answer;
      },
    };
    const attack: Attack = {
      name: 'logged secret',
      build: (x, route) => ({ ...x.clean(route, { target: '/api/v1/x/../regions' }), secrets: [secret] }),
      expect: badRequest('target-dot-segment'),
    };
    await expect(runAttack(leaky, regions, attack)).rejects.toThrow(/logged/);
  });
});
