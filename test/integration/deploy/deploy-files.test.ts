/**
 * No container engine runs here, so the deployment files are checked against the code instead:
 * referenced files exist, ports and paths match the policy, probes hit real endpoints.
 * This file: docker-compose.yml, its nginx, Prometheus and Grafana configuration, the Dockerfile.
 */
import fs from 'node:fs';
import path from 'node:path';
import { weakHs256SecretProblem } from '../../../src/gateway/policy/hs256-secret-strength';
import {
  bindMounts,
  generateComposeSecrets,
  namedVolumeMounts,
  volumeFileReader,
  cliEnvNames,
  composePolicy,
  exists,
  flag,
  gatewayServices,
  loadCompose,
  policyEnvNames,
  read,
  readYaml,
  sourceOfEntry,
  type ComposeService,
} from './deploy-files';

const compose = loadCompose();
const services = compose.services;
const gateways = gatewayServices(compose);
const [, firstGateway] = gateways[0]!;
const sandbox = services.sandbox!;
const secretsDir = generateComposeSecrets(compose);
afterAll(() => fs.rmSync(secretsDir, { recursive: true, force: true }));
const policy = composePolicy(compose, secretsDir);
const { port, adminPort } = policy.listen;

/** The container path a service mounts a repository file or folder at. */
function mountOf(service: ComposeService, hostPath: string): string {
  const mount = bindMounts(service).find((m) => m.host === path.normalize(hostPath));
  if (!mount) throw new Error(`no mount of ${hostPath}`);
  return mount.container;
}

/** Where a container file comes from in the repository, through the service's bind mounts. */
function hostFileOf(service: ComposeService, containerPath: string): string {
  for (const { host, container } of bindMounts(service)) {
    if (containerPath === container) return host;
    if (containerPath.startsWith(`${container}/`)) return path.join(host, containerPath.slice(container.length + 1));
  }
  throw new Error(`${containerPath} is not mounted`);
}

