/** `explain` with a token subject: a Kubernetes service account resolved through the callers' claim rules. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { explainRequest, runExplain } from '../../../src/cli/explain';
import { loadPolicyFileWithoutSecrets } from '../../../src/cli/policy-without-secrets';
import type { CliIo } from '../../../src/cli/io';

const EXAMPLE = path.join(__dirname, '..', '..', '..', 'config', 'gateway.kubernetes.example.yaml');
const loaded = loadPolicyFileWithoutSecrets(EXAMPLE, (file) => fs.readFileSync(file, 'utf8'));
if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
const policy = loaded.policy;
const SA = 'system:serviceaccount';

describe('explain <subject>', () => {
  it.each([
    [`${SA}:shop:web`, 'shop', { claims: { 'kubernetes.io/namespace': 'shop' } }],
    [
      `${SA}:payments:billing`,
      'billing',
      { claims: { 'kubernetes.io/namespace': 'payments', 'kubernetes.io/serviceaccount/name': 'billing' } },
    ],
  ])('%s is the caller %s, by its rule', (subject, callerId, rule) => {
    const explanation = explainRequest(policy, subject, 'GET', '/api/v1/regions');
    expect(explanation).toMatchObject({
      outcome: 'granted',
      caller: { id: callerId, matchedBy: { subject, rule } },
    });
  });

  it('a caller named by its subject is found by name, with no rule', () => {
    const explanation = explainRequest(policy, `${SA}:ops:autoscaler`, 'GET', '/api/v1/regions');
    expect(explanation).toMatchObject({ outcome: 'granted', caller: { id: `${SA}:ops:autoscaler` } });
    expect(explanation.outcome === 'granted' && explanation.caller.matchedBy).toBeUndefined();
  });

  it('a service account no rule matches is an unknown caller', () => {
    expect(explainRequest(policy, `${SA}:payments:web`, 'GET', '/api/v1/regions')).toMatchObject({
      outcome: 'unknown-caller',
      status: 403,
    });
  });

  it('says which rule in text', () => {
    let out = '';
    const io = {
      stdout: (text: string) => (out += text),
      stderr: (text: string) => (out += text),
      readFile: (file: string) => fs.readFileSync(file, 'utf8'),
      env: {},
    } as unknown as CliIo;
    const code = runExplain([`${SA}:shop:web`, 'POST /api/v1/computes/42/stop', '--config', EXAMPLE], io);
    expect(code).toBe(0);
    expect(out).toContain('matched      shop, by its claim rule (kubernetes.io/namespace = shop)');
  });
});
