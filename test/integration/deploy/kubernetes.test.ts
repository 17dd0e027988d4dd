/**
 * deploy/kubernetes, checked against the code: the ConfigMap's policy validates with the Secret's
 * files, and its ports are the container's, the probes', the Service's and the NetworkPolicy's.
 */
import path from 'node:path';
import { parse } from 'yaml';
import {
  cliEnvNames,
  exists,
  loadManifests,
  policyEnvNames,
  read,
  resolvedPolicy,
  sourceOfEntry,
  type Manifest,
} from './deploy-files';

interface Port {
  name?: string;
  containerPort: number;
  protocol?: string;
}
interface Probe {
  httpGet: { path: string; port: number | string };
}
interface Container {
  name: string;
  image: string;
  command: string[];
  ports: Port[];
  env: Array<{ name: string; value?: string }>;
  livenessProbe: Probe;
  readinessProbe: Probe;
  startupProbe?: Probe;
  resources: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext: {
    allowPrivilegeEscalation?: boolean;
    readOnlyRootFilesystem?: boolean;
    capabilities?: { drop?: string[] };
    runAsNonRoot?: boolean;
  };
  volumeMounts: Array<{ name: string; mountPath: string; readOnly?: boolean }>;
}
interface Volume {
  name: string;
  configMap?: { name: string };
  secret?: { secretName: string };
  emptyDir?: object;
}
interface DeploymentSpec {
  replicas?: number;
  selector: { matchLabels: Record<string, string> };
  strategy: { type: string; rollingUpdate?: { maxSurge: number | string; maxUnavailable: number | string } };
  template: {
    metadata: { labels: Record<string, string>; annotations?: Record<string, string> };
    spec: {
      securityContext: { runAsNonRoot?: boolean; runAsUser?: number };
      containers: Container[];
      volumes: Volume[];
      automountServiceAccountToken?: boolean;
    };
  };
}
interface NetworkPeer {
  namespaceSelector?: { matchLabels?: Record<string, string> };
  podSelector?: { matchLabels?: Record<string, string> };
  ipBlock?: { cidr: string; except?: string[] };
}
interface NetworkRule {
  from?: NetworkPeer[];
  to?: NetworkPeer[];
  ports: Array<{ port: number; protocol: string }>;
}

const manifests = loadManifests();
function only<T>(kind: string): Manifest & { spec: T } {
  const found = manifests.filter(({ manifest }) => manifest.kind === kind);
  if (found.length !== 1) throw new Error(`expected one ${kind}, found ${found.length}`);
  return found[0]!.manifest as Manifest & { spec: T };
}

const deployment = only<DeploymentSpec>('Deployment');
const pod = deployment.spec.template.spec;
const podLabels = deployment.spec.template.metadata.labels;
const container = pod.containers[0]!;
const configMap = only<never>('ConfigMap') as unknown as Manifest & { data: Record<string, string> };
const secret = only<never>('Secret') as unknown as Manifest & { type: string; stringData: Record<string, string> };
const service = only<{
  type: string;
  selector: Record<string, string>;
  ports: Array<{ name: string; port: number; targetPort: number | string }>;
}>('Service');
const hpa = only<{
  scaleTargetRef: { apiVersion: string; kind: string; name: string };
  minReplicas: number;
  maxReplicas: number;
  metrics: Array<{ type: string; resource: { name: string } }>;
}>('HorizontalPodAutoscaler');
const pdb = only<{ minAvailable?: number; maxUnavailable?: number; selector: { matchLabels: Record<string, string> } }>(
  'PodDisruptionBudget',
);
const networkPolicy = only<{
  podSelector: { matchLabels: Record<string, string> };
  policyTypes: string[];
  ingress: NetworkRule[];
  egress: NetworkRule[];
}>('NetworkPolicy');

const env = Object.fromEntries(container.env.map((e) => [e.name, e.value]));
const mountOf = (volume: Volume | undefined) => container.volumeMounts.find((m) => m.name === volume?.name);
const policyVolume = pod.volumes.find((v) => v.configMap?.name === configMap.metadata.name);
const keysVolume = pod.volumes.find((v) => v.secret?.secretName === secret.metadata.name);
const configPath = container.command[container.command.indexOf('--config') + 1]!;

/** The Secret as the pod sees it: one file per key under the Secret's mount. */
const secretFiles = new Map(
  Object.entries(secret.stringData).map(([key, value]) => [
    path.posix.join(mountOf(keysVolume)!.mountPath, key),
    value,
  ]),
);
const filesRead: string[] = [];
const policy = resolvedPolicy(configMap.data[path.posix.basename(configPath)]!, configPath, {
  readEnv: (name) => env[name],
  readFile: (file) => {
    filesRead.push(file);
    const value = secretFiles.get(file);
    if (value === undefined) throw Object.assign(new Error(`no such file ${file}`), { code: 'ENOENT' });
    return value;
  },
});

const containerPort = (port: number | string): number =>
  typeof port === 'number' ? port : container.ports.find((p) => p.name === port)!.containerPort;
const isSubset = (selector: Record<string, string>, labels: Record<string, string>) =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);