describe('docker-compose.yml', () => {
  it('runs three gateway replicas from one definition, each told there are three', () => {
    expect(gateways.map(([name]) => name)).toEqual(['gateway-1', 'gateway-2', 'gateway-3']);
    for (const [, gateway] of gateways) {
      expect(gateway).toEqual(firstGateway);
      expect(Number(gateway.environment?.GATEWAY_REPLICAS)).toBe(gateways.length);
    }
  });

  it('builds from a Dockerfile that exists, and runs entry points the build produces', () => {
    for (const service of Object.values(services).filter((s) => s.build)) {
      expect(exists(path.join(service.build!.context, service.build!.dockerfile))).toBe(true);
      const entry = service.command![1]!;
      expect(entry).toMatch(/^dist\/.+\.js$/);
      expect(exists(sourceOfEntry(entry))).toBe(true);
    }
  });

  it('mounts only repository files that exist', () => {
    const mounts = Object.values(services).flatMap(bindMounts);
    expect(mounts.length).toBeGreaterThan(0);
    for (const { host } of mounts) expect(exists(host)).toBe(true);
  });

  it('sets only environment variables the gateway or its policy reads', () => {
    const known = new Set([...cliEnvNames(), ...policyEnvNames(read(flag(firstGateway.command, '--config')!))]);
    for (const name of Object.keys(firstGateway.environment ?? {}))
      expect({ name, read: known.has(name) }).toEqual({ name, read: true });
  });

  it('runs the gateways on a policy that exists and resolves with the environment compose gives them', () => {
    expect(policy.listen.host).toBe('0.0.0.0');
    const upstream = new URL(policy.upstream.baseUrl);
    expect(upstream.hostname).toBe('sandbox');
    expect(upstream.port).toBe(flag(sandbox.command, '--port'));
    expect(sandbox.expose).toContain(upstream.port);
    expect(flag(sandbox.command, '--host')).toBe('0.0.0.0');
    expect(sandbox.healthcheck!.test.join(' ')).toContain(`127.0.0.1:${upstream.port}/api/v1/health`);
  });

  it('keeps the gateways off the host: the public port only through the load balancer, the admin port never', () => {
    for (const [, gateway] of gateways) {
      expect(gateway.ports).toBeUndefined();
      expect(gateway.expose).toEqual([String(port), String(adminPort)]);
      expect(gateway.healthcheck!.test.join(' ')).toContain(`127.0.0.1:${adminPort}/readyz`);
    }
    // Only the load balancer listens on every host address; the rest on loopback, if at all.
    for (const [name, service] of Object.entries(services)) {
      for (const mapping of service.ports ?? []) {
        if (name === 'lb') expect(mapping).toBe(`${port}:${port}`);
        else expect(mapping).toMatch(/^127\.0\.0\.1:/);
      }
    }
  });

  it('gives every gateway the shared schedule on the compose Redis, after Redis and the sandbox are healthy', () => {
    expect(services.redis!.healthcheck!.test).toContain('ping');
    for (const [, gateway] of gateways) {
      const redisUrl = new URL(gateway.environment!.REDIS_URL!);
      expect(redisUrl.hostname).toBe('redis');
      expect(redisUrl.port).toBe('6379');
      expect(gateway.depends_on).toEqual({
        secrets: { condition: 'service_completed_successfully' },
        sandbox: { condition: 'service_healthy' },
        redis: { condition: 'service_healthy' },
      });
    }
  });

  it('holds no token secret: the `secrets` service generates a random one into a volume the gateways read', () => {
    const text = read('docker-compose.yml');
    const secret = fs.readFileSync(path.join(secretsDir, 'jwt-hs-secret'), 'utf8');
    expect(text).not.toContain(secret);
    expect(weakHs256SecretProblem(secret)).toBeUndefined();
    // Another run, another value: generated, not shipped.
    const again = generateComposeSecrets(compose);
    expect(fs.readFileSync(path.join(again, 'jwt-hs-secret'), 'utf8')).not.toBe(secret);
    fs.rmSync(again, { recursive: true, force: true });
    const [written] = namedVolumeMounts(services.secrets!);
    for (const [, gateway] of gateways) expect(namedVolumeMounts(gateway)).toEqual([{ ...written, mode: 'ro' }]);
    expect(Object.values(firstGateway.environment ?? {}).join(' ')).not.toMatch(/secret/i);
  });

  it('keeps Redis durable: an append-only file fsynced every second, in a named volume at its --dir', () => {
    const redis = services.redis!;
    const args = redis.command!;
    expect(flag(args, '--appendonly')).toBe('yes');
    expect(flag(args, '--appendfsync')).toBe('everysec');
    expect(namedVolumeMounts(redis)).toEqual([{ volume: 'redis-data', container: flag(args, '--dir') }]);
    const volumes = readYaml<{ volumes: Record<string, unknown> }>('docker-compose.yml').volumes;
    expect(Object.keys(volumes)).toContain('redis-data');
    // An exact release, the same the Kubernetes dev overlay runs (kubernetes-overlays.test.ts).
    expect(redis.image).toMatch(/^redis:\d+\.\d+\.\d+(-[a-z0-9.]+)?$/);
  });

  it('names only services that exist in depends_on, and gives every service an image or a build', () => {
    for (const [name, service] of Object.entries(services)) {
      const needs = Array.isArray(service.depends_on) ? service.depends_on : Object.keys(service.depends_on ?? {});
      for (const other of needs)
        expect({ name, other, exists: other in services }).toEqual({ name, other, exists: true });
      expect({ name, runs: service.image !== undefined || service.build !== undefined }).toEqual({ name, runs: true });
    }
  });

  it('binds every admin port to the compose network, where Prometheus scrapes it', () => {
    expect(policy.listen.adminHost).toBe('0.0.0.0');
  });
});

