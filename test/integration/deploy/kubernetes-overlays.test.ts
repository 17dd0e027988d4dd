/**
 * Every way deploy/kubernetes is applied — the dev overlay and the production overlay (with the
 * monitoring component), rendered by `kubectl kustomize` — checked against the code and against
 * itself: images pinned, resources set, ports and probes on ports the pods declare and paths the
 * admin app serves, only environment variables the gateway reads, and every Secret and ConfigMap a
 * pod references produced by the overlay or, in production, listed as external in its kustomization.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { createAdminApp, type Readiness } from '../../../src/gateway/app';
import { createMetrics } from '../../../src/gateway/observability/metrics';
import { listen, type RunningServer } from '../../../src/shared/http-server';
import {
  cliEnvNames,
  kubernetesCopyWithDevSecrets,
  policyEnvNames,
  read,
  renderKustomization,
  root,
  type Manifest,
} from './deploy-files';

interface Probe {
  httpGet?: { path: string; port: number | string };
  tcpSocket?: { port: number | string };
  exec?: { command: string[] };
}
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    secretKeyRef?: { name: string; key: string };
    configMapKeyRef?: { name: string; key: string };
  };
}
interface Container {
  name: string;
  image: string;
  ports?: Array<{ name?: string; containerPort: number }>;
  env?: EnvVar[];
  envFrom?: Array<{ secretRef?: { name: string }; configMapRef?: { name: string } }>;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  volumeMounts?: Array<{ name: string; mountPath: string }>;
}
interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  volumes?: Array<{
    name: string;
    secret?: { secretName: string };
    configMap?: { name: string };
    projected?: { sources: Array<{ secret?: { name: string }; configMap?: { name: string } }> };
  }>;
}
type Workload = Manifest & {
  spec: { template: { metadata: { labels: Record<string, string> }; spec: PodSpec } };
};

const PRODUCTION = 'deploy/kubernetes/overlays/production';
const copy = kubernetesCopyWithDevSecrets();
afterAll(() => fs.rmSync(copy, { recursive: true, force: true }));
const overlays = {
  dev: renderKustomization(path.join(copy, 'overlays/dev')).map((m) => m.manifest),
  production: renderKustomization(path.join(root, PRODUCTION)).map((m) => m.manifest),
};
type OverlayName = keyof typeof overlays;
const OVERLAYS = Object.keys(overlays) as OverlayName[];

const workloads = (name: OverlayName): Workload[] =>
  overlays[name].filter((m) => ['Deployment', 'StatefulSet', 'DaemonSet', 'Job'].includes(m.kind)) as Workload[];
const containersOf = (workload: Workload): Container[] => [
  ...workload.spec.template.spec.containers,
  ...(workload.spec.template.spec.initContainers ?? []),
];
const gatewayOf = (name: OverlayName) => {
  const deployment = workloads(name).find((w) => w.kind === 'Deployment' && w.metadata.name === 'strettch-gateway')!;
  return { deployment, container: deployment.spec.template.spec.containers.find((c) => c.name === 'gateway')! };
};
const policyText = (name: OverlayName) =>
  (overlays[name].find((m) => m.kind === 'ConfigMap' && m.metadata.name.startsWith('strettch-gateway-policy')) as
    (Manifest & { data: Record<string, string> }) | undefined)!.data['policy.yaml']!;
const listenOf = (name: OverlayName) =>
  (parse(policyText(name)) as { listen: { port: number; adminPort: number } }).listen;

/** A probe's or endpoint's port, by number or by the container's port name. */
function portNumber(container: Container, port: number | string): number | undefined {
  return typeof port === 'number' ? port : container.ports?.find((p) => p.name === port)?.containerPort;
}

/** Every Secret and ConfigMap a pod of the overlay references, with the keys it names (env refs). */
function references(name: OverlayName): Array<{ kind: 'Secret' | 'ConfigMap'; name: string; key?: string }> {
  const found: Array<{ kind: 'Secret' | 'ConfigMap'; name: string; key?: string }> = [];
  for (const workload of workloads(name)) {
    for (const volume of workload.spec.template.spec.volumes ?? []) {
      if (volume.secret) found.push({ kind: 'Secret', name: volume.secret.secretName });
      if (volume.configMap) found.push({ kind: 'ConfigMap', name: volume.configMap.name });
      for (const source of volume.projected?.sources ?? []) {
        if (source.secret) found.push({ kind: 'Secret', name: source.secret.name });
        if (source.configMap) found.push({ kind: 'ConfigMap', name: source.configMap.name });
      }
    }
    for (const container of containersOf(workload)) {
      for (const { valueFrom } of container.env ?? []) {
        if (valueFrom?.secretKeyRef) found.push({ kind: 'Secret', ...valueFrom.secretKeyRef });
        if (valueFrom?.configMapKeyRef) found.push({ kind: 'ConfigMap', ...valueFrom.configMapKeyRef });
      }
      for (const from of container.envFrom ?? []) {
        if (from.secretRef) found.push({ kind: 'Secret', name: from.secretRef.name });
        if (from.configMapRef) found.push({ kind: 'ConfigMap', name: from.configMapRef.name });
      }
    }
  }
  return found;
}