describe('deploy/kubernetes: every manifest', () => {
  const API_VERSIONS: Record<string, string> = {
    Deployment: 'apps/v1',
    Service: 'v1',
    ConfigMap: 'v1',
    Secret: 'v1',
    HorizontalPodAutoscaler: 'autoscaling/v2',
    PodDisruptionBudget: 'policy/v1',
    NetworkPolicy: 'networking.k8s.io/v1',
  };

  it('has the current apiVersion for its kind, a name and the app label', () => {
    expect(manifests.map((m) => m.manifest.kind).sort()).toEqual(Object.keys(API_VERSIONS).sort());
    for (const { file, manifest } of manifests) {
      expect({ file, apiVersion: manifest.apiVersion }).toEqual({ file, apiVersion: API_VERSIONS[manifest.kind] });
      expect(manifest.metadata.name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
      expect(manifest.metadata.labels?.['app.kubernetes.io/name']).toBe('strettch-gateway');
    }
  });

  it('is listed in kustomization.yaml, which lists nothing else', () => {
    const kustomization = parse(read('deploy/kubernetes/kustomization.yaml')) as { resources: string[] };
    expect([...kustomization.resources].sort()).toEqual([...new Set(manifests.map((m) => m.file))].sort());
  });
});

describe('deploy/kubernetes: Deployment', () => {
  it('selects its own pods', () => {
    expect(Object.keys(deployment.spec.selector.matchLabels).length).toBeGreaterThan(0);
    expect(isSubset(deployment.spec.selector.matchLabels, podLabels)).toBe(true);
  });

  it('runs an entry point the build produces, on the policy mounted from the ConfigMap as a directory', () => {
    expect(container.command.slice(0, 2)).toEqual(['node', 'dist/cli/main.js']);
    expect(exists(sourceOfEntry(container.command[1]!))).toBe(true);
    expect(mountOf(policyVolume)!.mountPath).toBe(path.posix.dirname(configPath));
    expect(Object.keys(configMap.data)).toContain(path.posix.basename(configPath));
    expect(container.image).not.toMatch(/:latest$|^[^:]+$/);
  });

  it("listens where the policy says: the container ports are the policy's listen ports", () => {
    expect(policy.listen.host).toBe('0.0.0.0');
    expect(containerPort('http')).toBe(policy.listen.port);
    expect(containerPort('admin')).toBe(policy.listen.adminPort);
    expect(container.ports).toHaveLength(2);
  });

  it('probes liveness on /healthz and readiness on /readyz, on the admin port', () => {
    expect(container.livenessProbe.httpGet.path).toBe('/healthz');
    expect(container.readinessProbe.httpGet.path).toBe('/readyz');
    for (const probe of [container.livenessProbe, container.readinessProbe, container.startupProbe].filter(
      (p) => p !== undefined,
    )) {
      expect(containerPort(probe.httpGet.port)).toBe(policy.listen.adminPort);
      expect(['/healthz', '/readyz']).toContain(probe.httpGet.path);
    }
  });

  it("is scraped by annotation on the admin port's /metrics", () => {
    const annotations = deployment.spec.template.metadata.annotations!;
    expect(annotations['prometheus.io/scrape']).toBe('true');
    expect(Number(annotations['prometheus.io/port'])).toBe(policy.listen.adminPort);
    expect(annotations['prometheus.io/path']).toBe('/metrics');
  });

  it('requests CPU and memory and limits memory', () => {
    expect(container.resources.requests?.cpu).toMatch(/^\d+m?$/);
    expect(container.resources.requests?.memory).toMatch(/^\d+(Mi|Gi)$/);
    expect(container.resources.limits?.memory).toMatch(/^\d+(Mi|Gi)$/);
  });

  it('runs as non-root on a read-only root filesystem, without privileges or a service account token', () => {
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(pod.securityContext.runAsUser).toBeGreaterThan(0);
    expect(container.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(pod.automountServiceAccountToken).toBe(false);
    // Writable only where a volume is: the mounts are read-only except an emptyDir.
    for (const mount of container.volumeMounts) {
      const volume = pod.volumes.find((v) => v.name === mount.name)!;
      expect(mount.readOnly === true || volume.emptyDir !== undefined).toBe(true);
    }
  });

  it("gets the shared schedule's Redis, and GATEWAY_REPLICAS equal to the HPA's maxReplicas", () => {
    expect(env.REDIS_URL).toMatch(/^rediss?:\/\//);
    expect(Number(env.GATEWAY_REPLICAS)).toBe(hpa.spec.maxReplicas);
  });

  it('sets only environment variables the gateway reads, and watches its files for changes', () => {
    const known = new Set([...cliEnvNames(), ...policyEnvNames(Object.values(configMap.data).join('\n'))]);
    for (const name of Object.keys(env)) expect({ name, read: known.has(name) }).toEqual({ name, read: true });
    expect(env.CONFIG_WATCH).toBe('1');
  });

  it('never runs more pods than GATEWAY_REPLICAS: the HPA owns the count and a rollout does not surge', () => {
    expect(deployment.spec.replicas).toBeUndefined();
    expect(deployment.spec.strategy.rollingUpdate?.maxSurge).toBe(0);
    expect(deployment.spec.strategy.rollingUpdate?.maxUnavailable).toBeGreaterThan(0);
  });
});

describe('deploy/kubernetes: ConfigMap and Secret', () => {
  it("holds a policy that validates, reading its secrets from the Secret's files", () => {
    expect(policy.accounts).toBeDefined();
    // Every Secret key is read by the policy, and only Secret files are read.
    expect([...filesRead].sort()).toEqual([...secretFiles.keys()].sort());
  });

  it("holds no secret in the ConfigMap: every secret is a {file: ...} reference into the Secret's mount", () => {
    const text = Object.values(configMap.data).join('\n');
    for (const value of Object.values(secret.stringData)) expect(text).not.toContain(value);
    const fileRefs = [...text.matchAll(/\{\s*file:\s*([^\s}]+)\s*\}/g)].map((m) => m[1]!);
    expect(fileRefs.sort()).toEqual([...secretFiles.keys()].sort());
    expect(text).not.toMatch(/\benv:/);
  });

  it('marks every Secret value as a placeholder, mounted read-only as files', () => {
    expect(secret.type).toBe('Opaque');
    for (const value of Object.values(secret.stringData)) expect(value).toMatch(/^REPLACE-ME-/);
    expect(mountOf(keysVolume)).toMatchObject({ readOnly: true });
    expect(mountOf(keysVolume)!.mountPath).toMatch(/^\/run\/secrets\//);
  });
});

describe('deploy/kubernetes: Service, HPA, PodDisruptionBudget', () => {
  it('the Service selects the pods and exposes the public port only', () => {
    expect(service.spec.type).toBe('ClusterIP');
    expect(isSubset(service.spec.selector, podLabels)).toBe(true);
    expect(service.spec.ports.map((p) => containerPort(p.targetPort))).toEqual([policy.listen.port]);
  });

  it('the HPA scales the Deployment on CPU, which the container requests', () => {
    expect(hpa.spec.scaleTargetRef).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      name: deployment.metadata.name,
    });
    expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2);
    expect(hpa.spec.maxReplicas).toBeGreaterThanOrEqual(hpa.spec.minReplicas);
    expect(hpa.spec.metrics.map((m) => m.resource.name)).toEqual(['cpu']);
    expect(container.resources.requests?.cpu).toBeDefined();
  });

  it('the PodDisruptionBudget covers the same pods and lets a drain proceed at the minimum replica count', () => {
    expect(pdb.spec.selector.matchLabels).toEqual(deployment.spec.selector.matchLabels);
    expect(pdb.spec.minAvailable).toBeLessThan(hpa.spec.minReplicas);
  });
});