describe('the compose stack as its documentation says to use it', () => {
  const texts = {
    'docker-compose.yml': read('docker-compose.yml')
      .split('\n')
      .filter((line) => line.startsWith('#'))
      .join('\n'),
    'deploy/README.md': /^## Compose$([\s\S]*?)^## /m.exec(read('deploy/README.md'))![1]!,
    'docs/operations.md': /^### Compose, step by step$([\s\S]*?)^### /m.exec(read('docs/operations.md'))![1]!,
  };
  const published = new Map(
    Object.entries(services).flatMap(([name, service]) =>
      (service.ports ?? []).map((mapping) => [mapping.split(':').at(-2)!, name] as const),
    ),
  );

  it.each(Object.entries(texts))('%s: every address on this machine is a port compose publishes', (_file, text) => {
    const ports = [...text.matchAll(/127\.0\.0\.1:(\d+)/g)].map((m) => m[1]!);
    expect(ports.length).toBeGreaterThan(0);
    for (const hostPort of ports)
      expect({ hostPort, published: published.has(hostPort) }).toEqual({ hostPort, published: true });
  });

  it.each(Object.entries(texts))(
    '%s: every `docker compose exec` names a service, an entry the build produces and a policy that exists',
    (_file, text) => {
      const commands = [...text.matchAll(/docker compose exec -T (\S+) node (\S+) [^\n]*?--config ([\w./-]+)/g)];
      expect(commands.length).toBeGreaterThan(0);
      for (const [, service, entry, config] of commands) {
        expect(Object.keys(services)).toContain(service);
        expect(exists(sourceOfEntry(entry!))).toBe(true);
        expect(flag(services[service!]!.command, '--config')).toBe(config);
      }
    },
  );
});