/** The production kustomization's list of external Secrets: `#   Secret <name>   keys: a, b   (…)`. */
function documentedExternalSecrets(): Map<string, string[]> {
  const listed = new Map<string, string[]>();
  for (const [, name, keys] of read(`${PRODUCTION}/kustomization.yaml`).matchAll(
    /^#\s+Secret (\S+)\s+keys: ([\w-]+(?:, [\w-]+)*)/gm,
  ))
    listed.set(name!, keys!.split(', '));
  return listed;
}

let admin: RunningServer;
beforeAll(async () => {
  const readiness: Readiness = { check: () => ({ ready: true, checks: { policy: 'loaded', schedule: 'shared' } }) };
  admin = await listen(createAdminApp(createMetrics().registry, readiness), { host: '127.0.0.1', port: 0 });
});
afterAll(() => admin.close(0));

describe.each(OVERLAYS)('deploy/kubernetes/overlays/%s', (name) => {
  const manifests = overlays[name];
  const { deployment, container } = gatewayOf(name);

  it('pins every image to an exact release (x.y.z tag or digest), never a moving tag', () => {
    const images = workloads(name).flatMap((w) => containersOf(w).map((c) => c.image));
    expect(images.length).toBeGreaterThan(0);
    for (const image of images)
      expect({ image, pinned: /@sha256:[0-9a-f]{64}$|:v?\d+\.\d+\.\d+(-[\w.]+)?$/.test(image) }).toEqual({
        image,
        pinned: true,
      });
  });

  it('requests CPU and memory and limits memory for every container', () => {
    for (const workload of workloads(name))
      for (const c of containersOf(workload)) {
        const resources = { workload: workload.metadata.name, container: c.name, ...c.resources };
        expect(resources).toMatchObject({
          requests: { cpu: expect.stringMatching(/^\d+m?$/), memory: expect.stringMatching(/^\d+(Mi|Gi)$/) },
          limits: { memory: expect.stringMatching(/^\d+(Mi|Gi)$/) },
        });
      }
  });

  it('probes ports the containers declare; the gateway on its admin port, on paths the admin app serves', async () => {
    const { port, adminPort } = listenOf(name);
    expect(container.ports!.map((p) => p.containerPort).sort()).toEqual([port, adminPort].sort());
    for (const workload of workloads(name))
      for (const c of containersOf(workload))
        for (const probe of [c.livenessProbe, c.readinessProbe, c.startupProbe].filter((p) => p !== undefined)) {
          const target = probe.httpGet?.port ?? probe.tcpSocket?.port;
          if (target !== undefined)
            expect({ container: c.name, target, declared: portNumber(c, target) !== undefined }).toEqual({
              container: c.name,
              target,
              declared: true,
            });
          else expect(probe.exec?.command.length).toBeGreaterThan(0);
        }
    const gatewayProbes = [container.livenessProbe, container.readinessProbe, container.startupProbe];
    for (const probe of gatewayProbes.filter((p) => p !== undefined)) {
      expect(portNumber(container, probe.httpGet!.port)).toBe(adminPort);
      const status = (await fetch(`${admin.url}${probe.httpGet!.path}`)).status;
      expect({ path: probe.httpGet!.path, status }).toEqual({ path: probe.httpGet!.path, status: 200 });
    }
  });

  it('sets only environment variables the gateway reads', () => {
    const known = new Set([...cliEnvNames(), ...policyEnvNames(policyText(name))]);
    for (const { name: variable } of container.env ?? [])
      expect({ variable, read: known.has(variable) }).toEqual({ variable, read: true });
    expect(container.envFrom).toBeUndefined();
  });

  it('produces every Secret and ConfigMap a pod references, or (production) lists it as external', () => {
    const produced = new Set(
      manifests.filter((m) => ['Secret', 'ConfigMap'].includes(m.kind)).map((m) => `${m.kind}/${m.metadata.name}`),
    );
    const external = documentedExternalSecrets();
    const missing = references(name).filter((ref) => !produced.has(`${ref.kind}/${ref.name}`));
    if (name === 'dev') expect(missing).toEqual([]);
    for (const ref of missing) {
      expect({ ref, external: ref.kind === 'Secret' && external.has(ref.name) }).toEqual({ ref, external: true });
      if (ref.key !== undefined) expect(external.get(ref.name)).toContain(ref.key);
    }
  });

  it('is what the gateway pods need: a Deployment selecting its own pods, a Service on the public port', () => {
    const service = manifests.find(
      (m) => m.kind === 'Service' && m.metadata.name === 'strettch-gateway',
    ) as Manifest & {
      spec: { selector: Record<string, string>; ports: Array<{ targetPort: number | string }> };
    };
    const labels = deployment.spec.template.metadata.labels;
    expect(Object.entries(service.spec.selector).every(([k, v]) => labels[k] === v)).toBe(true);
    expect(service.spec.ports.map((p) => portNumber(container, p.targetPort))).toEqual([listenOf(name).port]);
  });
});

