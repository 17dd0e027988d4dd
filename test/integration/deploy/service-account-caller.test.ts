/**
 * deploy/kubernetes/examples/service-account-caller, rendered by `kubectl kustomize`, held to the
 * Kubernetes example policy: the projected token's audience is the policy's, it lives no longer
 * than the policy accepts, it is the only credential mounted, and its subject is a configured caller.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadPolicyFileWithoutSecrets } from '../../../src/cli/policy-without-secrets';
import { callerForToken } from '../../../src/gateway/policy';
import { claimsForSubject } from '../../../src/gateway/policy/caller-rules';
import { renderKustomization, root, type Manifest } from './deploy-files';

interface ProjectedSource {
  serviceAccountToken?: { audience: string; expirationSeconds: number; path: string };
}
interface CallerDeployment extends Manifest {
  metadata: Manifest['metadata'] & { namespace: string };
  spec: {
    template: {
      spec: {
        serviceAccountName: string;
        automountServiceAccountToken?: boolean;
        containers: Array<{ volumeMounts: Array<{ name: string; mountPath: string; readOnly?: boolean }> }>;
        volumes: Array<{ name: string; projected?: { sources: ProjectedSource[] } }>;
      };
    };
  };
}

const rendered = renderKustomization(path.join(root, 'deploy/kubernetes/examples/service-account-caller'));
const deployment = rendered.find((r) => r.manifest.kind === 'Deployment')!.manifest as CallerDeployment;
const pod = deployment.spec.template.spec;
const loaded = loadPolicyFileWithoutSecrets(path.join(root, 'config/gateway.kubernetes.example.yaml'), (file) =>
  fs.readFileSync(file, 'utf8'),
);
if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
const policy = loaded.policy;

it('mounts one projected token for the gateway, read-only, and no default API token', () => {
  const sources = pod.volumes.flatMap((v) => v.projected?.sources ?? []).filter((s) => s.serviceAccountToken);
  expect(sources).toHaveLength(1);
  const token = sources[0]!.serviceAccountToken!;
  expect(token.audience).toBe(policy.auth.audience);
  expect(token.expirationSeconds).toBeLessThanOrEqual(policy.auth.maxTokenLifetimeSec);
  // The kubelet's minimum; shorter would be refused by the apiserver.
  expect(token.expirationSeconds).toBeGreaterThanOrEqual(600);
  const volume = pod.volumes.find((v) => v.projected)!.name;
  expect(pod.containers[0]!.volumeMounts).toContainEqual(expect.objectContaining({ name: volume, readOnly: true }));
  expect(pod.automountServiceAccountToken).toBe(false);
});

it('its subject is a caller of the example policy', () => {
  const subject = `system:serviceaccount:${deployment.metadata.namespace}:${pod.serviceAccountName}`;
  const match = callerForToken(policy, subject, claimsForSubject(subject));
  expect(match.kind === 'rule' && match.caller.id).toBe('billing');
});