describe('deploy/nginx/nginx.conf (the compose load balancer)', () => {
  const lb = services.lb!;
  const conf = read(hostFileOf(lb, '/etc/nginx/nginx.conf'));

  it('balances over exactly the gateway services, on their public port', () => {
    const servers = [...conf.matchAll(/^\s*server\s+([^\s;]+);/gm)].map((m) => m[1]);
    expect(servers).toEqual(gateways.map(([name]) => `${name}:${port}`));
    expect(conf).not.toContain(`:${adminPort}`);
  });

  it('listens on the port compose publishes, proxies to that upstream, and never retries a request elsewhere', () => {
    const listen = /^\s*listen\s+(\d+);/m.exec(conf)![1];
    expect(lb.ports).toEqual([`${port}:${listen}`]);
    const upstreamName = /^\s*upstream\s+(\S+)\s*\{/m.exec(conf)![1];
    expect(conf).toMatch(new RegExp(`proxy_pass http://${upstreamName};`));
    expect(conf).toMatch(/proxy_next_upstream off;/);
    // Longer than the upstream timeout, so a slow answer comes from the gateway, not from nginx.
    expect(Number(/proxy_read_timeout (\d+)s;/.exec(conf)![1]) * 1000).toBeGreaterThan(policy.upstream.timeoutMs);
    expect(lb.depends_on).toEqual(
      Object.fromEntries(gateways.map(([name]) => [name, { condition: 'service_healthy' }])),
    );
  });
});

describe('deploy/prometheus/prometheus.yml', () => {
  const prometheus = services.prometheus!;
  const configPath = flag(
    prometheus.command?.flatMap((arg) => arg.split('=')),
    '--config.file',
  )!;
  const config = readYaml<{
    scrape_configs: Array<{ job_name: string; metrics_path?: string; static_configs: Array<{ targets: string[] }> }>;
  }>(hostFileOf(prometheus, configPath));

  it("scrapes /metrics on every gateway replica's admin port, and nothing else", () => {
    expect(config.scrape_configs).toHaveLength(1);
    const [job] = config.scrape_configs;
    expect(job!.metrics_path ?? '/metrics').toBe('/metrics');
    expect(job!.static_configs.flatMap((c) => c.targets)).toEqual(gateways.map(([name]) => `${name}:${adminPort}`));
  });
});

describe('deploy/grafana (provisioning)', () => {
  const grafana = services.grafana!;
  const provisioning = hostFileOf(grafana, '/etc/grafana/provisioning');
  const datasources = readYaml<{ datasources: Array<{ uid: string; type: string; url: string; isDefault?: boolean }> }>(
    path.join(provisioning, 'datasources/prometheus.yml'),
  );
  const providers = readYaml<{ providers: Array<{ type: string; options: { path: string } }> }>(
    path.join(provisioning, 'dashboards/strettch-gateway.yml'),
  );
  const dashboardFile = 'deploy/grafana/dashboards/strettch-gateway.json';
  const dashboard = JSON.parse(read(dashboardFile)) as {
    templating: { list: Array<{ name: string; type: string; query: string }> };
    panels: Array<{ datasource: { uid: string }; targets: Array<{ datasource: { uid: string } }> }>;
  };

  it("points the datasource at the compose Prometheus, the default the dashboard's variable starts on", () => {
    expect(datasources.datasources).toHaveLength(1);
    const [source] = datasources.datasources;
    expect(source!.type).toBe('prometheus');
    const url = new URL(source!.url);
    expect(Object.keys(services)).toContain(url.hostname);
    expect(url.hostname).toBe('prometheus');
    expect(url.port).toBe('9090'); // Prometheus' own listen port; compose does not change it
    expect(services.prometheus!.ports).toEqual(['127.0.0.1:9091:9090']);
    // The dashboard names no uid: its variable lists the data sources of this type, the default first.
    expect(source!.isDefault).toBe(true);
    expect(dashboard.templating.list).toContainEqual(
      expect.objectContaining({ name: 'datasource', type: 'datasource', query: source!.type }),
    );
    for (const panel of dashboard.panels) {
      expect(panel.datasource.uid).toBe('${datasource}');
      for (const target of panel.targets) expect(target.datasource.uid).toBe('${datasource}');
    }
  });

  it('loads dashboards from the folder the dashboard JSON is mounted at, and opens it as the home dashboard', () => {
    const [provider] = providers.providers;
    expect(provider!.type).toBe('file');
    expect(mountOf(grafana, 'deploy/grafana/dashboards')).toBe(provider!.options.path);
    expect(hostFileOf(grafana, grafana.environment!.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH!)).toBe(
      path.normalize(dashboardFile),
    );
    expect(grafana.ports).toEqual(['127.0.0.1:3000:3000']);
  });
});

describe('deploy/compose/load.mjs (the demo load)', () => {
  const load = services.load!;

  it('runs the mounted script against the load balancer, with the token settings of the compose policy', () => {
    expect(hostFileOf(load, load.command![1]!)).toBe(path.normalize('deploy/compose/load.mjs'));
    const target = new URL(load.environment!.GATEWAY_URL!);
    expect(target.hostname).toBe('lb');
    expect(Number(target.port)).toBe(port);
    const hsKey = policy.auth.keys.find((k) => k.kid === load.environment!.TOKEN_KID);
    expect(hsKey).toBeDefined();
    // The same generated secret the gateways verify with, through the same volume.
    const hsSecretFile = read(flag(firstGateway.command, '--config')!).match(/secret: \{ file: ([^\s}]+) \}/)![1]!;
    expect(load.environment!.JWT_HS_SECRET_FILE).toBe(hsSecretFile);
    expect(volumeFileReader(load, secretsDir)(hsSecretFile)).toBe(
      fs.readFileSync(path.join(secretsDir, 'jwt-hs-secret'), 'utf8'),
    );
    expect(load.environment!.TOKEN_ISSUER).toBe(policy.auth.issuer);
    expect(load.environment!.TOKEN_AUDIENCE).toBe(policy.auth.audience);
    expect(Number(load.environment!.DURATION_SEC)).toBeGreaterThan(0);
  });

  it('uses callers the compose policy has', () => {
    const script = read('deploy/compose/load.mjs');
    const subjects = new Set([...script.matchAll(/'(demo-[a-z]+)'/g)].map((m) => m[1]!));
    expect([...subjects].sort()).toEqual(Object.keys(policy.callers).sort());
  });
});

describe('deploy/Dockerfile', () => {
  const dockerfile = read('deploy/Dockerfile');

  it('copies only files that exist', () => {
    const sources = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => m[1]!.split(/\s+/));
    expect(sources.length).toBeGreaterThan(0);
    for (const source of sources) expect(exists(source)).toBe(true);
  });

  it('runs as a non-root user with production dependencies only, and checks its health on the admin port', () => {
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/npm ci --omit=dev/);
    expect(dockerfile).toMatch(new RegExp(`HEALTHCHECK .*127\\.0\\.0\\.1:${adminPort}/healthz`));
    expect(dockerfile).toMatch(new RegExp(`^EXPOSE ${port} ${adminPort}$`, 'm'));
    // Its default command is run for real in image.test.ts.
    const cmd = JSON.parse(/^CMD (\[.+\])$/m.exec(dockerfile)![1]!) as string[];
    expect(exists(cmd[1]!)).toBe(true);
  });
});
