/**
 * deploy/kubernetes, rendered by `kubectl kustomize` and checked against the code: the base holds
 * no secret value; the dev overlay generates its Secret from files written at random on this
 * machine; the ConfigMap's policy validates with the Secret's files, and its ports are the
 * container's, the probes', the Service's and the NetworkPolicy's.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { weakHs256SecretProblem } from '../../../src/gateway/policy/hs256-secret-strength';
import {
  cliEnvNames,
  exists,
  kubernetesCopyWithDevSecrets,
  policyEnvNames,
  read,
  renderKustomization,
  resolvedPolicy,
  root,
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

const BASE = 'deploy/kubernetes/base';

const devOverlayCopy = kubernetesCopyWithDevSecrets;

const baseManifests = renderKustomization(path.join(root, BASE));
const devCopy = devOverlayCopy();
afterAll(() => fs.rmSync(devCopy, { recursive: true, force: true }));
const rendered = renderKustomization(path.join(devCopy, 'overlays/dev'));
/** The gateway's own manifests; the dev overlay's Redis (redis.yaml) is checked apart, below. */
const manifests = rendered.filter((m) => m.manifest.metadata.labels?.['app.kubernetes.io/name'] === 'strettch-gateway');
const redisManifests = rendered.filter((m) => m.manifest.metadata.labels?.['app.kubernetes.io/name'] === 'redis');
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
const secret = only<never>('Secret') as unknown as Manifest & { type: string; data: Record<string, string> };
/** The generated values, decoded as the pod's files hold them. */
const secretValues = Object.fromEntries(
  Object.entries(secret.data).map(([key, value]) => [key, Buffer.from(value, 'base64').toString('utf8')]),
);
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
  Object.entries(secretValues).map(([key, value]) => [path.posix.join(mountOf(keysVolume)!.mountPath, key), value]),
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
    expect(rendered).toHaveLength(manifests.length + redisManifests.length);
    for (const { file, manifest } of manifests) {
      expect({ file, apiVersion: manifest.apiVersion }).toEqual({ file, apiVersion: API_VERSIONS[manifest.kind] });
      expect(manifest.metadata.name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
      expect(manifest.metadata.labels?.['app.kubernetes.io/name']).toBe('strettch-gateway');
    }
  });

  it('is a file of the base listed in its kustomization.yaml, which lists nothing else', () => {
    const kustomization = parse(read(`${BASE}/kustomization.yaml`)) as { resources: string[] };
    const files = fs.readdirSync(path.join(root, BASE)).filter((f) => f !== 'kustomization.yaml');
    expect([...kustomization.resources].sort()).toEqual(files.sort());
  });
});