describe('deploy/kubernetes/overlays/production', () => {
  const manifests = overlays.production;
  const { container } = gatewayOf('production');
  const env = Object.fromEntries((container.env ?? []).map((e) => [e.name, e]));

  it('creates no Secret: the ones it references exist beforehand, each listed with its keys', () => {
    expect(manifests.filter((m) => m.kind === 'Secret')).toEqual([]);
    const external = documentedExternalSecrets();
    const referenced = [
      ...new Set(
        references('production')
          .filter((r) => r.kind === 'Secret')
          .map((r) => r.name),
      ),
    ];
    expect([...external.keys()].sort()).toEqual(referenced.sort());
    // The keys mounted as files are the ones the policy reads ({file: <mount>/<key>}).
    const keysVolume = gatewayOf('production').deployment.spec.template.spec.volumes!.find(
      (v) => v.secret?.secretName === 'strettch-gateway-keys',
    )!;
    const mount = container.volumeMounts!.find((m) => m.name === keysVolume.name)!.mountPath;
    const fileKeys = [...policyText('production').matchAll(/\{\s*file:\s*([^\s}]+)\s*\}/g)]
      .map((m) => m[1]!)
      .filter((file) => file.startsWith(`${mount}/`))
      .map((file) => file.slice(mount.length + 1));
    expect([...external.get('strettch-gateway-keys')!].sort()).toEqual(fileKeys.sort());
  });

  it('takes REDIS_URL from a Secret (it may hold a password), never a value in the manifests', () => {
    expect(env.REDIS_URL).toEqual({
      name: 'REDIS_URL',
      valueFrom: { secretKeyRef: { name: 'strettch-gateway-redis', key: 'url' } },
    });
  });

  it('runs no Redis of its own and lets the gateway reach the external one (Redis, TLS, Sentinel ports)', () => {
    expect(manifests.filter((m) => m.kind === 'StatefulSet')).toEqual([]);
    const policy = manifests.find(
      (m) => m.kind === 'NetworkPolicy' && m.metadata.name === 'strettch-gateway',
    ) as Manifest & {
      spec: {
        egress: Array<{
          to: Array<{ podSelector?: unknown; ipBlock?: { cidr: string } }>;
          ports: Array<{ port: number }>;
        }>;
      };
    };
    const toRedis = policy.spec.egress.filter((r) => r.ports.some((p) => [6379, 6380, 26379].includes(p.port)));
    expect(toRedis).toHaveLength(1);
    expect(toRedis[0]!.ports.map((p) => p.port).sort()).toEqual([26379, 6379, 6380]);
    expect(toRedis[0]!.to.every((peer) => peer.ipBlock !== undefined && peer.podSelector === undefined)).toBe(true);
  });

  it('is scraped by a PodMonitor on the admin port, whose path the admin app serves', async () => {
    const podMonitor = manifests.find((m) => m.kind === 'PodMonitor') as Manifest & {
      spec: {
        selector: { matchLabels: Record<string, string> };
        podMetricsEndpoints: Array<{ port: string; path: string }>;
      };
    };
    expect(podMonitor.apiVersion).toBe('monitoring.coreos.com/v1');
    const { deployment } = gatewayOf('production');
    const labels = deployment.spec.template.metadata.labels;
    expect(Object.entries(podMonitor.spec.selector.matchLabels).every(([k, v]) => labels[k] === v)).toBe(true);
    for (const endpoint of podMonitor.spec.podMetricsEndpoints) {
      expect(portNumber(container, endpoint.port)).toBe(listenOf('production').adminPort);
      expect((await fetch(`${admin.url}${endpoint.path}`)).status).toBe(200);
    }
    expect(manifests.filter((m) => m.kind === 'PrometheusRule').map((m) => m.apiVersion)).toEqual([
      'monitoring.coreos.com/v1',
    ]);
  });

  it("is the dev overlay's gateway apart from Redis, the Secrets and monitoring", () => {
    const dev = gatewayOf('dev').container;
    const strip = (c: Container) => ({ ...c, env: c.env?.filter((e) => e.name !== 'REDIS_URL') });
    expect(strip(container)).toEqual(strip(dev));
  });
});