describe('deploy/kubernetes: NetworkPolicy', () => {
  const { ingress, egress } = networkPolicy.spec;
  const ports = (rules: NetworkRule[]) => rules.flatMap((r) => r.ports.map((p) => `${p.port}/${p.protocol}`)).sort();

  it('applies to the gateway pods, in both directions', () => {
    expect(isSubset(networkPolicy.spec.podSelector.matchLabels, podLabels)).toBe(true);
    expect([...networkPolicy.spec.policyTypes].sort()).toEqual(['Egress', 'Ingress']);
  });

  it('lets the cluster reach the public port, and only a monitoring namespace the admin port', () => {
    expect(ports(ingress)).toEqual([`${policy.listen.adminPort}/TCP`, `${policy.listen.port}/TCP`].sort());
    const publicRule = ingress.find((r) => r.ports.some((p) => p.port === policy.listen.port))!;
    expect(publicRule.from).toEqual([{ namespaceSelector: {} }]);
    const adminRule = ingress.find((r) => r.ports.some((p) => p.port === policy.listen.adminPort))!;
    expect(adminRule.ports).toHaveLength(1);
    for (const peer of adminRule.from!)
      expect(peer.namespaceSelector?.matchLabels ?? peer.podSelector?.matchLabels).toBeDefined();
  });

  it('lets the pods reach Redis, DNS and HTTPS to public addresses, and nothing else', () => {
    const redisPort = new URL(env.REDIS_URL!).port || '6379';
    const upstream = new URL(policy.upstream.baseUrl);
    const providerPort = upstream.port || (upstream.protocol === 'https:' ? '443' : '80');
    expect(ports(egress)).toEqual([`${redisPort}/TCP`, '53/TCP', '53/UDP', `${providerPort}/TCP`].sort());
    const redisRule = egress.find((r) => r.ports.some((p) => String(p.port) === redisPort))!;
    expect(redisRule.to).toEqual([
      { podSelector: { matchLabels: { 'app.kubernetes.io/name': new URL(env.REDIS_URL!).hostname } } },
    ]);
    const providerRule = egress.find((r) => r.ports.some((p) => String(p.port) === providerPort))!;
    const block = providerRule.to![0]!.ipBlock!;
    expect(block.except).toEqual(
      expect.arrayContaining(['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '169.254.0.0/16']),
    );
  });
});