describe('deploy/kubernetes: no secret value in the base', () => {
  it('renders no Secret and no secret value: the Deployment names a Secret an overlay provides', () => {
    expect(baseManifests.map((m) => m.manifest.kind)).not.toContain('Secret');
    const rendered = execFileSync('kubectl', ['kustomize', path.join(root, BASE)], { encoding: 'utf8' });
    expect(rendered).not.toMatch(/stringData|REPLACE-ME/);
    const basePod = (
      baseManifests.find((m) => m.manifest.kind === 'Deployment')!.manifest as unknown as {
        spec: DeploymentSpec;
      }
    ).spec.template.spec;
    expect(basePod.volumes.map((v) => v.secret?.secretName).filter(Boolean)).toEqual(['strettch-gateway-keys']);
  });

  it('the dev overlay generates random secrets on this machine; none is committed', () => {
    expect(secret.metadata.name).toMatch(/^strettch-gateway-keys-[a-z0-9]+$/);
    expect(keysVolume).toBeDefined();
    expect(weakHs256SecretProblem(secretValues['jwt-hs-secret']!)).toBeUndefined();
    const again = devOverlayCopy();
    try {
      const other = renderKustomization(path.join(again, 'overlays/dev')).find((m) => m.manifest.kind === 'Secret')!;
      expect((other.manifest as unknown as typeof secret).data['jwt-hs-secret']).not.toBe(secret.data['jwt-hs-secret']);
    } finally {
      fs.rmSync(again, { recursive: true, force: true });
    }
    const ignored = execFileSync('git', ['check-ignore', 'deploy/kubernetes/overlays/dev/secrets/jwt-hs-secret'], {
      cwd: root,
      encoding: 'utf8',
    });
    expect(ignored.trim()).toBe('deploy/kubernetes/overlays/dev/secrets/jwt-hs-secret');
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
    // The kubelet probes, and Prometheus scrapes, the pod's address: not loopback.
    expect(policy.listen.adminHost).toBe('0.0.0.0');
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
    for (const value of Object.values(secretValues)) expect(text).not.toContain(value);
    const fileRefs = [...text.matchAll(/\{\s*file:\s*([^\s}]+)\s*\}/g)].map((m) => m[1]!);
    expect(fileRefs.sort()).toEqual([...secretFiles.keys()].sort());
    expect(text).not.toMatch(/\benv:/);
  });

  it('mounts the Secret read-only as files', () => {
    expect(secret.type).toBe('Opaque');
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

describe('deploy/kubernetes/overlays/dev: the in-cluster Redis', () => {
  const redisOf = <T>(kind: string) =>
    redisManifests.find((m) => m.manifest.kind === kind)!.manifest as unknown as Manifest & { spec: T };
  const statefulSet = redisOf<{
    serviceName: string;
    replicas: number;
    selector: { matchLabels: Record<string, string> };
    template: {
      metadata: { labels: Record<string, string> };
      spec: { containers: Array<{ ports: Port[]; command: string[] }> };
    };
  }>('StatefulSet');
  const redisService = redisOf<{
    clusterIP?: string;
    selector: Record<string, string>;
    ports: Array<{ port: number; targetPort: number | string }>;
  }>('Service');
  const redisPolicy = redisOf<{ podSelector: { matchLabels: Record<string, string> }; ingress: NetworkRule[] }>(
    'NetworkPolicy',
  );
  const redisPodLabels = statefulSet.spec.template.metadata.labels;
  const redisUrl = new URL(env.REDIS_URL!);

  it('is a StatefulSet, a headless Service and a NetworkPolicy, all part of the gateway', () => {
    expect(redisManifests.map((m) => m.manifest.kind).sort()).toEqual(['NetworkPolicy', 'Service', 'StatefulSet']);
    for (const { manifest } of redisManifests)
      expect(manifest.metadata.labels?.['app.kubernetes.io/part-of']).toBe('strettch-gateway');
    expect(statefulSet.spec.replicas).toBe(1);
    expect(statefulSet.spec.serviceName).toBe(redisService.metadata.name);
    expect(isSubset(statefulSet.spec.selector.matchLabels, redisPodLabels)).toBe(true);
  });

  it("is what the gateway's REDIS_URL names: the Service's name and port, reaching the Redis port", () => {
    expect(redisUrl.hostname).toBe(redisService.metadata.name);
    expect(redisService.spec.clusterIP).toBe('None');
    expect(isSubset(redisService.spec.selector, redisPodLabels)).toBe(true);
    const [servicePort] = redisService.spec.ports;
    expect(String(servicePort!.port)).toBe(redisUrl.port || '6379');
    const redisPorts = statefulSet.spec.template.spec.containers[0]!.ports;
    const target = redisPorts.find(
      (p) => p.name === servicePort!.targetPort || p.containerPort === servicePort!.targetPort,
    )!;
    expect(target.containerPort).toBe(6379);
  });

  it("lets the gateway pods in, and only them; the gateway's egress rule reaches these pods", () => {
    expect(isSubset(redisPolicy.spec.podSelector.matchLabels, redisPodLabels)).toBe(true);
    expect(redisPolicy.spec.ingress).toHaveLength(1);
    const [rule] = redisPolicy.spec.ingress;
    expect(rule!.ports).toEqual([{ port: 6379, protocol: 'TCP' }]);
    expect(rule!.from).toHaveLength(1);
    expect(isSubset(rule!.from![0]!.podSelector!.matchLabels!, podLabels)).toBe(true);
    const egressToRedis = networkPolicy.spec.egress.find((r) => r.ports.some((p) => p.port === 6379))!;
    expect(isSubset(egressToRedis.to![0]!.podSelector!.matchLabels!, redisPodLabels)).toBe(true);
  });
});
