/** The policy in the README's configuration overview is valid, as `check-config --no-secrets` reads it. */
import * as path from 'node:path';
import { policyWithoutSecrets } from '../../../src/cli/policy-without-secrets';
import { REPO_ROOT, codeBlockUnderHeading, readDoc } from './markdown';

it('the README\'s "Configuration at a glance" policy is valid in shape and references', () => {
  const yaml = codeBlockUnderHeading(readDoc('README.md'), 'Configuration at a glance', 'yaml');
  const result = policyWithoutSecrets(yaml, path.join(REPO_ROOT, 'config', 'readme-overview.yaml'));
  expect(result.ok ? [] : result.errors).toEqual([]);
  if (!result.ok) return;
  expect(Object.keys(result.policy.callers)).toEqual(['billing']);
  expect(result.policy.callers.billing).toMatchObject({ accountId: 'prod', maxWaitMs: 1000 });
});
